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
import { generationProgressReporter } from "../run/generation-progress.js";
import { RunStore } from "../run/run-store.js";
import { completeBatch } from "../teacher/complete-batch.js";
import type { SettledRequest } from "../teacher/failures.js";
import { Teacher, type OverflowShrink, type TeacherCompletion } from "../teacher/teacher.js";
import { emptyUsage, UsageMeter, usageTotalsSchema, type UsageTotals } from "../teacher/usage-meter.js";
import { contentHash } from "../../hashing/content-hash.js";
import { batchStopReason, type RunSummary, type StopReason } from "./alpaca-generation.js";
import { pythonJsonObject, pythonStrip } from "../../text/python-compat.js";
import {
  encodeSelfInstructPrompt,
  parseIsClassification,
  parseSelfInstructCompletion,
  prepareTaskInstances,
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
  /** Prompts per request batch (request_batch_size): step 1's batches and step 3's max_tokens groups. */
  promptsPerBatch: number;
  /** Seeds step 1's in-context sampling (per batch and prompt) and step 4's instance sample (per task). */
  seed: number;
  similarityThreshold: number;
  /** Step-1 filters (default: Self-Instruct's). */
  rules?: InstructionRules;
  maxInstancesPerTask: number;
  promptStyle: "completion" | "chat";
  giveUpAfterEmptyBatches: number;
  /** Step 1's decoding (bootstrap_instructions.py: 0.7, 0.5, 1024 and its stops); steps 2 and 3 keep the original's. */
  temperature: number;
  topP: number;
  maxTokens: number;
  stop: string[];
  /** Hard cap on step-1 request batches (0 = none); steps 2–4 then run on what was kept. */
  maxBatches: number;
  /**
   * Extension (--exact-num): stop step 1 at exactly `target`. bootstrap_instructions.py checks its
   * target only between batches and keeps every instruction of the batch that reaches it.
   */
  exactTarget?: boolean;
}

/** The released pipeline's decoding settings per step. */
export const selfInstructDecoding = {
  instructions: { maxTokens: 1024, temperature: 0.7, topP: 0.5, frequencyPenalty: 0, presencePenalty: 2, stop: ["\n\n", "\n16", "16.", "16 ."] },
  classification: { maxTokens: 3, temperature: 0, topP: 0, frequencyPenalty: 0, presencePenalty: 0, stop: ["\n", "Task"] },
  /**
   * generate_instances.py sends request batches of 5 and gives the whole batch max_tokens 300 when any
   * of its tasks is a classification task ("because the clf template is longer"), else 350.
   */
  instances: (maxInstances: number, batchHasClassification: boolean) => ({
    maxTokens: batchHasClassification ? 300 : 350,
    temperature: 0,
    topP: 0,
    frequencyPenalty: 0,
    presencePenalty: 1.5,
    stop: [`Example ${maxInstances + 1}`, "Task:"],
  }),
};

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
  temperature: selfInstructDecoding.instructions.temperature,
  topP: selfInstructDecoding.instructions.topP,
  maxTokens: selfInstructDecoding.instructions.maxTokens,
  stop: [...selfInstructDecoding.instructions.stop],
  maxBatches: 0,
};

/**
 * gpt3_api.make_requests, which every step calls: on "Please reduce your prompt" it retries with
 * int(max_tokens * 0.8), within its retries=3 (`while retry_cnt <= retries`: four attempts in all).
 */
export const selfInstructOverflowShrink: OverflowShrink = { factor: 0.8, maxShrinks: 3 };

/** The files each step writes, named and shaped as the released scripts' so they run on them. */
export const selfInstructFiles = {
  instructions: "machine_generated_instructions.jsonl",
  classification: "is_clf_or_not_davinci_template_1.jsonl",
  instances: "machine_generated_instances.jsonl",
  finetuning: "all_generated_instances.jsonl",
} as const;

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

/** A completion as the released scripts store it (gpt3_api.make_requests), without the timestamp. */
interface RequestRecord {
  prompt: string;
  response: { choices: { text: string; index: number; finish_reason: string }[] } | null;
}

/** A row of machine_generated_instructions.jsonl, as bootstrap_instructions.py writes it. */
interface MachineInstruction {
  instruction: string;
  most_similar?: Record<string, number>;
  avg_similarity_score?: number;
  metadata: RequestRecord;
  request_idx: number;
}

/** A row of is_clf_or_not_davinci_template_1.jsonl: the raw answer, " Yes" or " No". */
interface ClassificationRow {
  instruction: string;
  is_classification: string;
}

/** A row of machine_generated_instances.jsonl, keys in generate_instances.py's order. */
interface InstanceRow {
  instruction: string;
  raw_instances: string;
  instance_metadata: RequestRecord;
  instruction_metadata: RequestRecord;
  most_similar?: Record<string, number>;
  avg_similarity_score?: number;
}

export interface SelfInstructSummary extends RunSummary {
  /** Step 1's decoding as used, and what differs from the released scripts' defaults. */
  decoding: { temperature: number; topP: number; maxTokens: number; stop: string[] };
  extensions: string[];
}

function requestRecord(prompt: string, completion: TeacherCompletion): RequestRecord {
  return { prompt, response: { choices: [{ text: completion.text, index: 0, finish_reason: completion.finishReason }] } };
}

/**
 * The four steps of Self-Instruct, each a resumable stage with its own directory (stages connected by
 * JSONL files named and shaped as in the released code, so its scripts run on them): 1 instruction
 * generation, 2 classification-task identification, 3 instance generation (output-first for
 * classification, input-first otherwise), 4 prepare_for_finetuning.py's parsing and filtering into
 * `all_generated_instances.jsonl` ({"instruction", "input", "output"} rows as Python's json.dumps
 * writes them).
 */
export async function runSelfInstruct(run: SelfInstructRun): Promise<SelfInstructSummary> {
  const started = Date.now();
  const templates = run.templates ?? defaultSelfInstructTemplates;
  const counts: Record<string, number> = {};
  const reporter = generationProgressReporter(run.progress);
  let usage: UsageTotals = emptyUsage();

  // Step 1: instruction generation.
  const settings = run.settings;
  const instructionDecoding = { ...selfInstructDecoding.instructions, temperature: settings.temperature, topP: settings.topP, maxTokens: settings.maxTokens, stop: settings.stop };
  const stepOne = RunStore.open(
    join(run.outputDirectory, "1-instructions"),
    [selfInstructFiles.instructions, "rejected.jsonl"],
    // target, exactTarget and maxBatches only say when to stop: a stopped run may be extended by raising them.
    { method: "self-instruct", teacher: run.teacher.modelId, ...settings, target: undefined, exactTarget: undefined, maxBatches: undefined, seedCount: run.seeds.length },
    { nextBatch: 0, kept: 0, emptyBatchStreak: 0, counts: {}, usage: emptyUsage() },
    stageOneState,
    { "the seed tasks (--seed-tasks)": contentHash(run.seeds) },
  );
  const meterOne = new UsageMeter(run.prices, stepOne.state.usage);
  const teacherOne = new Teacher(run.teacher, meterOne, { promptStyle: settings.promptStyle, retry: run.retry, shrinkMaxTokensOnOverflow: selfInstructOverflowShrink });
  const filter = new InstructionFilter(run.seeds.map((s) => s.instruction), { rules: settings.rules ?? selfInstructRules, similarityThreshold: settings.similarityThreshold });
  const machine = stepOne.readRows(selfInstructFiles.instructions) as MachineInstruction[];
  for (const row of machine) filter.addToPool(row.instruction);
  let state = stepOne.state;
  let stopReason: StopReason | undefined;
  const continuing = () => {
    stopReason ??= batchStopReason(state, settings);
    return !stopReason;
  };
  const seedInstructions = run.seeds.map((s) => s.instruction);
  await runOrdered<{ prompt: string; outcome: SettledRequest<TeacherCompletion> }[]>({
    startIndex: state.nextBatch,
    // One batch at a time, as bootstrap_instructions.py: a batch's prompts sample the machine
    // instructions kept so far, so a batch launched before the previous one committed would depend on
    // timing (and a resumed run would differ). The batch's own prompts still go out together.
    concurrency: 1,
    signal: run.signal,
    hasItem: (batch) => settings.maxBatches === 0 || batch < settings.maxBatches,
    shouldContinue: continuing,
    execute: async (batch, signal) => {
      const prompts = Array.from({ length: settings.promptsPerBatch }, (_, slot) => {
        const random = randomFor(settings.seed, batch, slot);
        const fromMachine = sampleWithoutReplacement(machine.map((m) => m.instruction), Math.min(settings.machineInstructions, machine.length), random);
        const fromSeeds = sampleWithoutReplacement(seedInstructions, settings.promptInstructions - fromMachine.length, random);
        return encodeSelfInstructPrompt(shuffle([...fromMachine, ...fromSeeds], random));
      });
      // make_requests sends the batch as one request: a shrunk max_tokens holds for all its prompts.
      const outcomes = await completeBatch(teacherOne, prompts, instructionDecoding, signal);
      return prompts.map((prompt, slot) => ({ prompt, outcome: outcomes[slot] }));
    },
    commit: (batch, requests) => {
      const kept: MachineInstruction[] = [];
      const rejected: unknown[] = [];
      const stageCounts = { ...state.counts };
      const count = (reason: string) => (stageCounts[reason] = (stageCounts[reason] ?? 0) + 1);
      let parsed = 0;
      for (const { prompt, outcome } of requests) {
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
          if (settings.exactTarget && state.kept + kept.length >= settings.target) break;
          const decision = filter.consider(instruction);
          if (decision.kept) {
            count("kept");
            const similarity = decision.details ? { most_similar: decision.details.most_similar_instructions, avg_similarity_score: decision.details.avg_similarity_score } : {};
            kept.push({ instruction, ...similarity, metadata: requestRecord(prompt, outcome.value), request_idx: batch });
          } else {
            count(decision.rejection.reason);
            rejected.push({ batch, instruction, reason: decision.rejection.reason, detail: decision.rejection.detail });
          }
        }
      }
      machine.push(...kept);
      state = { nextBatch: batch + 1, kept: state.kept + kept.length, emptyBatchStreak: parsed === 0 ? state.emptyBatchStreak + 1 : 0, counts: stageCounts, usage: { ...meterOne.totals } };
      stepOne.commit({ [selfInstructFiles.instructions]: kept, "rejected.jsonl": rejected }, state);
      reporter?.update({ label: "1/4 instructions", done: state.kept, total: settings.target, counts: state.counts, usage: meterOne.totals });
    },
  });
  continuing();
  Object.assign(counts, prefixKeys("instructions", state.counts));
  usage = addUsage(usage, meterOne.totals);
  reporter?.finish({ label: "1/4 instructions", done: state.kept, total: settings.target, counts: state.counts, usage: meterOne.totals });

  // Step 2: is it a classification task? (identify_clf_or_not.py)
  const classified = await perInstructionStage<MachineInstruction, ClassificationRow>({
    run, directory: "2-classification", file: selfInstructFiles.classification, label: "2/4 classification", items: machine,
    inputs: { "the classification template (--templates)": contentHash(templates.classification) },
    call: async (teacher, item, signal) => {
      const completion = await teacher.complete(`${templates.classification} ${pythonStrip(item.instruction)}\nIs it classification?`, selfInstructDecoding.classification, signal);
      return { instruction: item.instruction, is_classification: completion.text };
    },
  });
  usage = addUsage(usage, classified.usage);
  const isClassification = new Map(classified.rows.map((row) => [row.instruction, parseIsClassification(row.is_classification)]));

  // Step 3: instances (generate_instances.py), for every classified instruction in step 2's file order:
  // step 1's order, except that instructions whose step-2 request failed and was retried by a later run
  // come last, so the items already processed stay a prefix and the resumed stage can check them.
  const machineByInstruction = new Map(machine.map((row) => [row.instruction, row]));
  const tasks = classified.rows.flatMap((row) => {
    const task = machineByInstruction.get(row.instruction);
    return task ? [task] : [];
  });
  const batchHasClassification = (index: number) => {
    const first = index - (index % settings.promptsPerBatch);
    return tasks.slice(first, first + settings.promptsPerBatch).some((task) => isClassification.get(task.instruction));
  };
  const withInstances = await perInstructionStage<MachineInstruction, InstanceRow>({
    run, directory: "3-instances", file: selfInstructFiles.instances, label: "3/4 instances", items: tasks,
    inputs: { "the instance templates (--templates)": contentHash([templates.inputFirst, templates.outputFirst]) },
    call: async (teacher, item, signal, index) => {
      const template = isClassification.get(item.instruction) ? templates.outputFirst : templates.inputFirst;
      const prompt = `${template} ${pythonStrip(item.instruction)}\n`;
      const completion = await teacher.complete(prompt, selfInstructDecoding.instances(settings.maxInstancesPerTask, batchHasClassification(index)), signal);
      return {
        instruction: item.instruction,
        raw_instances: completion.text,
        instance_metadata: requestRecord(prompt, completion),
        instruction_metadata: item.metadata,
        ...(item.most_similar ? { most_similar: item.most_similar } : {}),
        ...(item.avg_similarity_score !== undefined ? { avg_similarity_score: item.avg_similarity_score } : {}),
      };
    },
  });
  usage = addUsage(usage, withInstances.usage);
  // Failed step-2/3 requests are retried by the next run; until then their instructions are missing.
  if (classified.failed > 0) counts["classification.request-failed"] = classified.failed;
  if (withInstances.failed > 0) counts["instances.request-failed"] = withInstances.failed;
  const retryPending = classified.failed + withInstances.failed;

  // Step 4: prepare_for_finetuning.py's parsing, filters and per-task sample.
  const lines: string[] = [];
  let kept = 0;
  withInstances.rows.forEach((task, index) => {
    const prepared = prepareTaskInstances(
      { raw: task.raw_instances, isClassification: isClassification.get(task.instruction) ?? false, finishReason: task.instance_metadata.response?.choices[0]?.finish_reason },
      settings.maxInstancesPerTask,
      // Step four's own stream: one generator per task, so a task's sample does not depend on the others.
      randomFor(settings.seed, 4, index),
    );
    for (const [reason, n] of Object.entries(prepared.dropped)) counts[`instances.${reason}`] = (counts[`instances.${reason}`] ?? 0) + n;
    for (const instance of prepared.instances) lines.push(`${pythonJsonObject({ instruction: pythonStrip(task.instruction), input: instance.input, output: instance.output })}\n`);
    kept += prepared.instances.length;
  });
  counts["instances.kept"] = kept;
  writeFileSync(join(run.outputDirectory, selfInstructFiles.finetuning), lines.join(""));

  const finalStop = stopReason ?? "aborted";
  const extensions = [...decodingExtensions(settings), ...(settings.exactTarget ? [`--exact-num: step 1 stops at exactly ${settings.target} (the original keeps the whole last batch)`] : [])];
  const summary: SelfInstructSummary = {
    method: "self-instruct",
    teacher: run.teacher.modelId,
    stopReason: finalStop,
    message:
      (finalStop === "teacher-output-unparseable"
        ? `stopped: ${settings.giveUpAfterEmptyBatches} instruction batches in a row yielded no usable numbered instruction; ${kept} instances from ${state.kept} instructions`
        : finalStop === "max-batches"
          ? `stopped step 1 after the --max-batches limit (${settings.maxBatches}) with ${state.kept} of ${settings.target} instructions; ${kept} instances kept`
          : `${state.kept} instructions${pastTarget(state.kept, settings)}, ${classified.rows.filter((r) => parseIsClassification(r.is_classification)).length} classification tasks, ${kept} instances kept`) +
      (extensions.length ? ` (not the original's: ${extensions.join("; ")})` : ""),
    kept,
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
    decoding: { temperature: settings.temperature, topP: settings.topP, maxTokens: settings.maxTokens, stop: settings.stop },
    extensions,
  };
  if (retryPending > 0) summary.message += `; ${retryPending} step-2/3 requests failed (errors.jsonl in 2-classification/, 3-instances/): run the same command again to retry them`;
  writeFileSync(join(run.outputDirectory, "summary.json"), JSON.stringify(summary, null, 2));
  return summary;
}

/** Step 1 ends as bootstrap_instructions.py's loop: the batch that reaches --num is kept whole. */
function pastTarget(kept: number, settings: SelfInstructSettings): string {
  return kept > settings.target ? ` (${kept - settings.target} past --num ${settings.target}: the last batch is kept whole, as the original does; --exact-num stops at ${settings.target})` : "";
}

/** Step-1 decoding that differs from bootstrap_instructions.py's, said in the summary. */
function decodingExtensions(settings: SelfInstructSettings): string[] {
  const original = selfInstructDecoding.instructions;
  const changed: string[] = [];
  if (settings.temperature !== original.temperature) changed.push(`step-1 temperature ${settings.temperature} (original ${original.temperature})`);
  if (settings.topP !== original.topP) changed.push(`step-1 top_p ${settings.topP} (original ${original.topP})`);
  if (settings.maxTokens !== original.maxTokens) changed.push(`step-1 max_tokens ${settings.maxTokens} (original ${original.maxTokens})`);
  if (JSON.stringify(settings.stop) !== JSON.stringify(original.stop)) changed.push(`step-1 stop ${JSON.stringify(settings.stop)} (original ${JSON.stringify(original.stop)})`);
  return changed;
}

/** Steps 2 and 3: one teacher call per instruction, through the shared resumable item stage. */
async function perInstructionStage<Item extends { instruction: string }, Row>(stage: {
  run: SelfInstructRun;
  directory: string;
  file: string;
  label: string;
  items: Item[];
  inputs: Record<string, string>;
  call(teacher: Teacher, item: Item, signal: AbortSignal, index: number): Promise<Row>;
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
    process: async (item, index, meter, signal) => {
      const teacher = new Teacher(run.teacher, meter, { promptStyle: run.settings.promptStyle, retry: run.retry, shrinkMaxTokensOnOverflow: selfInstructOverflowShrink });
      return { rows: [await stage.call(teacher, item, signal, index)], outcome: "done" };
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
