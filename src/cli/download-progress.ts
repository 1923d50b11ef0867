// The pull progress line: a bar, bytes, rate and ETA, redrawn in place on a terminal and printed
// at each quarter otherwise (logs stay short).
import { formatBytes } from "../gguf/describe.js";
import type { DownloadProgress } from "../hub/index.js";
import { progressBar } from "../train/progress.js";
import { formatDuration } from "../progress/progress.js";

export class DownloadProgressView {
  private startedAt: number | undefined;
  private lastDrawAt = 0;
  private lastQuarter = -1;
  private drawn = false;

  constructor(
    /** The model's name once the pull has resolved it. */
    public label: string,
    private readonly write: (text: string) => void,
    private readonly options: { isTTY: boolean; now?: () => number; intervalMs?: number },
  ) {}

  update(progress: DownloadProgress): void {
    const now = this.options.now?.() ?? Date.now();
    this.startedAt ??= now;
    const done = progress.total !== undefined && progress.downloaded >= progress.total;
    if (this.options.isTTY) {
      if (!done && now - this.lastDrawAt < (this.options.intervalMs ?? 100)) return;
      this.lastDrawAt = now;
      this.write(`\r\x1b[2K${this.line(progress, now)}`);
      this.drawn = true;
      return;
    }
    if (progress.total === undefined || progress.total === 0) return;
    const quarter = Math.floor((progress.downloaded / progress.total) * 4);
    if (quarter <= this.lastQuarter) return;
    this.lastQuarter = quarter;
    this.write(`${this.line(progress, now)}\n`);
  }

  /** Ends the in-place line so what follows starts on its own line. */
  finish(): void {
    if (this.drawn) this.write("\n");
    this.drawn = false;
  }

  line(progress: DownloadProgress, now: number): string {
    const seconds = Math.max(0, (now - (this.startedAt ?? now)) / 1000);
    // The rate counts only this run's bytes, so a resumed download's ETA is not flattered.
    const rate = seconds > 0 ? (progress.downloaded - progress.resumedFrom) / seconds : Number.NaN;
    const size = formatBytes(progress.downloaded, { exact: false });
    if (progress.total === undefined) return `${this.label} ${size}${Number.isFinite(rate) ? ` ${formatBytes(Math.round(rate), { exact: false })}/s` : ""}`;
    const fraction = progress.total > 0 ? Math.min(1, progress.downloaded / progress.total) : 1;
    const bar = progressBar(fraction);
    const eta = progress.downloaded >= progress.total ? formatDuration(0) : rate > 0 ? formatDuration((1000 * (progress.total - progress.downloaded)) / rate) : "?";
    const speed = Number.isFinite(rate) ? `${formatBytes(Math.round(rate), { exact: false })}/s` : "-";
    return `${this.label} [${bar}] ${Math.floor(fraction * 100)}% ${size} / ${formatBytes(progress.total, { exact: false })} ${speed} ETA ${eta}`;
  }
}
