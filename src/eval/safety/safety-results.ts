import { z } from "zod";
import { bootstrapProportion } from "../ratings/bootstrap.js";
import { latestRows } from "../report/latest-rows.js";
import { rubricGivesRefusals } from "./rubrics.js";
import type { SafetyJudgmentRow } from "./safety-judgments.js";

/** A rate with its count, denominator and seeded bootstrap interval (all null without any outcome). */
export const rateSchema = z.object({ count: z.number(), total: z.number(), rate: z.number().nullable(), lower: z.number().nullable(), upper: z.number().nullable() });
export type Rate = z.infer<typeof rateSchema>;

export const categoryResultSchema = z.object({
  category: z.string(),
  /** Adversarial prompts judged a violation, over those with a readable verdict. */
  violation: rateSchema,
  /** Borderline prompts refused (by the judge when the rubric says, else by the detector). */
  falseRefusal: rateSchema,
  falseRefusalDetector: rateSchema,
  errors: z.number(),
  unreadable: z.number(),
});
export type CategoryResult = z.infer<typeof categoryResultSchema>;

export const safetyResultsSchema = z.object({
  model: z.string(),
  judge: z.string(),
  rubric: z.string(),
  rows: z.number(),
  adversarial: z.number(),
  borderline: z.number(),
  violation: rateSchema,
  falseRefusal: rateSchema,
  /** Whose refusal verdict `falseRefusal` counts: the judge's (LLaMA-2 rubric) or the phrase detector's. */
  falseRefusalSource: z.enum(["judge", "detector"]),
  falseRefusalDetector: rateSchema,
  /** Judge calls that failed ($ERROR$) and verdicts that could not be read: left out of every rate. */
  errors: z.number(),
  unreadable: z.number(),
  categories: z.array(categoryResultSchema),
  /** Judge and detector on the same answers (rows where the judge gave a refusal verdict); null when the rubric gives none. */
  agreement: z.object({ compared: z.number(), agreed: z.number(), rate: z.number().nullable(), judgeOnly: z.number(), detectorOnly: z.number() }).nullable(),
  bootstrap: z.object({ rounds: z.number(), seed: z.number(), confidence: z.number() }),
});
export type SafetyResults = z.infer<typeof safetyResultsSchema>;

export interface SafetySummaryOptions {
  rounds?: number;
  seed?: number;
  confidence?: number;
}

/** Rates of one judge's verdicts (with one rubric) on one model's answers; the last row of each prompt counts. */
export function summarizeSafetyJudgments(allRows: readonly SafetyJudgmentRow[], options: SafetySummaryOptions = {}): SafetyResults {
  const rows = latestRows(allRows, (row) => `${row.judge[0]}|${row.judge[1]}|${row.model}|${row.id}`);
  const bootstrap = { rounds: options.rounds ?? 1000, seed: options.seed ?? 0, confidence: options.confidence ?? 0.95 };
  const rate = (outcomes: boolean[]): Rate => {
    const count = outcomes.filter(Boolean).length;
    const interval = bootstrapProportion(outcomes, bootstrap);
    return { count, total: outcomes.length, rate: outcomes.length ? count / outcomes.length : null, lower: interval?.lower ?? null, upper: interval?.upper ?? null };
  };
  // The rubric decides whose refusal verdict counts, whatever the judge managed to write.
  const judgeGivesRefusals = rows.some((row) => rubricGivesRefusals(row.judge[1]));
  const rated = (row: SafetyJudgmentRow) => row.verdict === "violation" || row.verdict === "safe";
  const violations = (group: SafetyJudgmentRow[]) => rate(group.filter((row) => row.kind === "adversarial" && rated(row)).map((row) => row.verdict === "violation"));
  const judgeRefusals = (group: SafetyJudgmentRow[]) =>
    rate(group.filter((row) => row.kind === "borderline" && rated(row) && row.judge_refusal !== null).map((row) => row.judge_refusal === true));
  const detectorRefusals = (group: SafetyJudgmentRow[]) => rate(group.filter((row) => row.kind === "borderline").map((row) => row.detector_refusal));
  const falseRefusals = judgeGivesRefusals ? judgeRefusals : detectorRefusals;
  const compared = rows.filter((row) => rated(row) && row.judge_refusal !== null);
  const agreed = compared.filter((row) => row.judge_refusal === row.detector_refusal).length;
  const categories = [...new Set(rows.map((row) => row.category))].sort().map((category): CategoryResult => {
    const group = rows.filter((row) => row.category === category);
    return {
      category,
      violation: violations(group),
      falseRefusal: falseRefusals(group),
      falseRefusalDetector: detectorRefusals(group),
      errors: group.filter((row) => row.verdict === "error").length,
      unreadable: group.filter((row) => row.verdict === "unreadable").length,
    };
  });
  return {
    model: [...new Set(rows.map((row) => row.model))].join(", "),
    judge: [...new Set(rows.map((row) => row.judge[0]))].join(", "),
    rubric: [...new Set(rows.map((row) => row.judge[1]))].join(", "),
    rows: rows.length,
    adversarial: rows.filter((row) => row.kind === "adversarial").length,
    borderline: rows.filter((row) => row.kind === "borderline").length,
    violation: violations(rows),
    falseRefusal: falseRefusals(rows),
    falseRefusalSource: judgeGivesRefusals ? "judge" : "detector",
    falseRefusalDetector: detectorRefusals(rows),
    errors: rows.filter((row) => row.verdict === "error").length,
    unreadable: rows.filter((row) => row.verdict === "unreadable").length,
    categories,
    agreement: judgeGivesRefusals
      ? { compared: compared.length, agreed, rate: compared.length ? agreed / compared.length : null, judgeOnly: compared.filter((r) => r.judge_refusal && !r.detector_refusal).length, detectorOnly: compared.filter((r) => !r.judge_refusal && r.detector_refusal).length }
      : null,
    bootstrap,
  };
}
