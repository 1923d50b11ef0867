// Progress of long jobs (datagen, eval stages): the ETA from this session's rate, one duration
// format, and one writer that redraws in place on a terminal and throttles elsewhere. A resumed run's
// ETA counts only this session's work, so rows done before the kill do not flatter it.

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

/** Time left at this session's pace; undefined until this session has finished an item. */
export function estimateRemainingMs(elapsedMs: number, doneThisSession: number, remaining: number): number | undefined {
  return doneThisSession > 0 ? (elapsedMs / doneThisSession) * remaining : undefined;
}

export function createProgressTracker(stage: string, total: number, skipped: number, listener?: ProgressListener, now: () => number = Date.now) {
  const started = now();
  let done = skipped;
  return {
    itemDone(): void {
      done++;
      const elapsedMs = now() - started;
      const etaMs = estimateRemainingMs(elapsedMs, done - skipped, total - done);
      listener?.({ stage, done, total, skipped, elapsedMs, ...(etaMs !== undefined ? { etaMs } : {}) });
    },
  };
}

/** "45s", "3m20s", "2h05m"; "?" for a duration that is not known (NaN, infinite, negative). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
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

/**
 * Draws a job's progress line: redrawn in place on a terminal and printed at most every `intervalMs`
 * otherwise. `render` turns a snapshot into the line, given the seconds since this session started
 * and the items this session finished (the first snapshot's `done` counts as resumed work).
 */
export class ProgressReporter<Snapshot extends { done: number }> {
  private readonly startedAt: number;
  private lastPrintAt = 0;
  private startDone: number | undefined;

  constructor(
    private readonly write: (text: string) => void,
    private readonly render: (snapshot: Snapshot, elapsedSeconds: number, doneThisSession: number) => string,
    private readonly options: { isTTY: boolean; intervalMs?: number; now?: () => number } = { isTTY: false },
  ) {
    this.startedAt = this.now();
  }

  update(snapshot: Snapshot, force = false): void {
    const now = this.now();
    this.startDone ??= snapshot.done;
    if (!force && now - this.lastPrintAt < (this.options.intervalMs ?? (this.options.isTTY ? 200 : 5000))) return;
    this.lastPrintAt = now;
    const line = this.render(snapshot, (now - this.startedAt) / 1000, snapshot.done - this.startDone);
    this.write(this.options.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
  }

  finish(snapshot: Snapshot): void {
    this.update(snapshot, true);
    if (this.options.isTTY) this.write("\n");
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }
}
