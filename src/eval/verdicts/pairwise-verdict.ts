import type { PairwiseOutputFormat } from "../data/judge-prompts.js";
import { JUDGE_ERROR_OUTPUT, type VerdictRules } from "./single-rating.js";

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
 * Reads `[[A]]`, `[[B]]` or `[[C]]`. FastChat (the default rules) takes the first tag in the fixed
 * order A, B, C, which turns a judgment mentioning both tags into an "A" win: a bias towards the
 * first position in the very tool that measures position bias. Strict rules count a judgment that
 * names more than one verdict as ambiguous, an error.
 */
export function parsePairwiseVerdict(judgment: string, rules: VerdictRules = "fastchat"): PairwiseVerdictParse {
  if (judgment.trim() === JUDGE_ERROR_OUTPUT) return { verdict: "error", reason: "the judge call failed" };
  const found = verdictTags.filter(([tag]) => judgment.includes(tag)).map(([, verdict]) => verdict);
  if (found.length === 0) return { verdict: "error", reason: 'no "[[A]]", "[[B]]" or "[[C]]" in the judgment' };
  if (found.length === 1 || rules === "fastchat") return { verdict: found[0] };
  return { verdict: "error", reason: `ambiguous: the judgment contains ${found.map((v) => (v === "tie" ? "[[C]]" : `[[${v}]]`)).join(" and ")} (--strict-verdicts)` };
}

/** FastChat's TIE_DELTA: two grades this close are a tie. */
export const TIE_DELTA = 0.1;

/** A verdict from two grades, as FastChat's run_judge_pair (`[[rating_a,rating_b]]`) and pairwise-from-single do it. */
export function verdictFromRatings(ratingA: number, ratingB: number): "A" | "B" | "tie" {
  if (Math.abs(ratingA - ratingB) <= TIE_DELTA) return "tie";
  return ratingA > ratingB ? "A" : "B";
}

export interface PairwiseRatingsParse extends PairwiseVerdictParse {
  /** The grades of assistant A and B, when found. */
  ratings?: [number, number];
}

const twoScores = /\[\[(\d+\.?\d*),\s?(\d+\.?\d*)\]\]/;
const twoScoresBackup = /\[(\d+\.?\d*),\s?(\d+\.?\d*)\]/;

/** FastChat's `[[rating_a,rating_b]]` output format: the first `[[a,b]]`, else the first `[a,b]`. */
export function parsePairwiseRatings(judgment: string): PairwiseRatingsParse {
  if (judgment.trim() === JUDGE_ERROR_OUTPUT) return { verdict: "error", reason: "the judge call failed" };
  const match = twoScores.exec(judgment) ?? twoScoresBackup.exec(judgment);
  if (!match) return { verdict: "error", reason: 'no "[[rating_a,rating_b]]" or "[rating_a,rating_b]" in the judgment' };
  const ratings: [number, number] = [Number(match[1]), Number(match[2])];
  return { verdict: verdictFromRatings(...ratings), ratings };
}

/** Reads a pairwise judgment in the judge prompt's `output_format`. */
export function parsePairwiseJudgment(judgment: string, outputFormat: PairwiseOutputFormat, rules: VerdictRules = "fastchat"): PairwiseRatingsParse {
  return outputFormat === "[[rating_a,rating_b]]" ? parsePairwiseRatings(judgment) : parsePairwiseVerdict(judgment, rules);
}
