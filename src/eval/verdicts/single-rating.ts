/** FastChat's marker for a judge call that failed after all retries; such rows are counted, never scored. */
export const JUDGE_ERROR_OUTPUT = "$ERROR$";

export type SingleRatingParse =
  | { kind: "score"; score: number; method: "double-bracket" | "single-bracket" }
  | { kind: "no-score"; reason: string }
  | { kind: "error"; reason: string };

const doubleBracket = /\[\[(\d+\.?\d*)\]\]/;
const singleBracket = /\[(\d+\.?\d*)\]/;

/**
 * How verdicts are read. "fastchat" (the default): exactly as FastChat's llm_judge reads them.
 * "strict" (--strict-verdicts, our extension): a judgment naming more than one letter verdict is
 * ambiguous, and a grade outside 1-10 is no grade, instead of whatever the first match says.
 */
export type VerdictRules = "fastchat" | "strict";

/**
 * Reads a grade the way FastChat's llm_judge does: the first `[[rating]]`, else the first
 * `[rating]`. Strict rules also refuse numbers outside 1..10 (judges write "[[0]]" or cite "[12]"),
 * which FastChat would average in.
 */
export function parseSingleRating(judgment: string, rules: VerdictRules = "fastchat"): SingleRatingParse {
  if (judgment.trim() === JUDGE_ERROR_OUTPUT) return { kind: "error", reason: "the judge call failed" };
  for (const [pattern, method] of [
    [doubleBracket, "double-bracket"],
    [singleBracket, "single-bracket"],
  ] as const) {
    const match = pattern.exec(judgment);
    if (!match) continue;
    const score = Number(match[1]);
    if (rules === "strict" && (score < 1 || score > 10)) return { kind: "no-score", reason: `rating ${match[1]} is outside 1-10 (--strict-verdicts)` };
    return { kind: "score", score, method };
  }
  return { kind: "no-score", reason: 'no "[[rating]]" or "[rating]" in the judgment' };
}
