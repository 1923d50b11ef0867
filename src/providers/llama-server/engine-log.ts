import { appendFileSync, mkdirSync, renameSync, statSync } from "node:fs";
import { dirname } from "node:path";

export const DEFAULT_ENGINE_LOG_BYTES = 8 * 1024 * 1024;

/**
 * One model's llama-server output (and camelid's notes on its process: starts, exits, restarts) in one
 * file, capped: past `maxBytes` the file moves to `<path>.1` (replacing the older one) and a fresh one
 * starts, so a long-running server keeps at most twice the cap on disk. The last lines stay in memory
 * too, for error messages ("exited before it was ready: <its last words>").
 */
export class EngineLog {
  private size: number;
  private readonly recent: string[] = [];
  private partialLine = "";

  constructor(
    readonly path: string,
    private readonly maxBytes = DEFAULT_ENGINE_LOG_BYTES,
    private readonly keptLines = 30,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.size = (() => {
      try {
        return statSync(path).size;
      } catch {
        return 0;
      }
    })();
  }

  /** Output of the process, as it arrives (chunks may split lines). */
  write(chunk: Buffer | string): void {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (this.size > 0 && this.size + bytes.length > this.maxBytes) this.rotate();
    appendFileSync(this.path, bytes);
    this.size += bytes.length;
    const lines = (this.partialLine + bytes.toString("utf8")).split("\n");
    this.partialLine = lines.pop() ?? "";
    for (const line of lines) this.remember(line);
  }

  /** A line of camelid's own about the process, marked as such. */
  note(line: string): void {
    this.write(`camelid: ${new Date().toISOString()} ${line}\n`);
  }

  /** The last lines written (the unfinished one included). */
  tail(lines = this.keptLines): string {
    return [...this.recent, ...(this.partialLine ? [this.partialLine] : [])].slice(-lines).join("\n");
  }

  private remember(line: string): void {
    this.recent.push(line);
    if (this.recent.length > this.keptLines) this.recent.shift();
  }

  private rotate(): void {
    renameSync(this.path, `${this.path}.1`);
    this.size = 0;
  }
}
