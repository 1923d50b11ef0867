/** A snapshot of a long job, reported after every finished item. */
export interface ProgressUpdate {
  stage: string;
  done: number;
  total: number;
  /** Items found already done in the output file (resume); not counted in the rate. */
  skipped: number;
  elapsedMs: number;
  /** Estimated time left from the rate of this run's items; undefined until one has finished. */
  etaMs?: number;
}

export type ProgressListener = (update: ProgressUpdate) => void;

export function createProgressTracker(stage: string, total: number, skipped: number, listener?: ProgressListener, now: () => number = Date.now) {
  const started = now();
  let done = skipped;
  return {
    itemDone(): void {
      done++;
      const elapsedMs = now() - started;
      const finishedThisRun = done - skipped;
      const etaMs = finishedThisRun > 0 ? (elapsedMs / finishedThisRun) * (total - done) : undefined;
      listener?.({ stage, done, total, skipped, elapsedMs, ...(etaMs !== undefined ? { etaMs } : {}) });
    },
  };
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

/** One line such as "judge 12/160 (7.5%), 3 resumed, elapsed 30s, ETA 6m10s". */
export function formatProgress(update: ProgressUpdate): string {
  const percent = update.total > 0 ? ((100 * update.done) / update.total).toFixed(1) : "100.0";
  const resumed = update.skipped > 0 ? `, ${update.skipped} resumed` : "";
  const eta = update.etaMs !== undefined ? `, ETA ${formatDuration(update.etaMs)}` : "";
  return `${update.stage} ${update.done}/${update.total} (${percent}%)${resumed}, elapsed ${formatDuration(update.elapsedMs)}${eta}`;
}
