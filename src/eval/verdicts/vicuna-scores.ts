import { JUDGE_ERROR_OUTPUT } from "./single-rating.js";

export type VicunaScoresParse =
  | { kind: "scores"; scores: [number, number]; method: "first-line" | "assistant-lines" | "tuple" }
  | { kind: "no-score"; reason: string }
  | { kind: "error"; reason: string };

const number = String.raw`(\d+(?:\.\d+)?)`;
const firstLine = new RegExp(String.raw`^\s*${number}[\s,]+${number}\s*$`);
// A score line: "Assistant 1: 7", "**Assistant 2**: 8/10" — the number must stand alone ("3x + 10" is not one).
const scoreLine = (assistant: 1 | 2) =>
  new RegExp(String.raw`^[ \t*>-]*Assistant ${assistant}[ \t*]*:[ \t*]*${number}(?:[ \t]*/[ \t]*10)?(?![\w.])`, "gm");
const tuple = new RegExp(String.raw`\(\s*${number}\s*,\s*${number}\s*\)`, "g");

/**
 * Reads the two 1-10 scores of the original Vicuna review. The prompt asks for "s1 s2" on the first
 * line (FastChat's `parse_score`, commas allowed). The math reviewer prompt instead asks for a Python
 * tuple, and GPT-4 sometimes answers with "Assistant 1: x / Assistant 2: y" lines; the published
 * review file holds such rows (FastChat fixed them by hand), so both fallbacks are read from the text.
 */
export function parseVicunaScores(review: string): VicunaScoresParse {
  if (review.trim() === JUDGE_ERROR_OUTPUT) return { kind: "error", reason: "the judge call failed" };
  const candidates: Array<[RegExpExecArray | null, "first-line" | "assistant-lines" | "tuple"]> = [
    [firstLine.exec(review.split("\n")[0] ?? ""), "first-line"],
    [assistantScoreLines(review), "assistant-lines"],
    [[...review.matchAll(tuple)].at(-1) as RegExpExecArray | null ?? null, "tuple"],
  ];
  for (const [match, method] of candidates) {
    if (!match) continue;
    const scores: [number, number] = [Number(match[1]), Number(match[2])];
    if (scores.some((score) => score < 0 || score > 10)) continue;
    return { kind: "scores", scores, method };
  }
  return { kind: "no-score", reason: 'no "s1 s2" first line, "Assistant 1: x … Assistant 2: y" or "(x, y)" in the review' };
}

/** The last "Assistant 1: x" score line and the first "Assistant 2: y" after it. */
function assistantScoreLines(review: string): RegExpExecArray | null {
  const first = [...review.matchAll(scoreLine(1))].at(-1);
  if (!first || first.index === undefined) return null;
  const second = [...review.matchAll(scoreLine(2))].find((match) => (match.index ?? 0) > first.index!);
  if (!second) return null;
  const combined = [first[0] + second[0], first[1], second[1]] as unknown as RegExpExecArray;
  return combined;
}
