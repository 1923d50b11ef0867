import { JUDGE_ERROR_OUTPUT } from "./single-rating.js";

/** A verdict in the positions the judge saw: A = the first answer shown, B = the second. */
export type PositionVerdict = "A" | "B" | "tie" | "error";

export interface PairwiseVerdictParse {
  verdict: PositionVerdict;
  /** Why the verdict is "error" (missing, ambiguous, judge failure). */
  reason?: string;
}

const verdictTags: Array<[string, PositionVerdict]> = [
  ["[[A]]", "A"],
  ["[[B]]", "B"],
  ["[[C]]", "tie"],
];

/**
 * Reads `[[A]]`, `[[B]]` or `[[C]]`. FastChat takes the first tag in the fixed order A, B, C, which
 * turns a judgment mentioning both tags into an "A" win: a bias towards the first position in the
 * very tool that measures position bias. Here a judgment that names more than one verdict is
 * ambiguous and counted as an error.
 */
export function parsePairwiseVerdict(judgment: string): PairwiseVerdictParse {
  if (judgment.trim() === JUDGE_ERROR_OUTPUT) return { verdict: "error", reason: "the judge call failed" };
  const found = verdictTags.filter(([tag]) => judgment.includes(tag)).map(([, verdict]) => verdict);
  if (found.length === 1) return { verdict: found[0] };
  if (found.length === 0) return { verdict: "error", reason: 'no "[[A]]", "[[B]]" or "[[C]]" in the judgment' };
  return { verdict: "error", reason: `ambiguous: the judgment contains ${found.map((v) => (v === "tie" ? "[[C]]" : `[[${v}]]`)).join(" and ")}` };
}
