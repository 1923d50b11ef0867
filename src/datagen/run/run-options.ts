import type { RetryPolicy } from "../teacher/retry.js";
import type { PriceTable } from "../teacher/usage-meter.js";

/** Where a run's progress line goes (on a TTY one line is redrawn). */
export interface ProgressOutput {
  write(text: string): void;
  isTTY: boolean;
  intervalMs?: number;
}

/** What every resumable datagen run takes besides its own inputs. */
export interface RunOptions {
  outputDirectory: string;
  /** Requests in flight at once (each run has its own default). */
  concurrency?: number;
  prices?: PriceTable;
  retry?: RetryPolicy;
  progress?: ProgressOutput;
  signal?: AbortSignal;
}

/** What a run hands on to its item stage unchanged, with the run's own default concurrency. */
export function stageRunOptions(run: RunOptions, defaultConcurrency: number) {
  return { concurrency: run.concurrency ?? defaultConcurrency, prices: run.prices, retry: run.retry, progress: run.progress, signal: run.signal };
}
