import { writeFileSync } from "node:fs";
import { InvalidArgumentError } from "../../errors/index.js";
import { decodeConversation, decodePreference, encodeConversation, encodePreference, RowFormatError } from "./codecs.js";
import { NoUsableRowsError } from "./data-file-errors.js";
import { readRowsFile } from "./json-rows.js";
import type { Conversation, Dataset, DatasetFormat, PreferencePair, RowProblem } from "./records.js";

/** Guesses a file's format from its first well-formed row. */
export function detectFormat(value: unknown): DatasetFormat | undefined {
  if (!value || typeof value !== "object") return undefined;
  const keys = new Set(Object.keys(value));
  if ((keys.has("conversations") || keys.has("prompt")) && keys.has("chosen") && keys.has("rejected")) return "dpo";
  if (keys.has("conversations")) return "sharegpt";
  if (keys.has("messages")) return "openai";
  if (keys.has("instruction") && keys.has("response")) return "dolly";
  if (keys.has("instruction") && keys.has("output")) return "alpaca";
  return undefined;
}

export class MalformedRowsError extends InvalidArgumentError {
  constructor(readonly problems: RowProblem[]) {
    super("input", `${problems.length} malformed row${problems.length === 1 ? "" : "s"}; first: ${problems[0].file}:${problems[0].line}: ${problems[0].message}`);
  }
}

/**
 * Reads a dataset (JSON array or JSONL) in a given or detected format. Malformed rows are collected
 * with file:line; `strict` turns any of them into an error, otherwise they are skipped. A file that
 * cannot be read as rows (bad UTF-8, truncated JSON, one object) or has no usable row is an error.
 */
export function readDataset(path: string, options: { format?: DatasetFormat; strict?: boolean } = {}): Dataset {
  const { rows } = readRowsFile(path, "in");
  const format = options.format ?? rows.map((row) => detectFormat(row.value)).find((f) => f !== undefined);
  if (!format) throw new InvalidArgumentError("format", `${path}: cannot tell the format from its rows; pass --from alpaca|sharegpt|openai|dolly|dpo`);
  const problems: RowProblem[] = [];
  const conversations: Conversation[] = [];
  const pairs: PreferencePair[] = [];
  for (const row of rows) {
    if (row.error !== undefined) {
      problems.push({ file: path, line: row.line, message: row.error });
      continue;
    }
    try {
      if (format === "dpo") pairs.push(decodePreference(row.value));
      else conversations.push(decodeConversation(format, row.value));
    } catch (error) {
      if (!(error instanceof RowFormatError)) throw error;
      problems.push({ file: path, line: row.line, message: error.message });
    }
  }
  if (options.strict && problems.length > 0) throw new MalformedRowsError(problems);
  if (conversations.length === 0 && pairs.length === 0) {
    throw new NoUsableRowsError("in", path, `all ${problems.length} rows are malformed as ${format}; first: line ${problems[0].line}: ${problems[0].message}`);
  }
  return format === "dpo" ? { kind: "preferences", format, records: pairs, problems } : { kind: "conversations", format, records: conversations, problems };
}

/** `.jsonl` → one row per line; anything else → a JSON array (pretty, as the published sets are). */
export function serializeRows(rows: unknown[], path: string): string {
  if (path.endsWith(".jsonl")) return rows.map((row) => `${JSON.stringify(row)}\n`).join("");
  return `${JSON.stringify(rows, null, 2)}\n`;
}

export interface ConversionResult {
  written: number;
  /** Records the target format cannot hold (e.g. a multi-turn conversation as Dolly), with why. */
  skipped: { index: number; message: string }[];
}

export function encodeDataset(dataset: Dataset, format: DatasetFormat): { rows: unknown[]; skipped: ConversionResult["skipped"] } {
  const rows: unknown[] = [];
  const skipped: ConversionResult["skipped"] = [];
  if (dataset.kind === "preferences") {
    dataset.records.forEach((pair, index) => {
      if (format === "dpo") rows.push(encodePreference(pair));
      else {
        // A preference pair as SFT data: the conversation with the chosen reply.
        const conversation: Conversation = { id: pair.id, system: pair.system, turns: [...pair.turns, { role: "assistant", content: pair.chosen }], extra: pair.extra };
        try {
          rows.push(encodeConversation(format, conversation));
        } catch (error) {
          if (!(error instanceof RowFormatError)) throw error;
          skipped.push({ index, message: error.message });
        }
      }
    });
    return { rows, skipped };
  }
  if (format === "dpo") throw new InvalidArgumentError("to", "conversations have no rejected replies: they cannot become DPO pairs");
  dataset.records.forEach((record, index) => {
    try {
      rows.push(encodeConversation(format, record));
    } catch (error) {
      if (!(error instanceof RowFormatError)) throw error;
      skipped.push({ index, message: error.message });
    }
  });
  return { rows, skipped };
}

export function writeDataset(path: string, dataset: Dataset, format: DatasetFormat): ConversionResult {
  const { rows, skipped } = encodeDataset(dataset, format);
  writeFileSync(path, serializeRows(rows, path));
  return { written: rows.length, skipped };
}
