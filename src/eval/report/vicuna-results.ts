import type { Answer } from "../data/answers.js";
import type { Question } from "../data/questions.js";
import type { VicunaReviewRow } from "../judge/judgment-rows.js";
import { parseVicunaScores } from "../verdicts/vicuna-scores.js";
import { latestRows } from "./latest-rows.js";

/**
 * Where a review's two scores come from. "stored": the row's `score` field, the published record
 * (FastChat's aggregate_scores_from_table.py and the blog's webpage read it; the blog's math rows
 * were fixed there by hand), falling back to the text only for rows without one. "text": parsed
 * from the review text.
 */
export type VicunaScoreSource = "stored" | "text";

/**
 * How a question's winner is decided. "single-order": the higher score of the one review, as the
 * Vicuna blog. "both-orders-agree": reviewed in both orders, a win only when both orders agree,
 * anything else a tie, as FastChat's pairwise mode.
 */
export type VicunaWinRule = "single-order" | "both-orders-agree";

export interface VicunaTotals {
  reviews: number;
  /** Reviews (questions, with both orders) that have scores. */
  scored: number;
  total1: number;
  total2: number;
  /** Model 1's wins, ties and losses. */
  win: number;
  tie: number;
  loss: number;
  /** Both orders: questions whose two orders disagree (counted among the ties). */
  inconsistent: number;
  /** total1 / total2: Vicuna's "x% of ChatGPT quality". */
  relativeScore: number | null;
}

export interface ScoreDisagreement {
  questionId: number | string;
  order: "forward" | "swapped";
  /** In model order; [-1, -1] when the original parser failed. */
  stored: [number, number];
  /** What the text says, in model order; null when the text holds no scores. */
  text: [number, number] | null;
}

export interface VicunaResults {
  model1: string;
  model2: string;
  /** The judge of these reviews (files may hold several; each gets its own results). */
  judge?: string;
  scoreSource: VicunaScoreSource;
  winRule: VicunaWinRule;
  /** The result under the win rule: one order, or both orders combined. */
  overall: VicunaTotals;
  byCategory: Record<string, VicunaTotals>;
  /** Both orders: each order on its own (model 1 shown first, model 2 shown first). */
  byOrder?: { forward: VicunaTotals; swapped: VicunaTotals };
  /** Reviews without usable scores (excluded and counted), with their question ids. */
  noScore: Array<{ questionId: number | string; order: "forward" | "swapped"; reason: string }>;
  /** How the scores were found: stored field, or the text's first line, score lines or tuple. */
  scoreMethods: Record<string, number>;
  /** Rows whose stored `score` and text disagree (whichever --scores says is used). */
  scoreDisagreements: ScoreDisagreement[];
  /** When the reviews were also run in the swapped order. */
  positionDiagnostics?: { pairs: number; consistent: number; positionConsistency: number | null; decisiveGames: number; firstPositionWinRate: number | null };
  /** Decisive questions whose answers differ in length, and how often the longer answer won. */
  longerAnswer?: { decisive: number; longerWins: number; longerAnswerWinRate: number | null };
}

function emptyTotals(): VicunaTotals {
  return { reviews: 0, scored: 0, total1: 0, total2: 0, win: 0, tie: 0, loss: 0, inconsistent: 0, relativeScore: null };
}

type Outcome = "win" | "tie" | "loss";

function add(totals: VicunaTotals, scored: { scores: [number, number]; outcome: Outcome; inconsistent?: boolean } | undefined): void {
  totals.reviews++;
  if (!scored) return;
  totals.scored++;
  totals.total1 += scored.scores[0];
  totals.total2 += scored.scores[1];
  totals[scored.outcome]++;
  if (scored.inconsistent) totals.inconsistent++;
  totals.relativeScore = totals.total2 > 0 ? totals.total1 / totals.total2 : null;
}

const outcomeOf = (scores: [number, number]): Outcome => (scores[0] > scores[1] ? "win" : scores[0] < scores[1] ? "loss" : "tie");

export interface VicunaReviewContext {
  questions?: Question[];
  /** model → question id → answer, to name the models and measure answer lengths. */
  answers?: Map<string, Map<string, Answer>>;
  model1?: string;
  model2?: string;
  /** Default "stored". */
  scoreSource?: VicunaScoreSource;
}

/** Finds which model wrote an answer id. */
function modelOfAnswer(answers: Map<string, Map<string, Answer>> | undefined, answerId: string | undefined): string | undefined {
  if (!answers || !answerId) return undefined;
  for (const [model, byQuestion] of answers) for (const answer of byQuestion.values()) if (answer.answerId === answerId) return model;
  return undefined;
}

type OrderScores = { scores: [number, number] } | { scores?: undefined; reason: string };

/**
 * One order's scores in model order. `text` reviews Assistant 1 first; for the swapped order
 * Assistant 1 is model 2, so its text scores are turned round (stored swapped scores already are).
 */
function orderScores(
  text: string,
  stored: [number, number] | undefined,
  order: "forward" | "swapped",
  source: VicunaScoreSource,
  note: { method: (name: string) => void; disagreement: (stored: [number, number], text: [number, number] | null) => void },
): OrderScores {
  const parsed = parseVicunaScores(text);
  const fromText: [number, number] | null = parsed.kind === "scores" ? (order === "forward" ? parsed.scores : [parsed.scores[1], parsed.scores[0]]) : null;
  if (stored && (fromText === null || fromText[0] !== stored[0] || fromText[1] !== stored[1])) {
    const failedBoth = fromText === null && stored[0] === -1;
    if (!failedBoth) note.disagreement(stored, fromText);
  }
  if (source === "stored" && stored) {
    // aggregate_scores_from_table.py: a -1 is a failed review, left out and counted.
    if (stored[0] === -1 || stored[1] === -1) return { reason: fromText ? "the stored score is -1 (the parser found none), though the text has scores" : parsed.kind === "scores" ? "" : parsed.reason };
    note.method("stored score");
    return { scores: stored };
  }
  if (fromText) {
    note.method(parsed.kind === "scores" ? parsed.method : "text");
    return { scores: fromText };
  }
  return { reason: parsed.kind === "scores" ? "" : parsed.reason };
}

/**
 * Totals, wins, ties and losses of a Vicuna-format review file for one judge: the stored scores by
 * default (the published record), or the text's (`scoreSource: "text"`); reviewed in both orders,
 * a win needs both orders to agree.
 */
export function summarizeVicunaReviews(allRows: readonly VicunaReviewRow[], context: VicunaReviewContext = {}): VicunaResults {
  const rows = latestRows(allRows, (r) => `${r.judge?.[0] ?? ""}|${r.model_1 ?? r.answer1_id ?? ""}|${r.model_2 ?? r.answer2_id ?? ""}|${r.question_id}|${r.repeat}`);
  const scoreSource = context.scoreSource ?? "stored";
  const first = rows[0];
  const model1 = context.model1 ?? first?.model_1 ?? modelOfAnswer(context.answers, first?.answer1_id) ?? "assistant 1";
  const model2 = context.model2 ?? first?.model_2 ?? modelOfAnswer(context.answers, first?.answer2_id) ?? "assistant 2";
  const categoryOf = new Map((context.questions ?? []).map((q) => [String(q.questionId), q.category]));
  const bothOrders = rows.some((row) => row.swapped_text !== undefined);
  const winRule: VicunaWinRule = bothOrders ? "both-orders-agree" : "single-order";
  const overall = emptyTotals();
  const byCategory: Record<string, VicunaTotals> = {};
  const byOrder = { forward: emptyTotals(), swapped: emptyTotals() };
  const noScore: VicunaResults["noScore"] = [];
  const scoreMethods: Record<string, number> = {};
  const scoreDisagreements: ScoreDisagreement[] = [];
  let swappedPairs = 0;
  let consistent = 0;
  let decisiveGames = 0;
  let firstPositionWins = 0;
  let decisive = 0;
  let longerWins = 0;
  for (const row of rows) {
    const category = row.category ?? categoryOf.get(String(row.question_id)) ?? "general";
    const read = (order: "forward" | "swapped", text: string, stored: [number, number] | undefined) => {
      const result = orderScores(text, stored, order, scoreSource, {
        method: (name) => (scoreMethods[name] = (scoreMethods[name] ?? 0) + 1),
        disagreement: (s, t) => scoreDisagreements.push({ questionId: row.question_id, order, stored: s, text: t }),
      });
      if (!result.scores) noScore.push({ questionId: row.question_id, order, reason: result.reason });
      return result.scores;
    };
    const forward = read("forward", row.text, row.score);
    const swapped = row.swapped_text !== undefined ? read("swapped", row.swapped_text, row.swapped_score) : undefined;

    // Position bias: how often the answer shown first wins a decisive review.
    for (const [scores, firstShown] of [[forward, 0], [swapped, 1]] as const) {
      if (!scores || scores[0] === scores[1]) continue;
      decisiveGames++;
      if (scores[firstShown] > scores[1 - firstShown]) firstPositionWins++;
    }

    let combined: { scores: [number, number]; outcome: Outcome; inconsistent?: boolean } | undefined;
    if (!bothOrders) {
      combined = forward ? { scores: forward, outcome: outcomeOf(forward) } : undefined;
    } else {
      add(byOrder.forward, forward ? { scores: forward, outcome: outcomeOf(forward) } : undefined);
      add(byOrder.swapped, swapped ? { scores: swapped, outcome: outcomeOf(swapped) } : undefined);
      if (row.swapped_text === undefined) noScore.push({ questionId: row.question_id, order: "swapped", reason: "reviewed in one order only" });
      if (forward && swapped) {
        const [a, b] = [outcomeOf(forward), outcomeOf(swapped)];
        swappedPairs++;
        if (a === b) consistent++;
        // FastChat's pairwise rule: a win only when both orders agree; anything else is a tie.
        combined = { scores: [forward[0] + swapped[0], forward[1] + swapped[1]], outcome: a === b ? a : "tie", inconsistent: a !== b };
      }
    }
    add(overall, combined);
    add((byCategory[category] ??= emptyTotals()), combined);

    const answer1 = context.answers?.get(model1)?.get(String(row.question_id));
    const answer2 = context.answers?.get(model2)?.get(String(row.question_id));
    if (combined && combined.outcome !== "tie" && answer1 && answer2 && answer1.turns[0].length !== answer2.turns[0].length) {
      decisive++;
      const longerIsFirst = answer1.turns[0].length > answer2.turns[0].length;
      if (longerIsFirst === (combined.outcome === "win")) longerWins++;
    }
  }
  const judges = [...new Set(rows.map((row) => row.judge?.[0]).filter((judge): judge is string => judge !== undefined))];
  return {
    model1,
    model2,
    ...(judges.length === 1 ? { judge: judges[0] } : {}),
    scoreSource,
    winRule,
    overall,
    byCategory,
    ...(bothOrders ? { byOrder } : {}),
    noScore,
    scoreMethods,
    scoreDisagreements,
    ...(bothOrders
      ? {
          positionDiagnostics: {
            pairs: swappedPairs,
            consistent,
            positionConsistency: swappedPairs ? consistent / swappedPairs : null,
            decisiveGames,
            firstPositionWinRate: decisiveGames ? firstPositionWins / decisiveGames : null,
          },
        }
      : {}),
    ...(context.answers ? { longerAnswer: { decisive, longerWins, longerAnswerWinRate: decisive ? longerWins / decisive : null } } : {}),
  };
}
