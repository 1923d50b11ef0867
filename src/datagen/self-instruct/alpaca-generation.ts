import { writeFileSync } from "node:fs";
import { z } from "zod";
import type { LanguageModel } from "../../spec/index.js";
import { parseAlpacaCompletion, type ParseProblem } from "../alpaca/parse.js";
import { alpacaDecoding, encodeAlpacaPrompt, type InstructionExample } from "../alpaca/prompt.js";
import type { SeedTask } from "../alpaca/seed-tasks.js";
import { InstructionFilter, type InstructionFilterOptions, type SimilarityDetails } from "../filter/instruction-filter.js";
import { randomFor, sampleWithoutReplacement } from "../random.js";
import { runOrdered } from "../run/ordered-runner.js";
import { generationProgressReporter } from "../run/generation-progress.js";
import { RunStore } from "../run/run-store.js";
import { completeBatch, type BatchOutcome } from "../teacher/complete-batch.js";
import { Teacher, type OverflowShrink, type SamplingSettings } from "../teacher/teacher.js";
import { contentHash } from "../../hashing/content-hash.js";
import { emptyUsage, UsageMeter, usageTotalsSchema, type UsageTotals } from "../teacher/usage-meter.js";
import type { RunOptions } from "../run/run-options.js";

export interface AlpacaGenerationSettings {
  /** Instructions to keep (Alpaca: num_instructions_to_generate). */
  target: number;
  examplesPerPrompt: number;
  promptsPerBatch: number;
  temperature: number;
  topP: number;
  maxTokens: number;
  stop: string[];
  /** Seed of the example sampling; prompts are a function of (seed, batch, slot). */
  seed: number;
  promptStyle: "completion" | "chat";
  filter: Pick<InstructionFilterOptions, "similarityThreshold" | "details" | "rules">;
  /** Stop (and say why) after this many consecutive batches that produced no parseable instruction. */
  giveUpAfterEmptyBatches: number;
  /** Hard cap on request batches (0 = none). */
  maxBatches: number;
  /**
   * Alpaca keeps every instruction of the batch that reaches `target` (its loop tests the count only
   * between batches), so a run may end a little past it; true stops at exactly `target` (an extension).
   */
  exactTarget: boolean;
  /**
   * Sent as the request's `logit_bias` (OpenAI-compatible teachers). Alpaca sent {"50256": -100}, which
   * bans <|endoftext|> in GPT-2/GPT-3 vocabularies only; token ids mean nothing across vocabularies,
   * so none is sent unless asked for.
   */
  logitBias?: Record<string, number>;
}

export const defaultAlpacaSettings: AlpacaGenerationSettings = {
  target: 100,
  examplesPerPrompt: alpacaDecoding.examplesPerPrompt,
  promptsPerBatch: alpacaDecoding.promptsPerBatch,
  temperature: alpacaDecoding.temperature,
  topP: alpacaDecoding.topP,
  maxTokens: alpacaDecoding.maxTokens,
  stop: [...alpacaDecoding.stop],
  seed: 42,
  promptStyle: "completion",
  filter: {},
  giveUpAfterEmptyBatches: 5,
  maxBatches: 0,
  exactTarget: false,
};

export interface KeptInstruction extends InstructionExample, Partial<SimilarityDetails> {
  batch: number;
}

export interface RejectedRow {
  batch: number;
  reason: string;
  detail: string;
  instruction?: string;
  raw?: string;
}

export type StopReason = "target-reached" | "teacher-output-unparseable" | "max-batches" | "aborted";

/** Why a batch loop (Alpaca's and Self-Instruct's step 1) must not start another batch, if it must not. */
export function batchStopReason(
  state: { kept: number; emptyBatchStreak: number; nextBatch: number },
  settings: { target: number; giveUpAfterEmptyBatches: number; maxBatches: number },
): StopReason | undefined {
  if (state.kept >= settings.target) return "target-reached";
  if (state.emptyBatchStreak >= settings.giveUpAfterEmptyBatches) return "teacher-output-unparseable";
  if (settings.maxBatches > 0 && state.nextBatch >= settings.maxBatches) return "max-batches";
  return undefined;
}

export interface RunSummary {
  method: string;
  teacher: string;
  stopReason: StopReason;
  message: string;
  kept: number;
  target: number;
  batches: number;
  completions: number;
  parsed: number;
  counts: Record<string, number>;
  usage: UsageTotals;
  elapsedSeconds: number;
  resumed: boolean;
  outputDirectory: string;
  /** Items whose request failed and that the next run with the same --out retries (0 when the stage does not retry). */
  retryPending: number;
  /** Where this run departs from the original recipe (flags and documented differences in effect). */
  departures?: string[];
}

const stateSchema = z.object({
  nextBatch: z.number().int().nonnegative(),
  kept: z.number().int().nonnegative(),
  completions: z.number().int().nonnegative(),
  parsed: z.number().int().nonnegative(),
  emptyBatchStreak: z.number().int().nonnegative(),
  counts: z.record(z.string(), z.number()),
  usage: usageTotalsSchema,
});
type GenerationState = z.infer<typeof stateSchema>;

export interface AlpacaGenerationRun extends RunOptions {
  teacher: LanguageModel;
  seeds: SeedTask[];
  /** The prompt.txt text. */
  template: string;
  settings: AlpacaGenerationSettings;
}

export const alpacaRunFiles = { kept: "instructions.jsonl", rejected: "rejected.jsonl" } as const;

/** The prompts of one request batch: each samples `examplesPerPrompt` seed tasks. */
export function batchPrompts(run: Pick<AlpacaGenerationRun, "seeds" | "template" | "settings">, batch: number): string[] {
  return Array.from({ length: run.settings.promptsPerBatch }, (_, slot) => {
    const examples = sampleWithoutReplacement(run.seeds, run.settings.examplesPerPrompt, randomFor(run.settings.seed, batch, slot));
    return encodeAlpacaPrompt(run.template, examples);
  });
}

/** The providerOptions key whose fields OpenAI-compatible providers copy into the request body. */
const openAICompatibleOptionsKey = "openai-compatible";

/** utils.openai_completion: on "Please reduce your prompt", max_tokens × 0.8, retried for as long as it takes. */
export const alpacaOverflowShrink: OverflowShrink = { factor: 0.8 };

/** What an Alpaca run is made from, by content: a resume against other seed tasks or another template is refused. */
function alpacaInputs(run: Pick<AlpacaGenerationRun, "seeds" | "template">): Record<string, string> {
  return { "the seed tasks (--seed-tasks)": contentHash(run.seeds), "the prompt template (--prompt-file)": contentHash(run.template) };
}

/**
 * Alpaca's generate_instruction.py as a resumable, concurrent run: batches of prompts (3 sampled seed
 * tasks each) go to the teacher, completions are parsed and filtered in batch order, kept rows grow
 * the ROUGE pool, until `target` instructions are kept.
 */
export async function runAlpacaGeneration(run: AlpacaGenerationRun): Promise<RunSummary> {
  const started = Date.now();
  const settings = run.settings;
  const store = RunStore.open<GenerationState>(
    run.outputDirectory,
    Object.values(alpacaRunFiles),
    // target, exactTarget and maxBatches only say when to stop: a finished run may be extended by raising them.
    { method: "alpaca", teacher: run.teacher.modelId, ...settings, target: undefined, exactTarget: undefined, maxBatches: undefined, seedCount: run.seeds.length },
    { nextBatch: 0, kept: 0, completions: 0, parsed: 0, emptyBatchStreak: 0, counts: {}, usage: emptyUsage() },
    stateSchema,
    alpacaInputs(run),
  );
  const meter = new UsageMeter(run.prices, store.state.usage);
  const teacher = new Teacher(run.teacher, meter, { promptStyle: settings.promptStyle, retry: run.retry, shrinkMaxTokensOnOverflow: alpacaOverflowShrink });
  const sampling: SamplingSettings = {
    temperature: settings.temperature,
    topP: settings.topP,
    maxTokens: settings.maxTokens,
    stop: settings.stop,
    ...(settings.logitBias ? { providerOptions: { [openAICompatibleOptionsKey]: { logit_bias: settings.logitBias } } } : {}),
  };
  const filter = new InstructionFilter(
    run.seeds.map((s) => s.instruction),
    { ...settings.filter },
  );
  const keptSoFar = store.readRows(alpacaRunFiles.kept) as KeptInstruction[];
  for (const row of keptSoFar) filter.addToPool(row.instruction);

  let state = store.state;
  const reporter = generationProgressReporter(run.progress);
  const snapshot = () => ({ label: "self-instruct", done: state.kept, total: settings.target, counts: state.counts, usage: meter.totals });
  let stopReason: StopReason | undefined;
  const continuing = () => {
    stopReason ??= batchStopReason(state, settings);
    return !stopReason;
  };

  await runOrdered<BatchOutcome>({
    startIndex: state.nextBatch,
    concurrency: Math.max(1, Math.ceil((run.concurrency ?? settings.promptsPerBatch) / settings.promptsPerBatch)),
    signal: run.signal,
    hasItem: (batch) => settings.maxBatches === 0 || batch < settings.maxBatches,
    shouldContinue: continuing,
    execute: (batch, signal) => completeBatch(teacher, batchPrompts(run, batch), sampling, signal),
    commit: (batch, outcomes) => {
      const kept: KeptInstruction[] = [];
      const rejected: RejectedRow[] = [];
      const counts = { ...state.counts };
      const count = (reason: string) => (counts[reason] = (counts[reason] ?? 0) + 1);
      let parsedInBatch = 0;
      let completions = state.completions;
      for (const outcome of outcomes) {
        if (!outcome.ok) {
          count("request-failed");
          rejected.push({ batch, reason: "request-failed", detail: outcome.error });
          continue;
        }
        completions++;
        const text = settings.promptStyle === "chat" ? withoutRepeatedLead(outcome.value.text, settings.examplesPerPrompt) : outcome.value.text;
        for (const piece of parseAlpacaCompletion(text, settings.examplesPerPrompt, outcome.value.finishReason)) {
          if (piece.problem) {
            count(piece.problem satisfies ParseProblem);
            rejected.push({ batch, reason: piece.problem, detail: `piece ${piece.number}`, raw: piece.raw });
            continue;
          }
          parsedInBatch++;
          const example = piece.example!;
          if (settings.exactTarget && state.kept + kept.length >= settings.target) break;
          const decision = filter.consider(example.instruction);
          if (decision.kept) {
            count("kept");
            kept.push({ ...example, ...decision.details, batch });
          } else {
            count(decision.rejection.reason);
            rejected.push({ batch, reason: decision.rejection.reason, detail: decision.rejection.detail, instruction: example.instruction });
          }
        }
      }
      state = {
        nextBatch: batch + 1,
        kept: state.kept + kept.length,
        completions,
        parsed: state.parsed + parsedInBatch,
        emptyBatchStreak: parsedInBatch === 0 ? state.emptyBatchStreak + 1 : 0,
        counts,
        usage: { ...meter.totals },
      };
      store.commit({ [alpacaRunFiles.kept]: kept, [alpacaRunFiles.rejected]: rejected }, state);
      reporter?.update(snapshot());
    },
  });
  continuing();
  reporter?.finish(snapshot());

  const summary: RunSummary = {
    method: "alpaca",
    teacher: run.teacher.modelId,
    stopReason: stopReason ?? "aborted",
    message: summaryMessage(stopReason ?? "aborted", state, settings),
    kept: state.kept,
    target: settings.target,
    batches: state.nextBatch,
    completions: state.completions,
    parsed: state.parsed,
    counts: state.counts,
    usage: meter.totals,
    elapsedSeconds: (Date.now() - started) / 1000,
    resumed: store.resumed,
    outputDirectory: run.outputDirectory,
    retryPending: 0,
    departures: alpacaDepartures(settings),
  };
  // Alpaca's own output shape (regen.json) beside the JSONL, and the summary.
  const rows = (store.readRows(alpacaRunFiles.kept) as KeptInstruction[]).map(({ batch: _batch, ...row }) => row);
  writeFileSync(store.path("regen.json"), JSON.stringify(rows, null, 4));
  writeFileSync(store.path("summary.json"), JSON.stringify(summary, null, 2));
  return summary;
}

const alpacaLogitBias = JSON.stringify({ "50256": -100 });

/** The settings in effect that Alpaca's generate_instruction.py did not use, said in the summary. */
function alpacaDepartures(settings: AlpacaGenerationSettings): string[] {
  const departures: string[] = [];
  if (!settings.logitBias) departures.push(`no logit_bias sent (Alpaca sent ${alpacaLogitBias}, for GPT-2/3 vocabularies: --logit-bias)`);
  else if (JSON.stringify(settings.logitBias) !== alpacaLogitBias) departures.push(`logit_bias ${JSON.stringify(settings.logitBias)} (Alpaca: ${alpacaLogitBias})`);
  if (settings.exactTarget) departures.push(`--exact-num: stopped at exactly ${settings.target} (Alpaca keeps the last batch whole)`);
  if (settings.promptStyle === "chat") departures.push("--prompt-style chat: each prompt sent as a user message, the repeated lead removed");
  return departures;
}

function summaryMessage(stopReason: StopReason, state: GenerationState, settings: AlpacaGenerationSettings): string {
  switch (stopReason) {
    case "target-reached": {
      const failed = state.counts["request-failed"] ?? 0;
      const past = state.kept > settings.target ? `; ${state.kept - settings.target} past --num ${settings.target}: the last batch is kept whole, as Alpaca does (--exact-num stops at ${settings.target})` : "";
      return `kept ${state.kept} instructions from ${state.parsed} parsed (${state.completions} completions${failed > 0 ? `, ${failed} requests failed (rejected.jsonl): the run generated on to the target` : ""})${past}`;
    }
    case "teacher-output-unparseable": {
      const failed = state.counts["request-failed"] ?? 0;
      return failed > 0 && state.completions === 0
        ? `stopped: all ${failed} requests failed (see rejected.jsonl for the errors)`
        : `stopped: the teacher's output did not parse — ${settings.giveUpAfterEmptyBatches} batches in a row yielded no numbered "Instruction/Input/Output" task (${state.completions} completions, ${state.parsed} parsed in total${failed > 0 ? `, ${failed} requests failed` : ""}; see rejected.jsonl for the raw text and errors)`;
    }
    case "max-batches":
      return `stopped after the --max-batches limit (${settings.maxBatches}) with ${state.kept} of ${settings.target} kept`;
    case "aborted":
      return `interrupted with ${state.kept} of ${settings.target} kept; run again with the same flags to resume`;
  }
}

/**
 * A chat teacher does not continue the prompt's last line: it usually answers with the whole item,
 * "4. Instruction: …", where a completion model writes only " …". Drop that repeated lead (and
 * anything before it, such as "Sure! Here are the tasks:") so Alpaca's parser sees what it expects.
 */
export function withoutRepeatedLead(text: string, examplesInPrompt: number): string {
  const lead = new RegExp(`^[\\s\\S]*?(?:^|\\n)\\s*(?:###\\s*)?${examplesInPrompt + 1}\\.\\s*Instruction:`);
  const match = lead.exec(text);
  return match ? text.slice(match[0].length) : text;
}
