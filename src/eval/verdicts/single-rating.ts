/** FastChat's marker for a judge call that failed after all retries; such rows are counted, never scored. */
export const JUDGE_ERROR_OUTPUT = "$ERROR$";

export type SingleRatingParse =
  | { kind: "score"; score: number; method: "double-bracket" | "single-bracket" }
  | { kind: "no-score"; reason: string }
  | { kind: "error"; reason: string };

const doubleBracket = /\[\[(\d+\.?\d*)\]\]/;
const singleBracket = /\[(\d+\.?\d*)\]/;

/**
 * Reads a 1-10 grade the way FastChat's llm_judge does: the first `[[rating]]`, else the first
 * `[rating]`. A number outside 1..10 is not a grade (judges write "[[0]]" or cite "[12]"), so it
 * counts as no score instead of skewing the mean.
 */
export function parseSingleRating(judgment: string): SingleRatingParse {
  if (judgment.trim() === JUDGE_ERROR_OUTPUT) return { kind: "error", reason: "the judge call failed" };
  for (const [pattern, method] of [
    [doubleBracket, "double-bracket"],
    [singleBracket, "single-bracket"],
  ] as const) {
    const match = pattern.exec(judgment);
    if (!match) continue;
    const score = Number(match[1]);
    if (score < 1 || score > 10) return { kind: "no-score", reason: `rating ${match[1]} is outside 1-10` };
    return { kind: "score", score, method };
  }
  return { kind: "no-score", reason: 'no "[[rating]]" or "[rating]" in the judgment' };
}
