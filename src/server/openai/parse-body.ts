import type { z } from "zod";
import { AbortError, InvalidArgumentError } from "../../errors/index.js";
import { UnsupportedMediaTypeError } from "../http-errors.js";

/** "messages[0].role" from a zod path, so the 400 names the exact parameter like OpenAI does. */
export function formatParameterPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || "body";
}

/**
 * Deepest nesting a request body may have. The deepest legitimate bodies (a response_format schema,
 * conversation settings) stay far below it; deeper ones would only reach recursive code (schema to
 * grammar, zod, JSON.stringify) that can overflow the stack.
 */
export const maxJsonDepth = 128;

/** A lone UTF-16 surrogate: JSON allows "\ud800", UTF-8 (SQLite, llama.cpp) cannot hold it. */
const loneSurrogate = /[\uD800-\uDFFF]/u;

/**
 * Walks a parsed body once (iteratively: a 1 MiB body can nest 500,000 deep) and refuses what later
 * stages cannot keep exactly: nesting beyond maxJsonDepth, strings with unpaired surrogates (they
 * would be stored and tokenized as U+FFFD, so the logged prompt would differ from what was sent).
 */
export function assertStorableJson(value: unknown): void {
  // Each node links to its parent instead of carrying its own path: the path is only rebuilt for the
  // error, so a large body costs one small object per node rather than a copied path per node.
  interface Node {
    value: unknown;
    key: PropertyKey;
    parent: Node | undefined;
    depth: number;
  }
  const pathOf = (node: Node | undefined): PropertyKey[] => {
    const path: PropertyKey[] = [];
    for (let at = node; at?.parent; at = at.parent) path.push(at.key);
    return path.reverse();
  };
  const stack: Node[] = [{ value, key: "", parent: undefined, depth: 0 }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const { value: current, depth } = node;
    if (typeof current === "string") {
      if (loneSurrogate.test(current)) {
        const where = formatParameterPath(pathOf(node));
        throw new InvalidArgumentError(where, `invalid '${where}': the string contains an unpaired UTF-16 surrogate, which has no UTF-8 encoding`);
      }
      continue;
    }
    if (current === null || typeof current !== "object") continue;
    if (depth >= maxJsonDepth) {
      const where = formatParameterPath(pathOf(node));
      throw new InvalidArgumentError(where, `invalid '${where}': the request body nests deeper than ${maxJsonDepth} levels`);
    }
    if (Array.isArray(current)) {
      current.forEach((child, index) => stack.push({ value: child, key: index, parent: node, depth: depth + 1 }));
      continue;
    }
    for (const [key, child] of Object.entries(current)) {
      if (loneSurrogate.test(key)) {
        const where = formatParameterPath(pathOf(node));
        throw new InvalidArgumentError(where, `invalid '${where}': a key contains an unpaired UTF-16 surrogate`);
      }
      stack.push({ value: child, key, parent: node, depth: depth + 1 });
    }
  }
}

/**
 * Refuses JSON text nesting deeper than maxJsonDepth before JSON.parse sees it: V8 takes over a second
 * of CPU to parse a 1 MiB body of 500,000 brackets. One linear pass, skipping strings.
 */
export function assertJsonTextDepth(text: string): void {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 0x5c) index++; // backslash: skip the escaped character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x7b || code === 0x5b) {
      if (++depth > maxJsonDepth) throw new InvalidArgumentError("body", `the request body nests deeper than ${maxJsonDepth} levels`);
    } else if (code === 0x7d || code === 0x5d) depth--;
  }
}

/** Parses raw body text as JSON and validates it; every failure is an InvalidArgumentError. */
export function parseRequestBody<Schema extends z.ZodType>(text: string, schema: Schema): z.infer<Schema> {
  assertJsonTextDepth(text);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new InvalidArgumentError("body", `the request body is not valid JSON: ${detail}`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new InvalidArgumentError("body", "the request body must be a JSON object");
  }
  assertStorableJson(json);
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const parameter = formatParameterPath(issue.path);
  const missing = issue.code === "invalid_type" && (json as Record<string, unknown>)[String(issue.path[0])] === undefined && issue.path.length === 1;
  throw new InvalidArgumentError(parameter, missing ? `'${parameter}' is required` : `invalid '${parameter}': ${issue.message}`);
}

/** application/json and the structured +json types (application/merge-patch+json, ...). */
export function isJsonMediaType(contentType: string | undefined): boolean {
  const type = contentType?.split(";")[0].trim().toLowerCase();
  return type === "application/json" || (type !== undefined && /^application\/[a-z0-9.+-]+\+json$/.test(type));
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** What readJsonBody needs of a request: its content type and its bytes. */
export interface JsonBodySource {
  header(name: string): string | undefined;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * Reads and validates a JSON request body. Only a JSON content type is parsed (415 otherwise): a
 * web page can send text/plain or form bodies cross-origin without a CORS preflight, never JSON.
 * `emptyAs` is the body a route takes when none is sent (then a missing content type is fine).
 * Bytes that are not UTF-8 are refused rather than decoded to U+FFFD, so the log keeps what was sent.
 */
export async function readJsonBody<Schema extends z.ZodType>(request: JsonBodySource, schema: Schema, options: { emptyAs?: object } = {}): Promise<z.infer<Schema>> {
  const contentType = request.header("content-type");
  const json = isJsonMediaType(contentType);
  if (!json && !(options.emptyAs && contentType === undefined)) throw new UnsupportedMediaTypeError(contentType);
  let bytes: ArrayBuffer;
  try {
    bytes = await request.arrayBuffer();
  } catch (error) {
    // The client went away or missed the body deadline (Node has already answered 408): not a bug.
    throw new AbortError(`the client did not finish sending the request body (${error instanceof Error ? error.message : String(error)})`);
  }
  if (options.emptyAs && bytes.byteLength === 0) return parseRequestBody(JSON.stringify(options.emptyAs), schema);
  if (!json) throw new UnsupportedMediaTypeError(contentType);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new InvalidArgumentError("body", "the request body is not valid UTF-8");
  }
  return parseRequestBody(text.trim() === "" && options.emptyAs ? JSON.stringify(options.emptyAs) : text, schema);
}
