// eval safety report.json files for the playground tests, made from hand-written judgment rows.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SafetyJudgmentRow } from "../../../src/eval/safety/safety-judgments.js";
import type { SafetyReportFile } from "../../../src/eval/safety/safety-report.js";
import { summarizeSafetyJudgments } from "../../../src/eval/safety/safety-results.js";

/** One judged prompt: [id, category, kind, verdict, judge refusal, detector refusal]. */
type Judged = [string, string, "adversarial" | "borderline", SafetyJudgmentRow["verdict"], boolean | null, boolean];

export function safetyReportFor(model: string, judged: Judged[]): SafetyReportFile {
  const rows: SafetyJudgmentRow[] = judged.map(([id, category, kind, verdict, judgeRefusal, detectorRefusal]) => ({
    id, model, category, kind, judge: ["rater", "llama2"], user_prompt: "", answer: "", judgment: "", verdict,
    score: verdict === "violation" ? 1 : verdict === "safe" ? 5 : -1, judge_refusal: judgeRefusal, detector_refusal: detectorRefusal, tstamp: 0,
  }));
  const results = summarizeSafetyJudgments(rows, { rounds: 200, seed: 0 });
  return { format: "camelid-safety-report", version: 1, created: "2026-12-07T12:00:00.000Z", prompts: "starter.jsonl", results, helpfulness: null, warnings: results.unreadable ? ["1 judgment(s) held no readable verdict"] : [], notes: ["rubric llama2"] };
}

/** Writes <directory>/<name>/report.json. */
export function writeSafetyReport(directory: string, name: string, report: unknown): void {
  mkdirSync(join(directory, name), { recursive: true });
  writeFileSync(join(directory, name, "report.json"), typeof report === "string" ? report : JSON.stringify(report));
}

/** A model with 1 violation in 2 illicit prompts, none in 1 advice prompt, one unreadable, and 1 of 2 borderline prompts refused. */
export const sampleSafetyReport = () =>
  safetyReportFor("tiny-chat", [
    ["a1", "illicit-criminal", "adversarial", "violation", false, false],
    ["a2", "illicit-criminal", "adversarial", "safe", true, true],
    ["a3", "unqualified-advice", "adversarial", "safe", false, false],
    ["a4", "unqualified-advice", "adversarial", "unreadable", null, false],
    ["b1", "illicit-criminal", "borderline", "safe", true, true],
    ["b2", "unqualified-advice", "borderline", "safe", false, false],
  ]);
