import { existsSync, readFileSync } from "node:fs";
import { appendFile, mkdir, truncate } from "node:fs/promises";
import { dirname } from "node:path";
import type { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";

/**
 * Reads a JSONL file, validating every line; a bad line fails with its file, line number and the
 * field that is wrong. A torn last line (a run killed mid-write) is skipped when `allowTornTail`,
 * so a resumed stage redoes that one item instead of refusing to start.
 */
export function readJsonl<T>(path: string, schema: z.ZodType<T>, options: { allowTornTail?: boolean; parameter?: string } = {}): T[] {
  const parameter = options.parameter ?? path;
  if (!existsSync(path)) throw new InvalidArgumentError(parameter, `file not found: ${path}`);
  const lines = readFileSync(path, "utf8").split("\n");
  const rows: T[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].trim();
    if (line === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      const isLast = lines.slice(index + 1).every((rest) => rest.trim() === "");
      if (options.allowTornTail && isLast) break;
      throw new InvalidArgumentError(parameter, `${path}:${index + 1}: not valid JSON (${(error as Error).message})`, { cause: error });
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue.path.length > 0 ? ` field "${issue.path.join(".")}"` : "";
      throw new InvalidArgumentError(parameter, `${path}:${index + 1}:${field} ${issue.message}`);
    }
    rows.push(parsed.data);
  }
  return rows;
}

/** Reads a JSONL file that may not exist yet (a stage's output on its first run). */
export function readJsonlIfExists<T>(path: string, schema: z.ZodType<T>): T[] {
  return existsSync(path) ? readJsonl(path, schema, { allowTornTail: true }) : [];
}

/**
 * Appends rows one whole line at a time; each call is one write so a kill leaves at most one torn
 * line, which `readJsonl` with `allowTornTail` skips. Before the first append a torn line left at the
 * end by a killed run is cut off, so it never ends up in the middle of the file.
 */
export class JsonlAppender {
  private pending: Promise<void> = Promise.resolve();
  private prepared = false;

  constructor(readonly path: string) {}

  append(row: unknown): Promise<void> {
    this.pending = this.pending.then(async () => {
      if (!this.prepared) {
        await mkdir(dirname(this.path), { recursive: true });
        if (existsSync(this.path)) {
          const text = readFileSync(this.path, "utf8");
          if (text.length > 0 && !text.endsWith("\n")) await truncate(this.path, Buffer.byteLength(text.slice(0, text.lastIndexOf("\n") + 1)));
        }
        this.prepared = true;
      }
      await appendFile(this.path, `${JSON.stringify(row)}\n`);
    });
    return this.pending;
  }

  flush(): Promise<void> {
    return this.pending;
  }
}
