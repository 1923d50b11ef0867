import { InvalidArgumentError } from "../../errors/index.js";

export interface RawRow {
  line: number;
  /** Parsed value, or undefined when the row is not valid JSON (then `error` says why). */
  value?: unknown;
  error?: string;
}

/**
 * The rows of a JSON array file or a JSONL file, each with the line it starts on, so that a bad row
 * can be reported as file:line. A JSON array is scanned for its top-level elements (strings and
 * nesting tracked), and each element is parsed on its own: one bad element does not hide the others.
 */
export function readJsonRows(text: string, file: string): { layout: "json" | "jsonl"; rows: RawRow[] } {
  const start = text.search(/\S/);
  if (start >= 0 && text[start] === "[") return { layout: "json", rows: splitJsonArray(text, start, file) };
  const rows: RawRow[] = [];
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    try {
      rows.push({ line: index + 1, value: JSON.parse(line) });
    } catch (error) {
      rows.push({ line: index + 1, error: `not valid JSON (${(error as Error).message})` });
    }
  });
  return { layout: "jsonl", rows };
}

function splitJsonArray(text: string, open: number, file: string): RawRow[] {
  const rows: RawRow[] = [];
  let line = 1;
  for (let i = 0; i < open; i++) if (text[i] === "\n") line++;
  let depth = 0;
  let inString = false;
  let elementStart = -1;
  let elementLine = line;
  let closed = false;
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
        break;
      }
    }
  }
  if (!closed) {
    if (elementStart >= 0) rows.push({ line: elementLine, error: "the JSON array is not closed (file truncated?)" });
    else if (rows.length === 0) throw new InvalidArgumentError("input", `${file}: the JSON array is not closed`);
  }
  return rows;
}
