import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import { readJsonl } from "../data/jsonl.js";
import type { PairwiseJudgmentRow, SingleJudgmentRow, VicunaReviewRow } from "../judge/judgment-rows.js";
import { pairwiseJudgmentRowSchema, singleJudgmentRowSchema, vicunaReviewRowSchema } from "../judge/judgment-rows.js";

export type JudgmentFile =
  | { kind: "single"; rows: SingleJudgmentRow[] }
  | { kind: "pairwise"; rows: PairwiseJudgmentRow[] }
  | { kind: "vicuna-review"; rows: VicunaReviewRow[] };

/** Reads a judgment file of any of the three kinds, recognised by its first row's fields. */
export function loadJudgmentFile(path: string): JudgmentFile {
  if (!existsSync(path)) throw new InvalidArgumentError("judgments", `file not found: ${path}`);
  const firstLine = readFileSync(path, "utf8").split("\n").find((line) => line.trim() !== "");
  if (!firstLine) throw new InvalidArgumentError("judgments", `${path} is empty`);
  let first: unknown;
  try {
    first = JSON.parse(firstLine);
  } catch {
    throw new InvalidArgumentError("judgments", `${path}:1: not valid JSON`);
  }
  const probe = z.object({}).passthrough().safeParse(first);
  const fields = probe.success ? probe.data : {};
  if ("g1_winner" in fields) return { kind: "pairwise", rows: readJsonl(path, pairwiseJudgmentRowSchema, { allowTornTail: true, parameter: "judgments" }) };
  if ("model" in fields && "score" in fields) return { kind: "single", rows: readJsonl(path, singleJudgmentRowSchema, { allowTornTail: true, parameter: "judgments" }) };
  if ("text" in fields) return { kind: "vicuna-review", rows: readJsonl(path, vicunaReviewRowSchema, { allowTornTail: true, parameter: "judgments" }) };
  throw new InvalidArgumentError("judgments", `${path}: not a single, pairwise or Vicuna review file (first row has ${Object.keys(fields).join(", ") || "no fields"})`);
}
