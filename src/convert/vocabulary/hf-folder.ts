// The files of a Hugging Face model folder that the vocabulary is read from, each read once,
// with errors that name the file and what is wrong with it.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { TokenizerFileError } from "../../errors/index.js";

export type JsonObject = Record<string, unknown>;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

async function readOptionalBytes(path: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new TokenizerFileError(path, "malformed", `cannot read: ${(error as Error).message}`, { cause: error });
  }
}

/** Offset of the first byte that does not start a valid UTF-8 sequence (the input is known to be invalid). */
function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let offset = 0;
  while (offset < bytes.length) {
    const lead = bytes[offset];
    const length = lead < 0x80 ? 1 : lead >= 0xc2 && lead < 0xe0 ? 2 : lead >= 0xe0 && lead < 0xf0 ? 3 : lead >= 0xf0 && lead < 0xf5 ? 4 : 0;
    if (length === 0) return offset;
    try {
      utf8.decode(bytes.subarray(offset, offset + length));
    } catch {
      return offset;
    }
    offset += length;
  }
  return offset;
}

export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    throw new TokenizerFileError(file, "invalid_utf8", `is not valid UTF-8 (bad byte sequence at offset ${firstInvalidUtf8Offset(bytes)})`, { cause });
  }
}

/** A folder's JSON file parsed, undefined when it does not exist. */
async function readOptionalJson(path: string): Promise<unknown> {
  const bytes = await readOptionalBytes(path);
  if (bytes === undefined) return undefined;
  const text = decodeUtf8(bytes, path);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new TokenizerFileError(path, "malformed", `is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

async function readOptionalJsonObject(path: string): Promise<JsonObject | undefined> {
  const value = await readOptionalJson(path);
  if (value === undefined) return undefined;
  if (!isJsonObject(value)) throw new TokenizerFileError(path, "malformed", "must hold a JSON object");
  return value;
}

/** Everything the vocabulary conversion reads from a model folder. */
export interface HfTokenizerFiles {
  folder: string;
  path(name: string): string;
  config?: JsonObject;
  tokenizerJson?: JsonObject;
  tokenizerConfig?: JsonObject;
  sentencePieceModel?: Uint8Array;
  addedTokensJson?: JsonObject;
  chatTemplateJinja?: string;
  /** additional_chat_templates/NAME.jinja beside chat_template.jinja, sorted by name. */
  additionalChatTemplates: { name: string; template: string }[];
  chatTemplateJson?: JsonObject;
  /** merges.txt of a "slow" BPE tokenizer, read only when tokenizer.json has no merges. */
  mergesTxt?: string;
}

async function readAdditionalChatTemplates(folder: string): Promise<{ name: string; template: string }[]> {
  let names: string[];
  try {
    names = (await readdir(folder)).filter((name) => name.endsWith(".jinja")).sort();
  } catch {
    return [];
  }
  return Promise.all(
    names.map(async (name) => {
      const path = join(folder, name);
      return { name: name.slice(0, -".jinja".length), template: decodeUtf8(await readFile(path), path) };
    }),
  );
}

export async function readHfTokenizerFiles(folder: string): Promise<HfTokenizerFiles> {
  const path = (name: string) => join(folder, name);
  const [config, tokenizerJson, tokenizerConfig, sentencePieceModel, addedTokensJson, chatTemplateJinja, chatTemplateJson] = await Promise.all([
    readOptionalJsonObject(path("config.json")),
    readOptionalJsonObject(path("tokenizer.json")),
    readOptionalJsonObject(path("tokenizer_config.json")),
    readOptionalBytes(path("tokenizer.model")),
    readOptionalJsonObject(path("added_tokens.json")),
    readOptionalBytes(path("chat_template.jinja")).then((bytes) => (bytes === undefined ? undefined : decodeUtf8(bytes, path("chat_template.jinja")))),
    readOptionalJsonObject(path("chat_template.json")),
  ]);
  const additionalChatTemplates = chatTemplateJinja === undefined ? [] : await readAdditionalChatTemplates(path("additional_chat_templates"));
  const mergesBytes = await readOptionalBytes(path("merges.txt"));
  const mergesTxt = mergesBytes === undefined ? undefined : decodeUtf8(mergesBytes, path("merges.txt"));
  return { mergesTxt, folder, path, config, tokenizerJson, tokenizerConfig, sentencePieceModel, addedTokensJson, chatTemplateJinja, additionalChatTemplates, chatTemplateJson };
}
