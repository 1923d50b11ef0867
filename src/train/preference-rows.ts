import { readFileSync } from "node:fs";
import { z } from "zod";
import { InvalidArgumentError } from "../errors/index.js";
import { decodePreference, RowFormatError } from "../datagen/formats/codecs.js";
import { NoUsableRowsError } from "../datagen/formats/data-file-errors.js";
import { firstInvalidUtf8, readJsonRows, type RawRow } from "../datagen/formats/json-rows.js";
import type { ChatMessage } from "../spec/messages.js";
import { trainableMessages } from "./dataset.js";
import type { SampleProblem } from "./prepare-data.js";

/**
 * The preference layouts read: LLaMA-Factory's ranking rows (dataset_info `ranking: true`: ShareGPT
 * columns conversations/chosen/rejected with from/value tags, as dpo_en_demo.json, or Alpaca columns
 * instruction/input/chosen/rejected with optional system and history), trl's
 * prompt/chosen/rejected (plain strings, or message lists with an explicit or implicit prompt) and
 * camelid's arena export (/api/arena/export/preferences.jsonl: prompt, chosen, rejected, system, history).
 */
export const preferenceDataFormats = ["llama-factory", "trl", "arena"] as const;
export type PreferenceDataFormat = (typeof preferenceDataFormats)[number];

/** One preference pair, whatever file layout it came from, with where it came from. */
export interface PreferenceExample {
  file: string;
  line: number;
  format: PreferenceDataFormat;
  /** The conversation up to the answer: optional system message, then turns ending with a user turn. */
  prompt: ChatMessage[];
  chosen: string;
  rejected: string;
  /** How much better chosen is (trl's RewardTrainer `margin`, LLaMA-2's preference strength), when the row says. */
  margin?: number;
}

export interface PreferenceRows {
  format: PreferenceDataFormat;
  pairs: PreferenceExample[];
  /** Rows left out (not JSON, invalid UTF-8, a missing field, an empty or identical answer), with file:line. */
  problems: SampleProblem[];
}

/** LLaMA-Factory's Alpaca-style ranking row: its converter joins instruction and input with one "\n". */
const llamaFactoryAlpacaRow = z
  .object({ instruction: z.string(), input: z.string().optional(), chosen: z.string(), rejected: z.string(), system: z.string().optional(), history: z.array(z.tuple([z.string(), z.string()])).optional() })
  .loose();
/** LLaMA-Factory takes chosen/rejected only from the assistant's side (its default assistant tag is "gpt"). */
const assistantTags = new Set(["gpt", "assistant"]);

const trlMessage = z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() }).loose();
const trlSide = z.union([z.string(), z.array(trlMessage).min(1)]);
const margin = z.number().finite().optional();
const trlRow = z.object({ prompt: z.union([z.string(), z.array(trlMessage).min(1)]).optional(), chosen: trlSide, rejected: trlSide, margin }).loose();
const arenaRow = z
  .object({
    prompt: z.string(),
    chosen: z.string(),
    rejected: z.string(),
    system: z.string().optional(),
    history: z.array(z.tuple([z.string(), z.string()])).optional(),
    battle_id: z.string().optional(),
    margin,
  })
  .loose();

/** The row's layout from its keys: the arena's own fields first (its rows also have trl's three). */
export function detectPreferenceFormat(value: unknown): PreferenceDataFormat | undefined {
  if (!value || typeof value !== "object" || Array.isArray(value)) return undefined;
  const keys = new Set(Object.keys(value));
  if (!keys.has("chosen") || !keys.has("rejected")) return undefined;
  if (keys.has("conversations") || keys.has("instruction")) return "llama-factory";
  if (keys.has("battle_id") || keys.has("chosen_model") || keys.has("history")) return "arena";
  return "trl";
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0];
  // zod words an absent key as a type or union mismatch; the row's author wants to hear it is missing
  let at: unknown = value;
  for (const key of first.path) at = at && typeof at === "object" ? (at as Record<PropertyKey, unknown>)[key] : undefined;
  throw new RowFormatError(`${first.path.join(".") || "row"}: ${at === undefined ? "missing field" : first.message}`);
}

/** trl's conversational answer: one assistant message (a string is the plain form). */
function answerText(side: z.infer<typeof trlSide>, name: string): string {
  if (typeof side === "string") return side;
  if (side.length !== 1 || side[0].role !== "assistant") throw new RowFormatError(`${name}: expected one assistant message, got ${side.map((message) => message.role).join(", ")}`);
  return side[0].content;
}

const asMessages = (list: z.infer<typeof trlMessage>[]): ChatMessage[] => list.map((message) => ({ role: message.role, content: message.content }));

function decodeRow(format: PreferenceDataFormat, value: unknown): Omit<PreferenceExample, "file" | "line" | "format"> {
  switch (format) {
    case "llama-factory": {
      if (value && typeof value === "object" && "instruction" in value) {
        const row = parseWith(llamaFactoryAlpacaRow, value);
        const prompt: ChatMessage[] = row.system ? [{ role: "system", content: row.system }] : [];
        for (const [user, assistant] of row.history ?? []) prompt.push({ role: "user", content: user }, { role: "assistant", content: assistant });
        prompt.push({ role: "user", content: [row.instruction, row.input ?? ""].filter((part) => part !== "").join("\n") });
        return { prompt, chosen: row.chosen, rejected: row.rejected };
      }
      const pair = decodePreference(value);
      for (const side of ["chosen", "rejected"] as const) {
        const from = (value as Record<string, { from: string }>)[side].from;
        if (!assistantTags.has(from.toLowerCase())) throw new RowFormatError(`${side}.from: "${from}" is not the assistant's tag (gpt)`);
      }
      return { prompt: trainableMessages(pair.system, pair.turns), chosen: pair.chosen, rejected: pair.rejected };
    }
    case "trl": {
      const row = parseWith(trlRow, value);
      let prompt: ChatMessage[];
      let chosen = row.chosen, rejected = row.rejected;
      if (row.prompt === undefined) {
        // trl's implicit prompt: chosen and rejected are whole conversations; the shared head is the prompt
        if (typeof chosen === "string" || typeof rejected === "string") throw new RowFormatError("prompt: missing field");
        let shared = 0;
        while (shared < chosen.length - 1 && shared < rejected.length - 1 && JSON.stringify(chosen[shared]) === JSON.stringify(rejected[shared])) shared++;
        prompt = asMessages(chosen.slice(0, shared));
        chosen = chosen.slice(shared);
        rejected = rejected.slice(shared);
      } else prompt = typeof row.prompt === "string" ? [{ role: "user", content: row.prompt }] : asMessages(row.prompt);
      return { prompt, chosen: answerText(chosen, "chosen"), rejected: answerText(rejected, "rejected"), ...(row.margin !== undefined ? { margin: row.margin } : {}) };
    }
    case "arena": {
      const row = parseWith(arenaRow, value);
      const prompt: ChatMessage[] = row.system ? [{ role: "system", content: row.system }] : [];
      for (const [user, assistant] of row.history ?? []) prompt.push({ role: "user", content: user }, { role: "assistant", content: assistant });
      prompt.push({ role: "user", content: row.prompt });
      return { prompt, chosen: row.chosen, rejected: row.rejected, ...(row.margin !== undefined ? { margin: row.margin } : {}) };
    }
  }
}

/** A pair that cannot teach a preference: said at the row, before any tokenization. */
function pairProblem(pair: Omit<PreferenceExample, "file" | "line" | "format">): string | undefined {
  const last = pair.prompt.at(-1);
  if (!last || last.role !== "user") return `the prompt must end with a user turn (it ends with ${last ? `${last.role === "assistant" ? "an" : "a"} ${last.role} turn` : "nothing"})`;
  if (pair.chosen.trim() === "") return "the chosen answer is empty";
  if (pair.rejected.trim() === "") return "the rejected answer is empty";
  if (pair.chosen === pair.rejected) return "the chosen and rejected answers are identical";
  return undefined;
}

/**
 * Lines holding bytes that are not UTF-8, with the first bad byte's offset. Decoding is per row here,
 * not per file: one bad row of a preference export is that row's problem, not the end of the run.
 */
function invalidUtf8Lines(bytes: Uint8Array): Map<number, number> {
  const lines = new Map<number, number>();
  let line = 1, scanned = 0, offset = 0;
  while (offset < bytes.length) {
    const bad = firstInvalidUtf8(bytes.subarray(offset));
    if (bad < 0) break;
    const at = offset + bad;
    for (; scanned < at; scanned++) if (bytes[scanned] === 0x0a) line++;
    if (!lines.has(line)) lines.set(line, at);
    offset = at + 1;
  }
  return lines;
}

/** The rows of the file, each row that spans a line with invalid UTF-8 turned into that row's error. */
function readRows(path: string): RawRow[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new InvalidArgumentError("data", `cannot read ${path}: ${(error as Error).message}`);
  }
  const badLines = invalidUtf8Lines(bytes);
  const { rows } = readJsonRows(new TextDecoder("utf-8").decode(bytes), path, "data");
  if (badLines.size === 0) return rows;
  return rows.map((row, index) => {
    const end = rows[index + 1]?.line ?? Number.POSITIVE_INFINITY;
    const bad = [...badLines].find(([line]) => line >= row.line && line < end);
    return bad ? { line: row.line, error: `invalid UTF-8 at byte ${bad[1]} (line ${bad[0]}); re-encode the file as UTF-8` } : row;
  });
}

/**
 * Reads a preference file (JSON array or JSONL) as normalised pairs, the layout given or detected from
 * its first recognisable row. Every unusable row is a problem with file:line, never an exception; a file
 * with no usable pair is a NoUsableRowsError (the command exits non-zero).
 */
export function readPreferencePairs(path: string, options: { format?: PreferenceDataFormat } = {}): PreferenceRows {
  const rows = readRows(path);
  const format = options.format ?? rows.map((row) => detectPreferenceFormat(row.value)).find((found) => found !== undefined);
  if (format === undefined) {
    throw new NoUsableRowsError("data", path, `no row has chosen and rejected answers (preference layouts: ${preferenceDataFormats.join(", ")})`);
  }
  const pairs: PreferenceExample[] = [];
  const problems: SampleProblem[] = [];
  for (const row of rows) {
    const problem = (message: string) => problems.push({ file: path, line: row.line, message });
    if (row.error !== undefined) {
      problem(row.error);
      continue;
    }
    try {
      const decoded = decodeRow(format, row.value);
      const why = pairProblem(decoded);
      if (why) problem(why);
      else pairs.push({ file: path, line: row.line, format, ...decoded });
    } catch (error) {
      if (!(error instanceof RowFormatError)) throw error;
      problem(error.message);
    }
  }
  if (pairs.length === 0) throw new NoUsableRowsError("data", path, noPairsDetail(rows.length, problems));
  return { format, pairs, problems };
}

export const noPairsDetail = (count: number, problems: readonly SampleProblem[]) =>
  `none of its ${count} preference row(s) is usable${problems[0] ? `; first: ${problems[0].file}:${problems[0].line}: ${problems[0].message}` : ""}`;
