import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { LanguageModel } from "../../spec/index.js";
import type { SeedTask } from "../alpaca/seed-tasks.js";
import { InstructionFilter } from "../filter/instruction-filter.js";
import type { InstructionRules } from "../filter/rules.js";
import { randomFor, sampleWithoutReplacement, shuffle } from "../random.js";
import { runItemStage } from "../run/item-stage.js";
import { runOrdered } from "../run/ordered-runner.js";
import { ProgressReporter } from "../run/progress.js";
import { RunStore } from "../run/run-store.js";
import { settleRequest, type SettledRequest } from "../teacher/failures.js";
import { Teacher, type TeacherCompletion } from "../teacher/teacher.js";
import { emptyUsage, UsageMeter, usageTotalsSchema, type UsageTotals } from "../teacher/usage-meter.js";
import { contentHash } from "../run/input-fingerprint.js";
import type { RunSummary, StopReason } from "./alpaca-generation.js";
import {
  encodeSelfInstructPrompt,
  filterInstances,
  parseInputFirstInstances,
  parseIsClassification,
  parseOutputFirstInstances,
  parseSelfInstructCompletion,
} from "./self-instruct-parse.js";
import { defaultSelfInstructTemplates, type SelfInstructTemplates } from "./templates.js";
import type { RunOptions } from "../run/run-options.js";

/** Self-Instruct's blacklist (bootstrap_instructions.py): Alpaca's without the audio/visual additions. */
export const selfInstructRules: InstructionRules = {
  minWordsExclusive: 3,
  maxWords: 150,
  blacklist: ["image", "images", "graph", "graphs", "picture", "pictures", "file", "files", "map", "maps", "draw", "plot", "go to"],
  forbiddenPrefixes: ["Write a program"],
};

export interface SelfInstructSettings {
  target: number;
  /** Step 1: 8 in-context instructions, 2 of them machine-generated once there are any. */
  promptInstructions: number;
  machineInstructions: number;
  promptsPerBatch: number;
  seed: number;
  similarityThreshold: number;
  /** Step-1 filters (default: Self-Instruct's). */
  rules?: InstructionRules;
  maxInstancesPerTask: number;
  promptStyle: "completion" | "chat";
  giveUpAfterEmptyBatches: number;
}

export const defaultSelfInstructSettings: SelfInstructSettings = {
  target: 100,
  promptInstructions: 8,
  machineInstructions: 2,
  promptsPerBatch: 5,
  seed: 42,
  similarityThreshold: 0.7,
  maxInstancesPerTask: 5,
  promptStyle: "completion",
  giveUpAfterEmptyBatches: 5,
};

/** The released pipeline's decoding settings per step. */
export const selfInstructDecoding = {
  instructions: { maxTokens: 1024, temperature: 0.7, topP: 0.5, frequencyPenalty: 0, presencePenalty: 2, stop: ["\n\n", "\n16", "16.", "16 ."] },
  classification: { maxTokens: 3, temperature: 0, topP: 0, frequencyPenalty: 0, presencePenalty: 0, stop: ["\n", "Task"] },
  instances: (maxInstances: number, classification: boolean) => ({
    maxTokens: classification ? 300 : 350,
    temperature: 0,
    topP: 0,
    frequencyPenalty: 0,
    presencePenalty: 1.5,
    stop: [`Example ${maxInstances + 1}`, "Task:"],
  }),
};

export interface SelfInstructRun extends RunOptions {
  teacher: LanguageModel;
  seeds: SeedTask[];
  settings: SelfInstructSettings;
  templates?: SelfInstructTemplates;
}

const stageOneState = z.object({
  nextBatch: z.number().int(), kept: z.number().int(), emptyBatchStreak: z.number().int(),
  counts: z.record(z.string(), z.number()), usage: usageTotalsSchema,
});

interface MachineInstruction {
  instruction: string;
  batch: number;
  most_similar_instructions?: Record<string, number>;
  avg_similarity_score?: number;
}

/**
 * The four steps of Self-Instruct, each a resumable stage with its own directory (stages connected by
 * JSONL files, as in the released code): 1 instruction generation, 2 classification-task
 * identification, 3 instance generation (output-first for classification, input-first otherwise),
 * 4 filtering into Alpaca-format rows (`data.jsonl`).
 */
export async function runSelfInstruct(run: SelfInstructRun): Promise<RunSummary> {
  const started = Date.now();
  const templates = run.templates ?? defaultSelfInstructTemplates;
  const counts: Record<string, number> = {};
  const reporter = run.progress ? new ProgressReporter(run.progress.write, { isTTY: run.progress.isTTY, intervalMs: run.progress.intervalMs }) : undefined;
  let usage: UsageTotals = emptyUsage();

  // Step 1: instruction generation.
  const settings = run.settings;
  const stepOne = RunStore.open(
    join(run.outputDirectory, "1-instructions"),
    ["machine_generated_instructions.jsonl", "rejected.jsonl"],
    { method: "self-instruct", teacher: run.teacher.modelId, ...settings, target: undefined, seedCount: run.seeds.length },
    { nextBatch: 0, kept: 0, emptyBatchStreak: 0, counts: {}, usage: emptyUsage() },
    stageOneState,
    { "the seed tasks (--seed-tasks)": contentHash(run.seeds) },
  );
  const meterOne = new UsageMeter(run.prices, stepOne.state.usage);
  const teacherOne = new Teacher(run.teacher, meterOne, { promptStyle: settings.promptStyle, retry: run.retry });
  const filter = new InstructionFilter(run.seeds.map((s) => s.instruction), { rules: settings.rules ?? selfInstructRules, similarityThreshold: settings.similarityThreshold });
  const machine = stepOne.readRows("machine_generated_instructions.jsonl") as MachineInstruction[];
  for (const row of machine) filter.addToPool(row.instruction);
  let state = stepOne.state;
  let stopReason: StopReason | undefined;
  const continuing = () => {
    if (stopReason) return false;
    if (state.kept >= settings.target) stopReason = "target-reached";
    else if (state.emptyBatchStreak >= settings.giveUpAfterEmptyBatches) stopReason = "teacher-output-unparseable";
    return !stopReason;
  };
  const seedInstructions = run.seeds.map((s) => s.instruction);
  await runOrdered<SettledRequest<TeacherCompletion>[]>({
    startIndex: state.nextBatch,
    // One batch at a time, as bootstrap_instructions.py: a batch's prompts sample the machine
    // instructions kept so far, so a batch launched before the previous one committed would depend on
    // timing (and a resumed run would differ). The batch's own prompts still go out together.
    concurrency: 1,
    signal: run.signal,
    hasItem: () => true,
    shouldContinue: continuing,
    execute: (batch, signal) =>
      Promise.all(
        Array.from({ length: settings.promptsPerBatch }, async (_, slot) => {
          const random = randomFor(settings.seed, batch, slot);
          const fromMachine = sampleWithoutReplacement(machine.map((m) => m.instruction), Math.min(settings.machineInstructions, machine.length), random);
          const fromSeeds = sampleWithoutReplacement(seedInstructions, settings.promptInstructions - fromMachine.length, random);
          const prompt = encodeSelfInstructPrompt(shuffle([...fromMachine, ...fromSeeds], random));
          return settleRequest(() => teacherOne.complete(prompt, selfInstructDecoding.instructions, signal), signal);
        }),
      ),
    commit: (batch, outcomes) => {
      const kept: MachineInstruction[] = [];
      const rejected: unknown[] = [];
      const stageCounts = { ...state.counts };
      const count = (reason: string) => (stageCounts[reason] = (stageCounts[reason] ?? 0) + 1);
      let parsed = 0;
      for (const outcome of outcomes) {
        if (!outcome.ok) {
          count("request-failed");
          rejected.push({ batch, reason: "request-failed", detail: outcome.error });
          continue;
        }
        const { instructions, truncated } = parseSelfInstructCompletion(outcome.value.text, outcome.value.finishReason);
        if (truncated) {
          count("truncated");
          rejected.push({ batch, reason: "truncated", raw: outcome.value.text });
        }
        for (const instruction of instructions) {
          parsed++;
          if (state.kept + kept.length >= settings.target) break;
          const decision = filter.consider(instruction);
          if (decision.kept) {
            count("kept");
            kept.push({ instruction, batch, ...decision.details });
          } else {
            count(decision.rejection.reason);
            rejected.push({ batch, instruction, reason: decision.rejection.reason, detail: decision.rejection.detail });
          }
        }
      }
      machine.push(...kept);
      state = { nextBatch: batch + 1, kept: state.kept + kept.length, emptyBatchStreak: parsed === 0 ? state.emptyBatchStreak + 1 : 0, counts: stageCounts, usage: { ...meterOne.totals } };
      stepOne.commit({ "machine_generated_instructions.jsonl": kept, "rejected.jsonl": rejected }, state);
      reporter?.update({ label: "1/4 instructions", done: state.kept, total: settings.target, counts: state.counts, usage: meterOne.totals });
    },
  });
  continuing();
  Object.assign(counts, prefixKeys("instructions", state.counts));
  usage = addUsage(usage, meterOne.totals);
  reporter?.finish({ label: "1/4 instructions", done: state.kept, total: settings.target, counts: state.counts, usage: meterOne.totals });

  // Step 2: is it a classification task?
  const classified = await perInstructionStage({
    run, directory: "2-classification", file: "is_clf_or_not.jsonl", label: "2/4 classification", items: machine,
    inputs: { "the classification template (--templates)": contentHash(templates.classification) },
    call: async (teacher, item, signal) => {
      const completion = await teacher.complete(`${templates.classification} ${item.instruction.trim()}\nIs it classification?`, selfInstructDecoding.classification, signal);
      return { instruction: item.instruction, is_classification: parseIsClassification(completion.text), answer: completion.text };
    },
  });
  usage = addUsage(usage, classified.usage);

  // Step 3: instances.
  const withInstances = await perInstructionStage({
    run, directory: "3-instances", file: "machine_generated_instances.jsonl", label: "3/4 instances", items: classified.rows,
    inputs: { "the instance templates (--templates)": contentHash([templates.inputFirst, templates.outputFirst]) },
    call: async (teacher, item, signal) => {
      const template = item.is_classification ? templates.outputFirst : templates.inputFirst;
      const completion = await teacher.complete(`${template} ${item.instruction.trim()}\n`, selfInstructDecoding.instances(settings.maxInstancesPerTask, item.is_classification), signal);
      return { instruction: item.instruction, is_classification: item.is_classification, raw_instances: completion.text, finish_reason: completion.finishReason };
    },
  });
  usage = addUsage(usage, withInstances.usage);
  // Failed step-2/3 requests are retried by the next run; until then their instructions are missing.
  if (classified.failed > 0) counts["classification.request-failed"] = classified.failed;
  if (withInstances.failed > 0) counts["instances.request-failed"] = withInstances.failed;
  const retryPending = classified.failed + withInstances.failed;

  // Step 4: parse and filter instances into Alpaca-format rows.
  const rows: { instruction: string; input: string; output: string; is_classification: boolean }[] = [];
  for (const task of withInstances.rows) {
    const instances = task.is_classification ? parseOutputFirstInstances(task.raw_instances) : parseInputFirstInstances(task.raw_instances);
    if (instances.length === 0) counts["instances.unparseable"] = (counts["instances.unparseable"] ?? 0) + 1;
    const { kept, rejected } = filterInstances(instances, settings.maxInstancesPerTask);
    for (const { reason } of rejected) counts[`instances.${reason}`] = (counts[`instances.${reason}`] ?? 0) + 1;
    for (const instance of kept) rows.push({ instruction: task.instruction, ...instance, is_classification: task.is_classification });
  }
  counts["instances.kept"] = rows.length;
  writeFileSync(join(run.outputDirectory, "data.jsonl"), rows.map((row) => `${JSON.stringify(row)}\n`).join(""));

  const finalStop = stopReason ?? "aborted";
  const summary: RunSummary = {
    method: "self-instruct",
    teacher: run.teacher.modelId,
    stopReason: finalStop,
    message:
      finalStop === "teacher-output-unparseable"
        ? `stopped: ${settings.giveUpAfterEmptyBatches} instruction batches in a row yielded no usable numbered instruction; ${rows.length} instances from ${state.kept} instructions`
        : `${state.kept} instructions, ${classified.rows.filter((r) => r.is_classification).length} classification tasks, ${rows.length} instances kept`,
    kept: rows.length,
    target: settings.target,
    batches: state.nextBatch,
    completions: usage.requests - usage.failedRequests,
    parsed: state.kept,
    counts,
    usage,
    elapsedSeconds: (Date.now() - started) / 1000,
    resumed: stepOne.resumed,
    outputDirectory: run.outputDirectory,
    retryPending,
  };
  if (retryPending > 0) summary.message += `; ${retryPending} step-2/3 requests failed (errors.jsonl in 2-classification/, 3-instances/): run the same command again to retry them`;
  writeFileSync(join(run.outputDirectory, "summary.json"), JSON.stringify(summary, null, 2));
  return summary;
}

/** Steps 2 and 3: one teacher call per instruction, through the shared resumable item stage. */
async function perInstructionStage<Item extends { instruction: string }, Row>(stage: {
  run: SelfInstructRun;
  directory: string;
  file: string;
  label: string;
  items: Item[];
  inputs: Record<string, string>;
  call(teacher: Teacher, item: Item, signal: AbortSignal): Promise<Row>;
}): Promise<{ rows: Row[]; usage: UsageTotals; failed: number }> {
  const { run } = stage;
  const directory = join(run.outputDirectory, stage.directory);
  const summary = await runItemStage<Item, Row>({
    label: stage.label,
    outputDirectory: directory,
    outputFile: stage.file,
    settings: { step: stage.directory },
    itemsName: "the step-1 instructions (1-instructions/)",
    items: stage.items,
    inputs: stage.inputs,
    models: [run.teacher],
    concurrency: run.concurrency ?? 5,
    prices: run.prices,
    retry: run.retry,
    progress: run.progress,
    signal: run.signal,
    process: async (item, _index, meter, signal) => {
      const teacher = new Teacher(run.teacher, meter, { promptStyle: run.settings.promptStyle, retry: run.retry });
      return { rows: [await stage.call(teacher, item, signal)], outcome: "done" };
    },
  });
  const rows = readFileSync(join(directory, stage.file), "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as Row);
  return { rows, usage: summary.usage, failed: summary.failed };
}

function prefixKeys(prefix: string, counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([key, value]) => [`${prefix}.${key}`, value]));
}

function addUsage(a: UsageTotals, b: UsageTotals): UsageTotals {
  return {
    requests: a.requests + b.requests,
    failedRequests: a.failedRequests + b.failedRequests,
    retries: a.retries + b.retries,
    rateLimited: a.rateLimited + b.rateLimited,
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    estimatedCostUsd: a.estimatedCostUsd === undefined || b.estimatedCostUsd === undefined ? undefined : a.estimatedCostUsd + b.estimatedCostUsd,
  };
}
