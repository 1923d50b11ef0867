import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "../../errors/index.js";
import { InvalidUtf8Error, NoUsableRowsError, NotRowsError, TruncatedJsonError } from "./data-file-errors.js";

export interface RawRow {
  line: number;
  /** Parsed value, or undefined when the row is not valid JSON (then `error` says why). */
  value?: unknown;
  error?: string;
}

export interface JsonRows {
  layout: "json" | "jsonl";
  rows: RawRow[];
}

/**
 * Reads a data file as rows: the bytes must be UTF-8 (else the offset of the first bad byte is
 * named), the JSON complete, the file a JSON array or JSONL, and at least one row valid JSON. Rows
 * that are not valid JSON are returned with their error, for the caller to report as file:line.
 * `parameter` is the flag that named the file, for the error.
 */
export function readRowsFile(path: string, parameter: string): JsonRows {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new InvalidArgumentError(parameter, `cannot read ${path}: ${(error as Error).message}`);
  }
  const result = readJsonRows(decodeUtf8(bytes, path, parameter), path, parameter);
  if (result.rows.length === 0) throw new NoUsableRowsError(parameter, path, "the file holds no rows");
  const firstGood = result.rows.find((row) => row.error === undefined);
  if (!firstGood) throw new NoUsableRowsError(parameter, path, `none of its ${result.rows.length} rows is valid JSON; first: line ${result.rows[0].line}: ${result.rows[0].error}`);
  return result;
}

/** Strict UTF-8 (a BOM is dropped): Node's lenient decoding would turn bad bytes into U+FFFD silently. */
export function decodeUtf8(bytes: Uint8Array, file: string, parameter: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    let line = 1;
    for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
    throw new InvalidUtf8Error(parameter, file, offset, line);
  }
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629), or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i];
    if (lead < 0x80) {
      i++;
      continue;
    }
    const length = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (length === 0 || i + length > bytes.length) return i;
    let codePoint = lead & (0x7f >> length);
    for (let k = 1; k < length; k++) {
      const next = bytes[i + k];
      if ((next & 0xc0) !== 0x80) return i;
      codePoint = (codePoint << 6) | (next & 0x3f);
    }
    const shortest = [0, 0, 0x80, 0x800, 0x10000][length];
    if (codePoint < shortest || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) return i;
    i += length;
  }
  return -1;
}

/**
 * The rows of a JSON array file or a JSONL file, each with the line it starts on, so that a bad row
 * can be reported as file:line. A JSON array is scanned for its top-level elements (strings and
 * nesting tracked), and each element is parsed on its own: one bad element does not hide the others.
 * A file that ends before its JSON does, or that holds one object instead of rows, is an error.
 */
export function readJsonRows(text: string, file: string, parameter = "in"): JsonRows {
  const start = text.search(/\S/);
  if (start >= 0 && text[start] === "[") return { layout: "json", rows: splitJsonArray(text, start, file, parameter) };
  const rows: RawRow[] = [];
  const lines = text.split("\n");
  lines.forEach((line, index) => {
    if (line.trim() === "") return;
    try {
      rows.push({ line: index + 1, value: JSON.parse(line) });
    } catch (error) {
      rows.push({ line: index + 1, error: `not valid JSON (${(error as Error).message})` });
    }
  });
  if (rows.some((row) => row.error !== undefined)) {
    const whole = parseOrUndefined(text);
    if (whole !== undefined && !Array.isArray(whole)) {
      const arrays = whole && typeof whole === "object" ? Object.entries(whole).filter(([, value]) => Array.isArray(value)).map(([key]) => `"${key}"`) : [];
      throw new NotRowsError(parameter, file, `the file holds one JSON ${whole === null ? "null" : typeof whole}${arrays.length ? ` (its ${arrays.join(", ")} field holds an array: extract it)` : ""}`);
    }
    const last = rows.at(-1)!;
    const lastLine = lines[last.line - 1];
    if (last.error !== undefined && !text.endsWith("\n") && endsEarly(lastLine)) throw new TruncatedJsonError(parameter, file, last.line, "the last row stops mid-value");
  }
  return { layout: "jsonl", rows };
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Whether JSON.parse failed only because the text ran out (not because of a wrong character). */
function endsEarly(source: string): boolean {
  try {
    JSON.parse(source);
    return false;
  } catch (error) {
    const message = (error as Error).message;
    if (/end of JSON input|Unterminated string/i.test(message)) return true;
    const position = /position (\d+)/.exec(message);
    return position !== null && Number(position[1]) >= source.trimEnd().length;
  }
}

function splitJsonArray(text: string, open: number, file: string, parameter: string): RawRow[] {
  const rows: RawRow[] = [];
  let line = 1;
  for (let i = 0; i < open; i++) if (text[i] === "\n") line++;
  const openLine = line;
  let depth = 0;
  let inString = false;
  let elementStart = -1;
  let elementLine = line;
  let closed = false;
  let closeAt = text.length;
  const finishElement = (end: number) => {
    const source = text.slice(elementStart, end).trim();
    if (source.length === 0) return;
    try {
      rows.push({ line: elementLine, value: JSON.parse(source) });
    } catch (error) {
      rows.push({ line: elementLine, error: `not valid JSON (${(error as Error).message})` });
    }
  };
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (c === "\n") line++;
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (elementStart < 0 && !/\s/.test(c) && !(depth === 0 && (c === "," || c === "]"))) {
      elementStart = i;
      elementLine = line;
    }
    if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || (c === "]" && depth > 0)) depth--;
    else if (depth === 0 && (c === "," || c === "]")) {
      if (elementStart >= 0) finishElement(i);
      elementStart = -1;
      if (c === "]") {
        closed = true;
        closeAt = i;
        break;
      }
    }
  }
  if (!closed && elementStart >= 0 && text.trimEnd().endsWith("]")) {
    // The array does end: one broken row (an unclosed brace) swallowed the rest, which is that row's problem.
    rows.push({ line: elementLine, error: "not valid JSON (unbalanced brackets or quotes up to the end of the array)" });
  } else if (!closed) {
    const where = elementStart >= 0 ? `the row starting on line ${elementLine} is cut off` : `the JSON array opened on line ${openLine} is not closed`;
    throw new TruncatedJsonError(parameter, file, elementStart >= 0 ? elementLine : line, inString ? `${where} inside a string` : where);
  }
  if (text.slice(closeAt + 1).trim() !== "") rows.push({ line, error: "text after the closing ] of the JSON array" });
  return rows;
}
