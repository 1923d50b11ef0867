import { TIE_DELTA } from "../verdicts/pairwise-verdict.js";
import type { PairwiseResults, WinTieLoss } from "./pairwise-results.js";
import type { SingleResults } from "./single-results.js";
import type { Report, ReportTable } from "./tables.js";
import { formatNumber, formatPercent } from "./tables.js";
import type { VicunaResults, VicunaTotals } from "./vicuna-results.js";

/** One judge-bias measure: its rate and the count it is over (absent when the file cannot tell). */
interface DiagnosticMeasure {
  rate: number | null;
  over: number;
}

/**
 * The "Judge diagnostics" table of every pairwise-style report (llm_judge pairwise, Vicuna reviews):
 * the same measures under the same labels, each row only where that report can measure it.
 */
export function judgeDiagnosticsTable(measures: { positionConsistency?: DiagnosticMeasure; firstPosition?: DiagnosticMeasure; longerAnswer?: DiagnosticMeasure }): ReportTable | undefined {
  const rows: string[][] = [];
  const { positionConsistency, firstPosition, longerAnswer } = measures;
  if (positionConsistency) rows.push(["position consistency (both orders agree)", formatPercent(positionConsistency.rate), `${positionConsistency.over} pairs`]);
  if (firstPosition) rows.push(["first-position win rate (50% = no bias)", formatPercent(firstPosition.rate), `${firstPosition.over} decisive games`]);
  if (longerAnswer) rows.push(["longer answer wins", formatPercent(longerAnswer.rate), `${longerAnswer.over} decisive pairs`]);
  return rows.length ? { title: "Judge diagnostics", headers: ["measure", "value", "over"], rows, numeric: [false, true, true] } : undefined;
}

const numericAfterFirst = (columns: number) => Array.from({ length: columns }, (_, i) => i > 0);

/** A judge none of whose outputs could be read has produced no evaluation; say so first. */
function unreadableJudgeWarning(total: number, unreadable: number, what: string): string[] {
  if (total > 0 && unreadable === total) {
    return [`no ${what} could be read from any of the ${total} judgments: this judge cannot follow the format, and the tables below carry no information`];
  }
  if (unreadable > 0 && unreadable / total >= 0.2) return [`${unreadable} of ${total} judgments (${formatPercent(unreadable / total)}) held no readable ${what}; they are excluded`];
  return [];
}

export function singleReport(results: SingleResults): Report {
  const unreadable = results.noScore + results.judgeErrors;
  const tables: ReportTable[] = [];
  const turnHeaders = results.turns.map((t) => `turn ${t}`);
  tables.push({
    title: "Score per model (1-10)",
    headers: ["model", "score", ...turnHeaders, "scored", "no score", "judge errors", ...(results.models.some((m) => m.spread) ? ["repeats: median [min, max] ± sd"] : [])],
    rows: results.models.map((m) => [
      m.model,
      formatNumber(m.overall.mean),
      ...results.turns.map((t) => formatNumber(m.byTurn[t]?.mean)),
      String(m.overall.scored),
      String(m.noScore),
      String(m.judgeErrors),
      ...(results.models.some((x) => x.spread)
        ? [m.spread ? `${formatNumber(m.spread.median)} [${formatNumber(m.spread.min)}, ${formatNumber(m.spread.max)}] ± ${formatNumber(m.spread.standardDeviation)} (K=${m.spread.repeats})` : "–"]
        : []),
    ]),
    numeric: numericAfterFirst(6 + results.turns.length),
  });
  tables.push({
    title: "Score per category",
    headers: ["model", ...results.categories],
    rows: results.models.map((m) => [m.model, ...results.categories.map((c) => formatNumber(m.byCategory[c]?.mean))]),
    numeric: numericAfterFirst(1 + results.categories.length),
  });
  return {
    title: `Single-answer grading${results.judges.length ? ` (judge: ${results.judges.join(", ")})` : ""}`,
    warnings: unreadableJudgeWarning(results.rows, unreadable, "rating"),
    notes: [
      `${results.rows} judgments; ${results.noScore} without a rating and ${results.judgeErrors} failed judge calls ($ERROR$) are excluded from the means`,
    ],
    tables,
  };
}

function winTieLossCells(result: WinTieLoss): string[] {
  return [String(result.win), String(result.tie), String(result.loss), String(result.inconsistent), String(result.error), formatPercent(result.winRate), formatPercent(result.adjustedWinRate)];
}

export function pairwiseReport(results: PairwiseResults): Report {
  const d = results.diagnostics;
  const errors = results.models.reduce((sum, m) => sum + m.error, 0);
  const rowsPerModel = results.baseline ? 1 : 2; // all-pairs: each row appears under both models
  const tables: ReportTable[] = [
    {
      title: results.baseline ? `Against ${results.baseline}` : "Win/tie/loss (all pairs)",
      headers: ["model", "win", "tie", "loss", "inconsistent", "no verdict", "win rate", "adjusted win rate", ...(results.models.some((m) => m.spread) ? ["adjusted over repeats: median [min, max]"] : [])],
      rows: results.models.map((m) => [
        m.model,
        ...winTieLossCells(m),
        ...(results.models.some((x) => x.spread) ? [m.spread ? `${formatPercent(m.spread.median)} [${formatPercent(m.spread.min)}, ${formatPercent(m.spread.max)}] (K=${m.spread.repeats})` : "–"] : []),
      ]),
      numeric: numericAfterFirst(9),
    },
    {
      title: "Adjusted win rate per category",
      headers: ["model", ...results.categories],
      rows: results.models.map((m) => [m.model, ...results.categories.map((c) => formatPercent(m.byCategory[c]?.adjustedWinRate))]),
      numeric: numericAfterFirst(1 + results.categories.length),
    },
    {
      title: "Adjusted win rate per turn",
      headers: ["model", ...results.turns.map((t) => `turn ${t}`)],
      rows: results.models.map((m) => [m.model, ...results.turns.map((t) => formatPercent(m.byTurn[t]?.adjustedWinRate))]),
      numeric: numericAfterFirst(1 + results.turns.length),
    },
  ];
  if (!results.derivedFromSingle) {
    tables.push(
      judgeDiagnosticsTable({
        positionConsistency: { rate: d.positionConsistency, over: d.pairsWithBothVerdicts },
        firstPosition: { rate: d.firstPositionWinRate, over: d.decisiveGames },
        longerAnswer: { rate: d.longerAnswerWinRate, over: d.decisivePairsWithLengths },
      })!,
    );
  }
  return {
    title: `Pairwise comparison${results.judges.length ? ` (judge: ${results.judges.join(", ")})` : ""}`,
    warnings: unreadableJudgeWarning(results.rows, errors / rowsPerModel, "verdict"),
    notes: [
      results.derivedFromSingle
        ? `verdicts derived from single grades (FastChat's pairwise-from-single): the higher grade wins, grades within ${TIE_DELTA} tie; a pair where a grade is missing is excluded; position diagnostics do not apply`
        : "every pair is judged in both orders; disagreement is \"inconsistent\" and counts as a tie; a pair without a verdict in either order is excluded",
      `${results.rows} pairs, ${errors / rowsPerModel} without a verdict`,
    ],
    tables,
  };
}

function vicunaRow(label: string, t: VicunaTotals, withInconsistent: boolean): string[] {
  return [
    label,
    String(t.scored),
    formatNumber(t.total1, 1),
    formatNumber(t.total2, 1),
    formatPercent(t.relativeScore),
    String(t.win),
    String(t.tie),
    String(t.loss),
    ...(withInconsistent ? [String(t.inconsistent)] : []),
  ];
}

const scorePair = (scores: [number, number] | null) => (scores ? `${scores[0]} ${scores[1]}` : "none");

export function vicunaReport(results: VicunaResults): Report {
  const { model1, model2 } = results;
  const both = results.winRule === "both-orders-agree";
  const headers = ["", "scored", `total ${model1}`, `total ${model2}`, `${model1} as % of ${model2}`, `${model1} wins`, "ties", `${model2} wins`, ...(both ? ["of the ties: orders disagree"] : [])];
  const totalsRows = [vicunaRow(both ? "all (both orders)" : "all", results.overall, both)];
  if (results.byOrder) {
    totalsRows.push(vicunaRow(`${model1} shown first`, results.byOrder.forward, both), vicunaRow(`${model2} shown first`, results.byOrder.swapped, both));
  }
  const tables: ReportTable[] = [
    { title: "Totals", headers, rows: totalsRows, numeric: numericAfterFirst(headers.length) },
    {
      title: "Per category",
      headers: ["category", ...headers.slice(1)],
      rows: Object.entries(results.byCategory)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([category, totals]) => vicunaRow(category, totals, both)),
      numeric: numericAfterFirst(headers.length),
    },
  ];
  const position = results.positionDiagnostics;
  const diagnostics = judgeDiagnosticsTable({
    ...(position
      ? { positionConsistency: { rate: position.positionConsistency, over: position.pairs }, firstPosition: { rate: position.firstPositionWinRate, over: position.decisiveGames } }
      : {}),
    ...(results.longerAnswer ? { longerAnswer: { rate: results.longerAnswer.longerAnswerWinRate, over: results.longerAnswer.decisive } } : {}),
  });
  if (diagnostics) tables.push(diagnostics);
  const methods = Object.entries(results.scoreMethods).map(([method, count]) => `${count} ${method}`).join(", ") || "none";
  const notes = [
    results.scoreSource === "stored"
      ? `scores: the stored "score" field, the published record (the review text where a row has none; --scores text reads the text): ${methods}`
      : `scores: read from the review text (--scores text): ${methods}`,
    both
      ? "win rule: reviewed in both orders; a win only when both orders agree, otherwise a tie (FastChat's pairwise rule); totals add both orders' scores"
      : "win rule: one review per question, the higher score wins (the Vicuna blog's rule)",
  ];
  if (results.noScore.length) {
    const excluded = new Set(results.noScore.map((n) => String(n.questionId)));
    notes.push(
      `${results.noScore.length} reviews without scores (their ${excluded.size} questions are excluded): ${results.noScore.map((n) => (both ? `${n.questionId} ${n.order}` : String(n.questionId))).join(", ")}` +
        ` (${[...new Set(results.noScore.map((n) => n.reason))].join("; ")})`,
    );
  }
  if (results.scoreDisagreements.length) {
    const used = results.scoreSource === "stored" ? "the stored score is used" : "the text is used";
    notes.push(
      `the stored "score" and the review text disagree for ${results.scoreDisagreements.length} reviews (${used}): ` +
        results.scoreDisagreements.map((d) => `question ${d.questionId}${both ? ` ${d.order}` : ""} stored ${scorePair(d.stored)}, text ${scorePair(d.text)}`).join("; "),
    );
  }
  if (!results.positionDiagnostics) notes.push("reviews were run in one order only: position bias cannot be measured from this file");
  return {
    title: `Vicuna review: ${model1} vs ${model2}${results.judge ? ` (judge: ${results.judge})` : ""}`,
    warnings: unreadableJudgeWarning(results.overall.reviews, results.overall.reviews - results.overall.scored, "scores"),
    notes,
    tables,
  };
}
