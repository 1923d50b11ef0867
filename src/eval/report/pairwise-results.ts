import type { PairwiseJudgmentRow } from "../judge/judgment-rows.js";
import type { Battle } from "../ratings/battles.js";
import { median, standardDeviation } from "../ratings/statistics.js";
import type { PositionVerdict } from "../verdicts/pairwise-verdict.js";
import type { SwappedPairOutcome } from "../verdicts/position-swap.js";
import { combineSwappedVerdicts } from "../verdicts/position-swap.js";
import { latestRows } from "./latest-rows.js";

export interface WinTieLoss {
  win: number;
  tie: number;
  loss: number;
  /** Pairs whose two orders disagreed; they count as ties in the rates. */
  inconsistent: number;
  /** Pairs without a verdict in one order (missing, ambiguous, $ERROR$); excluded and counted. */
  error: number;
  /** win / (win + tie + loss + inconsistent). */
  winRate: number | null;
  /** (win + (tie + inconsistent) / 2) / same: FastChat's win_rate_adjusted. */
  adjustedWinRate: number | null;
}

export interface JudgeDiagnostics {
  /** Pairs judged in both orders with a verdict in each. */
  pairsWithBothVerdicts: number;
  /** Share of those whose two orders agree (including agreeing ties). */
  positionConsistency: number | null;
  /** Games (one order each) with a decisive verdict, and how many the first-shown answer won. */
  decisiveGames: number;
  firstPositionWins: number;
  firstPositionWinRate: number | null;
  /** Consistent decisive pairs whose answers differ in length, and how often the longer one won. */
  decisivePairsWithLengths: number;
  longerAnswerWins: number;
  longerAnswerWinRate: number | null;
}

export interface PairwiseModelResult extends WinTieLoss {
  model: string;
  byCategory: Record<string, WinTieLoss>;
  byTurn: Record<string, WinTieLoss>;
  /** With --repeat K: spread over repeats of the adjusted win rate. */
  spread?: { repeats: number; median: number; min: number; max: number; standardDeviation: number };
}

export interface PairwiseResults {
  judges: string[];
  /** The model every other one was compared with, when all pairs share one. */
  baseline?: string;
  models: PairwiseModelResult[];
  categories: string[];
  turns: number[];
  diagnostics: JudgeDiagnostics;
  rows: number;
  /** Verdicts derived from single grades (both games share one verdict: position diagnostics do not apply). */
  derivedFromSingle: boolean;
}

/** Game 1 showed model_1 as A; game 2 showed model_2 as A. */
export function positionVerdicts(row: PairwiseJudgmentRow): [PositionVerdict, PositionVerdict] {
  const g1: PositionVerdict = row.g1_winner === "model_1" ? "A" : row.g1_winner === "model_2" ? "B" : row.g1_winner;
  const g2: PositionVerdict = row.g2_winner === "model_2" ? "A" : row.g2_winner === "model_1" ? "B" : row.g2_winner;
  return [g1, g2];
}

export function pairOutcome(row: PairwiseJudgmentRow): SwappedPairOutcome {
  return combineSwappedVerdicts(...positionVerdicts(row));
}

function tally(outcomes: Array<"win" | "loss" | "tie" | "inconsistent" | "error">): WinTieLoss {
  const count = (kind: string) => outcomes.filter((o) => o === kind).length;
  const [win, loss, tie, inconsistent, error] = ["win", "loss", "tie", "inconsistent", "error"].map(count);
  const decided = win + loss + tie + inconsistent;
  return {
    win,
    tie,
    loss,
    inconsistent,
    error,
    winRate: decided ? win / decided : null,
    adjustedWinRate: decided ? (win + (tie + inconsistent) / 2) / decided : null,
  };
}

function outcomeFor(model: string, row: PairwiseJudgmentRow): "win" | "loss" | "tie" | "inconsistent" | "error" {
  const outcome = pairOutcome(row);
  if (outcome === "tie" || outcome === "inconsistent" || outcome === "error") return outcome;
  const winner = outcome === "model_1" ? row.model_1 : row.model_2;
  return winner === model ? "win" : "loss";
}

/** Position consistency, first-position win rate and longer-answer win rate over a set of pairwise rows. */
export function judgeDiagnostics(rows: readonly PairwiseJudgmentRow[]): JudgeDiagnostics {
  let pairsWithBothVerdicts = 0;
  let consistent = 0;
  let decisiveGames = 0;
  let firstPositionWins = 0;
  let decisivePairsWithLengths = 0;
  let longerAnswerWins = 0;
  for (const row of rows) {
    const [g1, g2] = positionVerdicts(row);
    for (const verdict of [g1, g2]) {
      if (verdict === "A" || verdict === "B") decisiveGames++;
      if (verdict === "A") firstPositionWins++;
    }
    if (g1 === "error" || g2 === "error") continue;
    pairsWithBothVerdicts++;
    const outcome = combineSwappedVerdicts(g1, g2);
    if (outcome !== "inconsistent") consistent++;
    if ((outcome === "model_1" || outcome === "model_2") && row.answer_1_length !== undefined && row.answer_2_length !== undefined && row.answer_1_length !== row.answer_2_length) {
      decisivePairsWithLengths++;
      const longer = row.answer_1_length > row.answer_2_length ? "model_1" : "model_2";
      if (longer === outcome) longerAnswerWins++;
    }
  }
  const rate = (part: number, whole: number) => (whole ? part / whole : null);
  return {
    pairsWithBothVerdicts,
    positionConsistency: rate(consistent, pairsWithBothVerdicts),
    decisiveGames,
    firstPositionWins,
    firstPositionWinRate: rate(firstPositionWins, decisiveGames),
    decisivePairsWithLengths,
    longerAnswerWins,
    longerAnswerWinRate: rate(longerAnswerWins, decisivePairsWithLengths),
  };
}

/** Win/tie/loss per model (against the baseline, or all opponents), per category and turn, and judge diagnostics. */
export function summarizePairwiseJudgments(allRows: readonly PairwiseJudgmentRow[]): PairwiseResults {
  const rows = latestRows(allRows, (r) => `${r.judge[0]}|${r.model_1}|${r.model_2}|${r.question_id}|${r.turn}|${r.repeat}`);
  const everyModel = [...new Set(rows.flatMap((r) => [r.model_1, r.model_2]))].sort();
  const sharedByAll = everyModel.filter((m) => rows.every((r) => r.model_1 === m || r.model_2 === m));
  const baseline = everyModel.length > 2 && sharedByAll.length === 1 ? sharedByAll[0] : undefined;
  const models = everyModel.filter((m) => m !== baseline);
  const categories = [...new Set(rows.map((r) => r.category ?? "general"))].sort();
  const turns = [...new Set(rows.map((r) => r.turn))].sort((a, b) => a - b);
  const results = models.map((model): PairwiseModelResult => {
    const own = rows.filter((r) => r.model_1 === model || r.model_2 === model);
    const byCategory: Record<string, WinTieLoss> = {};
    for (const category of categories) byCategory[category] = tally(own.filter((r) => (r.category ?? "general") === category).map((r) => outcomeFor(model, r)));
    const byTurn: Record<string, WinTieLoss> = {};
    for (const turn of turns) byTurn[turn] = tally(own.filter((r) => r.turn === turn).map((r) => outcomeFor(model, r)));
    const repeats = [...new Set(own.map((r) => r.repeat))];
    const perRepeat = repeats.map((id) => tally(own.filter((r) => r.repeat === id).map((r) => outcomeFor(model, r))).adjustedWinRate).filter((v): v is number => v !== null);
    return {
      model,
      ...tally(own.map((r) => outcomeFor(model, r))),
      byCategory,
      byTurn,
      ...(repeats.length > 1 && perRepeat.length > 0
        ? { spread: { repeats: perRepeat.length, median: median(perRepeat), min: Math.min(...perRepeat), max: Math.max(...perRepeat), standardDeviation: standardDeviation(perRepeat) } }
        : {}),
    };
  });
  results.sort((a, b) => (b.adjustedWinRate ?? -1) - (a.adjustedWinRate ?? -1) || a.model.localeCompare(b.model));
  return {
    judges: [...new Set(rows.map((r) => r.judge[0]))],
    ...(baseline ? { baseline } : {}),
    models: results,
    categories,
    turns,
    diagnostics: judgeDiagnostics(rows),
    rows: rows.length,
    derivedFromSingle: rows.length > 0 && rows.every((r) => r.m1_score !== undefined),
  };
}

/** Pairwise judgments as rating battles: agreement → that winner, inconsistent → tie, no verdict → left out. */
export function battlesFromPairwiseJudgments(rows: readonly PairwiseJudgmentRow[]): Battle[] {
  const battles: Battle[] = [];
  for (const row of rows) {
    const outcome = pairOutcome(row);
    if (outcome === "error") continue;
    const winner = outcome === "model_1" ? "model_a" : outcome === "model_2" ? "model_b" : "tie";
    battles.push({ modelA: row.model_1, modelB: row.model_2, winner, ...(row.tstamp !== undefined ? { tstamp: row.tstamp } : {}) });
  }
  return battles;
}
