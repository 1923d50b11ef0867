// Training run folders and llm_judge result folders for the Train and Eval views' tests, laid out as
// `camelid train --out` and `camelid eval answer|judge --out` write them. The adapter is a real LoRA GGUF
// for stories260K (test/support/lora-adapter.ts) that llama.cpp loads.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { PairwiseJudgmentRow, SingleJudgmentRow } from "../../../src/eval/judge/judgment-rows.js";
import { createLocalModel } from "../../../src/providers/local/index.js";
import type { ModelSpec } from "../../../src/server/model-registry.js";
import type { AdapterModel } from "../../../src/server/routes/training-runs.js";
import type { MetricRecord } from "../../../src/train/metrics-log.js";
import { lossChartSvg } from "../../../src/train/loss-chart.js";
import { strongAdapterValues, writeStories260KAdapter } from "../../support/lora-adapter.js";
import { sharedPath, stories260KPath } from "../../support/shared-data.js";

/** A local model (with adapters) as `camelid serve` would register it: one sequence, loaded on first use. */
export const localModelSpec = (id: string, modelPath: string, lora: AdapterModel["lora"] = []): ModelSpec => ({
  id,
  kind: "local",
  ownedBy: "camelid",
  capacity: 1,
  maxQueue: 8,
  load: async () => {
    const model = createLocalModel({ modelPath, modelId: id, contextSize: 256, sequences: 1, lora });
    await model.load();
    return model;
  },
});

export const trainRecord = (step: number, loss: number): MetricRecord => ({
  type: "train",
  step,
  loss,
  learningRate: 2e-4 * Math.min(1, step / 2),
  gradientNorm: 1,
  tokens: 64 * step,
  tokensPerSecond: 500,
  elapsedSeconds: step * 0.1,
});
/** A DPO step as `camelid train --method dpo` logs it: trl's rewards and log-probs beside the loss. */
export const dpoTrainRecord = (step: number, margin: number, accuracy: number): MetricRecord => ({
  ...trainRecord(step, Math.log(2) - margin / 2),
  "rewards/chosen": margin / 2,
  "rewards/rejected": -margin / 2,
  "rewards/accuracies": accuracy,
  "rewards/margins": margin,
  "logps/chosen": -40 + step,
  "logps/rejected": -40 - step,
});
export const validationRecord = (step: number, loss: number): MetricRecord => ({ type: "validation", step, loss, perplexity: Math.exp(loss), tokens: 32 });

const lines = (records: readonly MetricRecord[]) => records.map((record) => `${JSON.stringify(record)}\n`).join("");

const recipeYaml = "# camelid train's settings for this run\nrank: 4\nalpha: 8\nlr: 0.0002\nmax-steps: 4\ntargets: [q, o]\n";

/** A run still training: recipe, a few metrics and running.json naming this (live) process. */
export function writeRunningRun(runsDirectory: string, name: string, records: readonly MetricRecord[]): string {
  const folder = join(runsDirectory, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, "recipe.yaml"), recipeYaml);
  writeFileSync(join(folder, "metrics.jsonl"), lines(records));
  writeFileSync(join(folder, "running.json"), JSON.stringify({ pid: process.pid, hostname: hostname(), started: "2026-12-07T12:00:00.000Z" }));
  return folder;
}

/** Appends records to a run's metrics.jsonl as the training loop does. */
export function appendMetrics(folder: string, records: readonly MetricRecord[]): void {
  appendFileSync(join(folder, "metrics.jsonl"), lines(records));
}

/** A finished run with everything `camelid train` writes at the end: a real adapter for stories260K and its serve.json. */
export async function writeFinishedRun(runsDirectory: string, name: string): Promise<string> {
  const folder = join(runsDirectory, name);
  mkdirSync(folder, { recursive: true });
  const records = [trainRecord(1, 3.2), trainRecord(2, 2.9), validationRecord(2, 3.0), trainRecord(3, 2.7), trainRecord(4, 2.5), validationRecord(4, 2.8)];
  writeFileSync(join(folder, "recipe.yaml"), recipeYaml);
  writeFileSync(join(folder, "metrics.jsonl"), lines(records));
  writeFileSync(join(folder, "loss.svg"), lossChartSvg(records));
  await writeStories260KAdapter(join(folder, "adapter.gguf"), strongAdapterValues);
  writeFileSync(join(folder, "serve.json"), JSON.stringify({ models: [{ id: "stories260K-lora", path: stories260KPath(), lora: [{ path: join(folder, "adapter.gguf") }] }] }));
  writeFileSync(
    join(folder, "run.json"),
    JSON.stringify({ promptFormat: "alpaca", totalSteps: 4, summary: { startStep: 0, steps: 4, stopped: false, finalLoss: 2.5 }, recipe: { rank: 4, alpha: 8, lr: 0.0002, "max-steps": 4, targets: ["q", "o"] } }),
  );
  return folder;
}

/** A run that diverged: its recipe, two steps of metrics and failed.json. */
export function writeFailedRun(runsDirectory: string, name: string): string {
  const folder = join(runsDirectory, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, "recipe.yaml"), recipeYaml);
  writeFileSync(join(folder, "metrics.jsonl"), lines([trainRecord(1, 3.2), trainRecord(2, 9.9)]));
  writeFileSync(join(folder, "failed.json"), JSON.stringify({ error: "TrainingDivergedError", code: "training_diverged", message: "training stopped at step 3: the loss is NaN (lower the learning rate or check the data)" }));
  return folder;
}

/** A run killed mid-way: a checkpoint and metrics, no run.json, running.json of a process that is gone. */
export function writeKilledRun(runsDirectory: string, name: string): string {
  const folder = join(runsDirectory, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, "recipe.yaml"), recipeYaml);
  writeFileSync(join(folder, "metrics.jsonl"), lines([trainRecord(1, 3.2)]));
  writeFileSync(join(folder, "checkpoint.bin"), "");
  // no host has this name, so no process of it is alive here
  writeFileSync(join(folder, "running.json"), JSON.stringify({ pid: process.pid, hostname: `${hostname()}-elsewhere`, started: "2026-12-07T12:00:00.000Z" }));
  return folder;
}

/** Three MT-bench questions (writing, roleplay, stem) with their categories and two turns each. */
function mtBenchQuestions(): { question_id: number; category: string; turns: string[] }[] {
  const all = readFileSync(sharedPath("eval", "mt_bench", "question.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
  return ["writing", "roleplay", "stem"].map((category) => all.find((question: { category: string }) => question.category === category));
}

const answerOf = (model: string, questionId: number) =>
  model === "strong" ? [`A thorough answer to question ${questionId}.`, `A careful follow-up to question ${questionId}.`] : ["Dunno.", "Still dunno."];

/**
 * An MT-bench result folder in FastChat's layout: question.jsonl, model_answer/{strong,weak}.jsonl,
 * model_judgment/judge-4_single.jsonl (strong 8, weak 2) and judge-4_pair.jsonl (strong wins both games).
 */
export function writeMtBenchResults(evalDirectory: string, name: string): { questions: { question_id: number; category: string; turns: string[] }[] } {
  const folder = join(evalDirectory, name);
  mkdirSync(join(folder, "model_answer"), { recursive: true });
  mkdirSync(join(folder, "model_judgment"), { recursive: true });
  const questions = mtBenchQuestions();
  writeFileSync(join(folder, "question.jsonl"), questions.map((question) => `${JSON.stringify(question)}\n`).join(""));
  for (const model of ["strong", "weak"]) {
    const rows = questions.map((question) => ({ question_id: question.question_id, model_id: model, answer_id: `${model}-${question.question_id}`, choices: [{ index: 0, turns: answerOf(model, question.question_id) }] }));
    writeFileSync(join(folder, "model_answer", `${model}.jsonl`), rows.map((row) => `${JSON.stringify(row)}\n`).join(""));
  }
  const single: SingleJudgmentRow[] = questions.flatMap((question) =>
    (["strong", "weak"] as const).map((model) => ({
      question_id: question.question_id,
      model,
      judge: ["judge-4", "single-v1"] as [string, string],
      user_prompt: "[Question] …",
      judgment: `The ${model} answer to ${question.question_id} is ${model === "strong" ? "helpful and detailed" : "unhelpful"}. Rating: [[${model === "strong" ? 8 : 2}]]`,
      score: model === "strong" ? 8 : 2,
      turn: 1,
      repeat: 0,
    })),
  );
  writeFileSync(join(folder, "model_judgment", "judge-4_single.jsonl"), single.map((row) => `${JSON.stringify(row)}\n`).join(""));
  const pairwise: PairwiseJudgmentRow[] = questions.map((question) => ({
    question_id: question.question_id,
    model_1: "strong",
    model_2: "weak",
    g1_winner: "model_1",
    g2_winner: "model_1",
    judge: ["judge-4", "pair-v2"],
    g1_user_prompt: "…",
    g1_judgment: `Assistant A explains question ${question.question_id} well; B does not. [[A]]`,
    g2_user_prompt: "…",
    g2_judgment: `Assistant B explains question ${question.question_id} well; A does not. [[B]]`,
    turn: 1,
    repeat: 0,
  }));
  writeFileSync(join(folder, "model_judgment", "judge-4_pair.jsonl"), pairwise.map((row) => `${JSON.stringify(row)}\n`).join(""));
  return { questions };
}
