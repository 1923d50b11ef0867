import { z } from "zod";
import type { LanguageModel } from "../../spec/index.js";
import { runOrdered } from "./ordered-runner.js";
import { ProgressReporter } from "./progress.js";
import { RunStore } from "./run-store.js";
import type { ProgressOutput } from "./run-options.js";
import { settleRequest } from "../teacher/failures.js";
import type { RetryPolicy } from "../teacher/retry.js";
import { emptyUsage, UsageMeter, type PriceTable, type UsageTotals } from "../teacher/usage-meter.js";

const usageSchema = z.object({
  requests: z.number(), failedRequests: z.number(), retries: z.number(), rateLimited: z.number(),
  promptTokens: z.number(), completionTokens: z.number(), estimatedCostUsd: z.number().optional(),
});
const stateSchema = z.object({ next: z.number().int().nonnegative(), counts: z.record(z.string(), z.number()), usage: usageSchema });

export interface ItemStageSummary {
  label: string;
  done: number;
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
}

/**
 * One teacher-driven pass over a list of inputs (distill, refine): items run concurrently, commit in
 * order to an append-only JSONL with an atomic progress record, failures after retries become rows in
 * errors.jsonl (the item is done; rerun those later), and a kill resumes at the first uncommitted item.
 */
export async function runItemStage<Item, Row>(stage: {
  label: string;
  outputDirectory: string;
  outputFile: string;
  settings: Record<string, unknown>;
  items: Item[];
  models: LanguageModel[];
  concurrency: number;
  prices?: PriceTable;
  retry?: RetryPolicy;
  progress?: ProgressOutput;
  signal?: AbortSignal;
  process(item: Item, index: number, meter: UsageMeter, signal: AbortSignal): Promise<ItemOutcome<Row>>;
}): Promise<ItemStageSummary> {
  const started = Date.now();
  const store = RunStore.open(stage.outputDirectory, [stage.outputFile, "errors.jsonl"], { ...stage.settings, models: stage.models.map((m) => m.modelId) }, { next: 0, counts: {}, usage: emptyUsage() }, stateSchema);
  const meter = new UsageMeter(stage.prices, store.state.usage);
  const reporter = stage.progress ? new ProgressReporter(stage.progress.write, { isTTY: stage.progress.isTTY, intervalMs: stage.progress.intervalMs }) : undefined;
  let state = store.state;
  await runOrdered<ItemOutcome<Row> | { error: string }>({
    startIndex: state.next,
    concurrency: stage.concurrency,
    signal: stage.signal,
    hasItem: (index) => index < stage.items.length,
    shouldContinue: () => true,
    execute: async (index, signal) => {
      const settled = await settleRequest(() => stage.process(stage.items[index], index, meter, signal), signal);
      return settled.ok ? settled.value : { error: settled.error };
    },
    commit: (index, result) => {
      const counts = { ...state.counts };
      const key = "error" in result ? "request-failed" : result.outcome;
      counts[key] = (counts[key] ?? 0) + 1;
      state = { next: index + 1, counts, usage: { ...meter.totals } };
      if ("error" in result) store.commit({ "errors.jsonl": [{ index, error: result.error }] }, state);
      else store.commit({ [stage.outputFile]: result.rows }, state);
      reporter?.update({ label: stage.label, done: state.next, total: stage.items.length, counts, usage: meter.totals });
    },
  });
  reporter?.finish({ label: stage.label, done: state.next, total: stage.items.length, counts: state.counts, usage: meter.totals });
  return { label: stage.label, done: state.next, total: stage.items.length, counts: state.counts, usage: meter.totals, elapsedSeconds: (Date.now() - started) / 1000, resumed: store.resumed, outputDirectory: stage.outputDirectory };
}
