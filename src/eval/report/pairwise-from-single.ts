import { InvalidArgumentError } from "../../errors/index.js";
import type { PairwiseJudgmentRow, SingleJudgmentRow } from "../judge/judgment-rows.js";
import { verdictFromRatings } from "../verdicts/pairwise-verdict.js";
import { latestRows } from "./latest-rows.js";

/**
 * Pairwise rows from single-answer grades, as FastChat's play_a_match_pair does with a single-grade
 * judge: the higher grade wins, grades within TIE_DELTA (0.1) tie, and both games carry that one
 * verdict. A missing grade (-1) makes the pair an error (excluded and counted) rather than a loss,
 * which FastChat would score it as. Pairs: every model against `baseline`, or all pairs.
 */
export function pairwiseFromSingle(allRows: readonly SingleJudgmentRow[], options: { baseline?: string } = {}): PairwiseJudgmentRow[] {
  const rows = latestRows(allRows, (r) => `${r.judge[0]}|${r.model}|${r.question_id}|${r.turn}|${r.repeat}`);
  const models = [...new Set(rows.map((r) => r.model))].sort();
  if (options.baseline !== undefined && !models.includes(options.baseline)) {
    throw new InvalidArgumentError("baseline", `baseline model "${options.baseline}" has no grades (have: ${models.join(", ")})`);
  }
  const pairs: Array<[string, string]> = [];
  if (options.baseline !== undefined) {
    for (const model of models) if (model !== options.baseline) pairs.push([model, options.baseline]);
  } else {
    for (let i = 0; i < models.length; i++) for (let j = i + 1; j < models.length; j++) pairs.push([models[i], models[j]]);
  }
  const byItem = new Map<string, Map<string, SingleJudgmentRow>>();
  for (const row of rows) {
    const key = `${row.judge[0]}|${row.question_id}|${row.turn}|${row.repeat}`;
    const item = byItem.get(key) ?? new Map<string, SingleJudgmentRow>();
    item.set(row.model, row);
    byItem.set(key, item);
  }
  const derived: PairwiseJudgmentRow[] = [];
  for (const item of byItem.values()) {
    for (const [model1, model2] of pairs) {
      const row1 = item.get(model1);
      const row2 = item.get(model2);
      if (!row1 || !row2) continue;
      const graded = row1.score !== -1 && row2.score !== -1;
      const verdict = graded ? verdictFromRatings(row1.score, row2.score) : "error";
      const winner = verdict === "A" ? "model_1" : verdict === "B" ? "model_2" : verdict;
      derived.push({
        question_id: row1.question_id,
        model_1: model1,
        model_2: model2,
        g1_winner: winner,
        g2_winner: winner,
        judge: row1.judge,
        g1_user_prompt: row1.user_prompt,
        g1_judgment: row1.judgment,
        g2_user_prompt: row2.user_prompt,
        g2_judgment: row2.judgment,
        turn: row1.turn,
        repeat: row1.repeat,
        ...(row1.category !== undefined ? { category: row1.category } : {}),
        m1_score: row1.score,
        m2_score: row2.score,
        ...(graded ? {} : { g1_error_reason: "a model has no grade (-1)", g2_error_reason: "a model has no grade (-1)" }),
      });
    }
  }
  return derived;
}
