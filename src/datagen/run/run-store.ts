import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, truncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError } from "../../errors/index.js";
import { writeFileAtomic } from "../../files/atomic-write.js";
import { shortHash } from "../../hashing/content-hash.js";

/**
 * A resumable run directory. Rows go to append-only JSONL files; after each unit of work a progress
 * record — the byte length of every output file plus the run's own state — replaces `progress.json`
 * atomically (write to a temporary file, fsync, rename). Resuming truncates every output file to its
 * recorded length, so rows written after the last record (a kill mid-batch, a torn line) vanish and
 * their work is redone: nothing is duplicated and nothing is lost.
 */
const progressSchema = z.object({
  version: z.literal(1),
  /** What the run was started with; a resume with different settings is refused. */
  settings: z.record(z.string(), z.unknown()),
  /** Content hashes of the run's inputs (seed tasks, template, …) by name; absent in records of older versions. */
  inputs: z.record(z.string(), z.string()).optional(),
  fileBytes: z.record(z.string(), z.number().int().nonnegative()),
  state: z.unknown(),
  updatedAt: z.string(),
});

export class RunStore<State> {
  private constructor(
    readonly directory: string,
    private readonly files: string[],
    private readonly settings: Record<string, unknown>,
    private readonly inputs: Record<string, string>,
    private fileBytes: Record<string, number>,
    public state: State,
    readonly resumed: boolean,
  ) {}

  /**
   * Opens (or starts) a run in `directory`. `settings` must be JSON; when a progress record exists
   * its settings must equal these (a changed flag would silently mix two different runs), and so must
   * the content hashes of its `inputs` (named as the user knows them, e.g. "seed tasks (--seed-tasks)").
   */
  static open<State>(directory: string, files: string[], settings: Record<string, unknown>, initialState: State, stateSchema: z.ZodType<State>, inputs: Record<string, string> = {}): RunStore<State> {
    mkdirSync(directory, { recursive: true });
    const progressPath = join(directory, "progress.json");
    if (!existsSync(progressPath)) {
      for (const file of files) {
        const path = join(directory, file);
        if (existsSync(path) && statSync(path).size > 0) {
          throw new ConfigError(`${path} already has rows but there is no progress.json beside it: use a new output directory (or delete the file)`);
        }
      }
      const store = new RunStore(directory, files, settings, inputs, Object.fromEntries(files.map((f) => [f, 0])), initialState, false);
      for (const file of files) closeSync(openSync(join(directory, file), "a"));
      store.writeProgress();
      return store;
    }
    let record: z.infer<typeof progressSchema>;
    try {
      record = progressSchema.parse(JSON.parse(readFileSync(progressPath, "utf8")));
    } catch (error) {
      throw new ConfigError(`${progressPath} is not a valid progress record: ${(error as Error).message}`);
    }
    // Inputs first: a changed file is the likelier cause, and its name says more than a derived setting (seedCount).
    const changedInputs = inputsDifference(record.inputs, inputs);
    if (changedInputs.length > 0) {
      throw new ConfigError(`${directory} holds a run made from different input: ${changedInputs.join("; ")}. Restore the original input to resume, or use a new output directory`);
    }
    const changed = settingsDifference(record.settings, settings);
    if (changed.length > 0) {
      throw new ConfigError(`${directory} holds a run started with different settings (${changed.join(", ")}); resume with the same flags or use a new output directory`);
    }
    const stateParse = stateSchema.safeParse(record.state);
    if (!stateParse.success) throw new ConfigError(`${progressPath}: state is invalid: ${stateParse.error.issues[0]?.message}`);
    for (const file of files) {
      const path = join(directory, file);
      const recorded = record.fileBytes[file] ?? 0;
      const actual = existsSync(path) ? statSync(path).size : 0;
      if (actual < recorded) throw new ConfigError(`${path} is shorter (${actual} bytes) than its progress record (${recorded}): the file was changed outside the run`);
      if (!existsSync(path)) closeSync(openSync(path, "a"));
      else if (actual > recorded) truncateSync(path, recorded);
    }
    return new RunStore(directory, files, settings, inputs, { ...Object.fromEntries(files.map((f) => [f, 0])), ...record.fileBytes }, stateParse.data, true);
  }

  path(file: string): string {
    return join(this.directory, file);
  }

  /** Rows already committed to `file`, parsed. */
  readRows(file: string): unknown[] {
    const text = readFileSync(this.path(file), "utf8");
    return text.split("\n").filter((line) => line.length > 0).map((line) => JSON.parse(line));
  }

  /** Appends rows and records the new state in one atomic progress update. */
  commit(appends: Record<string, unknown[]>, state: State): void {
    for (const [file, rows] of Object.entries(appends)) {
      if (!this.files.includes(file)) throw new Error(`internal: ${file} is not one of this run's files`);
      if (rows.length === 0) continue;
      const data = Buffer.from(rows.map((row) => `${JSON.stringify(row)}\n`).join(""), "utf8");
      const fd = openSync(this.path(file), "a");
      try {
        writeSync(fd, data);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      this.fileBytes[file] += data.length;
    }
    this.state = state;
    this.writeProgress();
  }

  private writeProgress(): void {
    const record = { version: 1, settings: this.settings, inputs: this.inputs, fileBytes: this.fileBytes, state: this.state, updatedAt: new Date().toISOString() };
    const target = join(this.directory, "progress.json");
    writeFileAtomic(target, JSON.stringify(record, null, 1), { temporary: `${target}.tmp` });
  }
}

function settingsDifference(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key])).map((key) => `${key}: ${JSON.stringify(before[key])} → ${JSON.stringify(after[key])}`);
}

/** A record from before inputs were fingerprinted knows none: it resumes and records them from now on. */
function inputsDifference(before: Record<string, string> | undefined, after: Record<string, string>): string[] {
  if (before === undefined) return [];
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names]
    .filter((name) => before[name] !== after[name])
    .map((name) => `${name} changed since the run started (sha256 ${before[name] ? shortHash(before[name]) : "none"} → ${after[name] ? shortHash(after[name]) : "none"})`);
}
