import type { UsageTotals } from "../teacher/usage-meter.js";

export interface ProgressSnapshot {
  label: string;
  done: number;
  total: number;
  counts: Record<string, number>;
  usage: UsageTotals;
}

/**
 * One progress line (bar, rate, ETA, counts per reason, tokens and cost), redrawn in place on a
 * terminal and printed at most every `intervalMs` otherwise. The rate counts only this session's
 * work, so a resumed run's ETA is not flattered by rows done before the kill.
 */
export class ProgressReporter {
  private readonly startedAt = Date.now();
  private lastPrintAt = 0;
  private startDone: number | undefined;

  constructor(
    private readonly write: (text: string) => void,
    private readonly options: { isTTY: boolean; intervalMs?: number; now?: () => number } = { isTTY: false },
  ) {}

  update(snapshot: ProgressSnapshot, force = false): void {
    const now = this.options.now?.() ?? Date.now();
    this.startDone ??= snapshot.done;
    if (!force && now - this.lastPrintAt < (this.options.intervalMs ?? (this.options.isTTY ? 200 : 5000))) return;
    this.lastPrintAt = now;
    const line = formatProgress(snapshot, (now - this.startedAt) / 1000, snapshot.done - this.startDone);
    this.write(this.options.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
  }

  finish(snapshot: ProgressSnapshot): void {
    this.update(snapshot, true);
    if (this.options.isTTY) this.write("\n");
  }
}

export function formatProgress(snapshot: ProgressSnapshot, elapsedSeconds: number, doneThisSession: number): string {
  const fraction = snapshot.total > 0 ? Math.min(1, snapshot.done / snapshot.total) : 0;
  const width = 20;
  const filled = Math.round(fraction * width);
  const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
  const rate = elapsedSeconds > 0 ? doneThisSession / elapsedSeconds : 0;
  const remaining = snapshot.total - snapshot.done;
  const eta = remaining <= 0 ? "done" : rate > 0 ? `ETA ${formatDuration(remaining / rate)}` : "ETA ?";
  const counts = Object.entries(snapshot.counts)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(", ");
  const usage = snapshot.usage;
  const cost = usage.estimatedCostUsd === undefined ? "cost ? (no price)" : `$${usage.estimatedCostUsd.toFixed(4)}`;
  const tokens = `${formatCount(usage.promptTokens)}+${formatCount(usage.completionTokens)} tok`;
  const retries = usage.retries > 0 ? `, ${usage.retries} retries (${usage.rateLimited} rate-limited)` : "";
  return `${snapshot.label} ${bar} ${snapshot.done}/${snapshot.total} ${(fraction * 100).toFixed(0)}% ${eta} | ${counts || "-"} | ${usage.requests} req${retries}, ${tokens}, ${cost}`;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, "0")}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, "0")}m`;
}

function formatCount(value: number): string {
  return value >= 1e6 ? `${(value / 1e6).toFixed(1)}M` : value >= 1e3 ? `${(value / 1e3).toFixed(1)}K` : String(value);
}
