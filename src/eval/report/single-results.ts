import type { SingleJudgmentRow } from "../judge/judgment-rows.js";
import { mean, median, standardDeviation } from "../ratings/statistics.js";
import { JUDGE_ERROR_OUTPUT } from "../verdicts/single-rating.js";
import { latestRows } from "./latest-rows.js";

export interface ScoreCell {
  mean: number | null;
  /** Items with a score. */
  scored: number;
}

export interface RepeatSpread {
  repeats: number;
  /** Median over repeats of the model's mean score. */
  median: number;
  min: number;
  max: number;
  standardDeviation: number;
}

export interface SingleModelResult {
  model: string;
  /** Mean over items; an item judged K times counts with the median of its K scores. */
  overall: ScoreCell;
  byTurn: Record<string, ScoreCell>;
  byCategory: Record<string, ScoreCell>;
  /** Rows whose judgment held no rating (excluded from the means). */
  noScore: number;
  /** Rows whose judge call failed ($ERROR$). */
  judgeErrors: number;
  spread?: RepeatSpread;
}

export interface SingleResults {
  judges: string[];
  models: SingleModelResult[];
  categories: string[];
  turns: number[];
  rows: number;
  noScore: number;
  judgeErrors: number;
}

const cell = (scores: number[]): ScoreCell => ({ mean: scores.length ? mean(scores) : null, scored: scores.length });

/** MT-bench single-answer results, as FastChat's show_result, plus per-category, no-score counts and repeat spread. */
export function summarizeSingleJudgments(allRows: readonly SingleJudgmentRow[]): SingleResults {
  const rows = latestRows(allRows, (r) => `${r.judge[0]}|${r.model}|${r.question_id}|${r.turn}|${r.repeat}`);
  const models = [...new Set(rows.map((r) => r.model))].sort();
  const categories = [...new Set(rows.map((r) => r.category ?? "general"))].sort();
  const turns = [...new Set(rows.map((r) => r.turn))].sort((a, b) => a - b);
  const results = models.map((model): SingleModelResult => {
    const own = rows.filter((r) => r.model === model);
    const isError = (r: SingleJudgmentRow) => r.judgment.trim() === JUDGE_ERROR_OUTPUT;
    // -1 is "no grade"; FastChat's show_result drops exactly these rows.
    const scoredRows = own.filter((r) => r.score !== -1);
    // One value per item: the median over its repeats.
    const items = new Map<string, { turn: number; category: string; scores: number[] }>();
    for (const r of scoredRows) {
      const key = `${r.question_id}|${r.turn}`;
      const item = items.get(key) ?? { turn: r.turn, category: r.category ?? "general", scores: [] };
      item.scores.push(r.score);
      items.set(key, item);
    }
    const itemScores = [...items.values()].map((item) => ({ ...item, score: median(item.scores) }));
    const byTurn: Record<string, ScoreCell> = {};
    for (const turn of turns) byTurn[turn] = cell(itemScores.filter((i) => i.turn === turn).map((i) => i.score));
    const byCategory: Record<string, ScoreCell> = {};
    for (const category of categories) byCategory[category] = cell(itemScores.filter((i) => i.category === category).map((i) => i.score));
    const repeatIds = [...new Set(own.map((r) => r.repeat))].sort((a, b) => a - b);
    const repeatMeans = repeatIds.map((id) => scoredRows.filter((r) => r.repeat === id).map((r) => r.score)).filter((s) => s.length > 0).map(mean);
    return {
      model,
      overall: cell(itemScores.map((i) => i.score)),
      byTurn,
      byCategory,
      noScore: own.filter((r) => r.score === -1 && !isError(r)).length,
      judgeErrors: own.filter(isError).length,
      ...(repeatIds.length > 1 && repeatMeans.length > 0
        ? {
            spread: {
              repeats: repeatMeans.length,
              median: median(repeatMeans),
              min: Math.min(...repeatMeans),
              max: Math.max(...repeatMeans),
              standardDeviation: standardDeviation(repeatMeans),
            },
          }
        : {}),
    };
  });
  results.sort((a, b) => (b.overall.mean ?? -Infinity) - (a.overall.mean ?? -Infinity) || a.model.localeCompare(b.model));
  return {
    judges: [...new Set(rows.map((r) => r.judge[0]))],
    models: results,
    categories,
    turns,
    rows: rows.length,
    noScore: results.reduce((sum, r) => sum + r.noScore, 0),
    judgeErrors: results.reduce((sum, r) => sum + r.judgeErrors, 0),
  };
}
