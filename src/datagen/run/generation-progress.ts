import { estimateRemainingMs, formatDuration, ProgressReporter } from "../../progress/progress.js";
import type { UsageTotals } from "../teacher/usage-meter.js";
import type { ProgressOutput } from "./run-options.js";

export interface ProgressSnapshot {
  label: string;
  done: number;
  total: number;
  counts: Record<string, number>;
  usage: UsageTotals;
}

/** The reporter for a datagen run's line (bar, ETA, counts per reason, tokens and cost), if progress is asked for. */
export function generationProgressReporter(output: ProgressOutput | undefined): ProgressReporter<ProgressSnapshot> | undefined {
  return output ? new ProgressReporter(output.write, formatProgress, { isTTY: output.isTTY, intervalMs: output.intervalMs }) : undefined;
}

export function formatProgress(snapshot: ProgressSnapshot, elapsedSeconds: number, doneThisSession: number): string {
  const fraction = snapshot.total > 0 ? Math.min(1, snapshot.done / snapshot.total) : 0;
  const width = 20;
  const filled = Math.round(fraction * width);
  const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
  const remaining = snapshot.total - snapshot.done;
  const remainingMs = elapsedSeconds > 0 ? estimateRemainingMs(elapsedSeconds * 1000, doneThisSession, remaining) : undefined;
  const eta = remaining <= 0 ? "done" : remainingMs !== undefined ? `ETA ${formatDuration(remainingMs)}` : "ETA ?";
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

function formatCount(value: number): string {
  return value >= 1e6 ? `${(value / 1e6).toFixed(1)}M` : value >= 1e3 ? `${(value / 1e3).toFixed(1)}K` : String(value);
}
