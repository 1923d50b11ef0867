import { existsSync, readFileSync } from "node:fs";

/** What `eval mc` scores a benchmark file as, told by its first row's fields. */
export type LikelihoodBenchmarkKind = "multiple-choice" | "truthfulqa" | "crows-pairs";

/**
 * TruthfulQA rows carry `mc1_targets`/`mc2_targets`, CrowS-Pairs rows `sent_more`; anything else is a
 * multiple-choice row. Only the first row decides: its loader then validates every row against that
 * shape, so a file mixing kinds fails at the first foreign row, with its line.
 */
export function detectBenchmarkKind(path: string): LikelihoodBenchmarkKind {
  if (!existsSync(path)) return "multiple-choice"; // the loader reports the missing file
  const first = readFileSync(path, "utf8").split("\n").find((line) => line.trim() !== "");
  let row: unknown;
  try {
    row = JSON.parse(first ?? "null");
  } catch {
    return "multiple-choice";
  }
  if (row === null || typeof row !== "object") return "multiple-choice";
  if ("mc1_targets" in row || "mc2_targets" in row) return "truthfulqa";
  if ("sent_more" in row) return "crows-pairs";
  return "multiple-choice";
}
