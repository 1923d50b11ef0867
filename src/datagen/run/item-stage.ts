import { z } from "zod";
import { ConfigError } from "../../errors/index.js";
import type { LanguageModel } from "../../spec/index.js";
import { shortHash } from "../../hashing/content-hash.js";
import { chainHash, chainOf, emptyChain } from "./input-fingerprint.js";
import { runOrdered } from "./ordered-runner.js";
import { generationProgressReporter } from "./generation-progress.js";
import { RunStore } from "./run-store.js";
import type { ProgressOutput } from "./run-options.js";
import { settleRequest } from "../teacher/failures.js";
import type { RetryPolicy } from "../teacher/retry.js";
import { emptyUsage, UsageMeter, usageTotalsSchema, type PriceTable, type UsageTotals } from "../teacher/usage-meter.js";

const stateSchema = z.object({
  next: z.number().int().nonnegative(),
  counts: z.record(z.string(), z.number()),
  usage: usageTotalsSchema,
  /** chainHash over items[0..next): what was processed, so a changed input is refused on resume. */
  itemsChain: z.string().optional(),
  /** Indexes below `next` whose request failed: the next run with the same directory retries them first. */
  failed: z.array(z.number().int().nonnegative()).default([]),
});
type StageState = z.infer<typeof stateSchema>;

/** The count key of an item whose request failed after its retries. */
export const requestFailed = "request-failed";

export interface ItemStageSummary {
  label: string;
  /** Items finished (whatever their outcome), failed ones excluded. */
  done: number;
  /** Items whose request failed and that the next run with the same directory retries. */
  failed: number;
  /** Failed items of earlier runs retried by this one (now done or failed again). */
  retried: number;
  total: number;
  counts: Record<string, number>;
  usage: UsageTotals;
  elapsedSeconds: number;
  resumed: boolean;
  outputDirectory: string;
}

export interface ItemOutcome<Row> {
  /** Rows to append to the output file (none when the item produced nothing). */
  rows: Row[];
  /** Count key for the progress line ("done", "empty-follow-up", …). */
  outcome: string;
  /** Another of the stage's files to append the rows to instead (one of `extraFiles`). */
  file?: string;
  /** Rows for further files of the stage (`extraFiles`), committed in the same atomic step as `rows`. */
  also?: Record<string, Row[]>;
}

/**
 * One teacher-driven pass over a list of inputs (distill, refine, Self-Instruct steps 2-3): items run
 * concurrently, commit in order to an append-only JSONL with an atomic progress record, a kill resumes
 * at the first uncommitted item. An item whose request fails after its retries gets a row in
 * errors.jsonl and is counted as failed; the next run with the same directory retries it (its row is
 * then appended after the rows already there). The run is keyed on its items' content: a resume whose
 * first `next` items differ from those processed is refused.
 */
export async function runItemStage<Item, Row>(stage: {
  label: string;
  outputDirectory: string;
  outputFile: string;
  /** Further files an outcome may write to (e.g. truncated conversations). */
  extraFiles?: string[];
  settings: Record<string, unknown>;
  /** How the user knows the items, for the message when they changed ("prompts (--prompts)"). */
  itemsName: string;
  items: Item[];
  /** Content hashes of the stage's other inputs (templates, …), by name. */
  inputs?: Record<string, string>;
  models: LanguageModel[];
  concurrency: number;
  prices?: PriceTable;
  retry?: RetryPolicy;
  progress?: ProgressOutput;
  signal?: AbortSignal;
  process(item: Item, index: number, meter: UsageMeter, signal: AbortSignal): Promise<ItemOutcome<Row>>;
}): Promise<ItemStageSummary> {
  const started = Date.now();
  const files = [stage.outputFile, ...(stage.extraFiles ?? []), "errors.jsonl"];
  const initial: StageState = { next: 0, counts: {}, usage: emptyUsage(), itemsChain: emptyChain, failed: [] };
  const store = RunStore.open(stage.outputDirectory, files, { ...stage.settings, models: stage.models.map((m) => m.modelId) }, initial, stateSchema, stage.inputs);
  let state = store.state;
  const itemsChain = checkItemsUnchanged(stage, state);
  state = { ...state, itemsChain };
  const meter = new UsageMeter(stage.prices, state.usage);
  const reporter = generationProgressReporter(stage.progress);
  const snapshot = () => ({ label: stage.label, done: state.next - state.failed.length, total: stage.items.length, counts: state.counts, usage: meter.totals });

  // Work positions: first the failed items of earlier runs, then the items not reached yet.
  const retries = [...state.failed];
  const firstNew = state.next;
  const itemAt = (position: number) => (position < retries.length ? retries[position] : firstNew + position - retries.length);
  await runOrdered<ItemOutcome<Row> | { error: string }>({
    startIndex: 0,
    concurrency: stage.concurrency,
    signal: stage.signal,
    hasItem: (position) => itemAt(position) < stage.items.length,
    shouldContinue: () => true,
    execute: async (position, signal) => {
      const index = itemAt(position);
      const settled = await settleRequest(() => stage.process(stage.items[index], index, meter, signal), signal);
      return settled.ok ? settled.value : { error: settled.error };
    },
    commit: (position, result) => {
      const index = itemAt(position);
      const retry = position < retries.length;
      const counts = { ...state.counts };
      const failed = state.failed.filter((i) => i !== index);
      if (retry) counts[requestFailed] = (counts[requestFailed] ?? 0) - 1;
      const key = "error" in result ? requestFailed : result.outcome;
      counts[key] = (counts[key] ?? 0) + 1;
      if (counts[requestFailed] === 0) delete counts[requestFailed];
      if ("error" in result) failed.push(index);
      state = {
        next: retry ? state.next : index + 1,
        counts,
        usage: { ...meter.totals },
        itemsChain: retry ? state.itemsChain : chainHash(state.itemsChain ?? emptyChain, stage.items[index]),
        failed,
      };
      if ("error" in result) store.commit({ "errors.jsonl": [{ index, error: result.error }] }, state);
      else store.commit({ ...result.also, [result.file ?? stage.outputFile]: result.rows }, state);
      reporter?.update(snapshot());
    },
  });
  reporter?.finish(snapshot());
  return {
    label: stage.label,
    done: state.next - state.failed.length,
    failed: state.failed.length,
    retried: retries.length,
    total: stage.items.length,
    counts: state.counts,
    usage: meter.totals,
    elapsedSeconds: (Date.now() - started) / 1000,
    resumed: store.resumed,
    outputDirectory: stage.outputDirectory,
  };
}

/** The items a resumed run already processed must be the ones it is given again. */
function checkItemsUnchanged(stage: { label: string; itemsName: string; items: readonly unknown[]; outputDirectory: string }, state: StageState): string {
  const processed = stage.items.slice(0, state.next);
  const chain = chainOf(processed);
  if (state.itemsChain === undefined) return chain; // a record from before items were fingerprinted
  if (stage.items.length < state.next) {
    throw new ConfigError(`${stage.label}: ${stage.itemsName} changed since the run in ${stage.outputDirectory} started: it has ${stage.items.length} items but ${state.next} were already processed. Restore it to resume, or use a new output directory`);
  }
  if (chain !== state.itemsChain) {
    throw new ConfigError(`${stage.label}: ${stage.itemsName} changed since the run in ${stage.outputDirectory} started: its first ${state.next} items differ from those already processed (sha256 ${shortHash(state.itemsChain)} → ${shortHash(chain)}). Restore it to resume, or use a new output directory`);
  }
  return chain;
}
