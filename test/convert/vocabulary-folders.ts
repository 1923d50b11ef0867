// Rebuilds the Hugging Face folders of scripts/golden/make_vocab_golden.py from their recipes (stored
// in the golden JSON) and ../shared, and hashes GGUF arrays the way that script does.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { plainValue, readGgufHeader, type GgufArray } from "../../src/gguf/index.js";
import { sharedPath } from "../support/shared-data.js";

export interface FolderRecipe {
  copy?: Record<string, string>;
  /** tokenizer.json written around a vocab-only GGUF's tokens and merges (control tokens become added tokens). */
  tokenizerJsonFromGguf?: Record<string, { gguf: string; around: Record<string, any> }>;
  mergesAsPairs?: boolean;
  json?: Record<string, unknown>;
  text?: Record<string, string>;
}

export interface GoldenArrayEntry {
  key: string;
  type: "array";
  elementType: string;
  length: number;
  sha256: string;
  head: unknown[];
  tail: unknown[];
}

export interface GoldenScalarEntry {
  key: string;
  type: "string" | "bool" | "uint32" | "int32" | "float32";
  value: string | number | boolean;
}

export type GoldenEntry = GoldenArrayEntry | GoldenScalarEntry;

export interface VocabularyGolden {
  llamaCpp: string;
  transformers: string;
  recipe: FolderRecipe;
  metadata: GoldenEntry[];
  inputs?: string;
  hfTokenIds?: number[][];
  sentencePieceTokenIds?: number[][];
  /** llama.cpp's ids with the GGUF that convert_hf_to_gguf.py wrote. */
  llamaCppTokenIdsOfScriptGguf?: number[][];
  chktxtIds?: number[];
}

export function readGolden(name: string): VocabularyGolden {
  return JSON.parse(readFileSync(new URL(`./golden/vocab-${name}.json`, import.meta.url), "utf8")) as VocabularyGolden;
}

const CONTROL = 3;

async function tokenizerJsonFromGguf(source: string, around: Record<string, any>): Promise<Record<string, any>> {
  const { metadata } = await readGgufHeader(sharedPath(...source.split("/")));
  const tokens = plainValue(metadata.get("tokenizer.ggml.tokens")!) as string[];
  const types = plainValue(metadata.get("tokenizer.ggml.token_type")!) as number[];
  const tokenizer = structuredClone(around);
  tokenizer.added_tokens = tokens.flatMap((content, id) =>
    types[id] === CONTROL ? [{ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }] : [],
  );
  tokenizer.model.vocab = Object.fromEntries(tokens.flatMap((token, id) => (types[id] === CONTROL ? [] : [[token, id]])));
  tokenizer.model.merges = plainValue(metadata.get("tokenizer.ggml.merges")!);
  return tokenizer;
}

export async function buildFolder(recipe: FolderRecipe, folder: string): Promise<string> {
  mkdirSync(folder, { recursive: true });
  for (const [name, source] of Object.entries(recipe.copy ?? {})) copyFileSync(sharedPath(...source.split("/")), join(folder, name));
  for (const [name, { gguf, around }] of Object.entries(recipe.tokenizerJsonFromGguf ?? {})) {
    writeFileSync(join(folder, name), JSON.stringify(await tokenizerJsonFromGguf(gguf, around)));
  }
  if (recipe.mergesAsPairs) {
    const path = join(folder, "tokenizer.json");
    const tokenizer = JSON.parse(readFileSync(path, "utf8"));
    tokenizer.model.merges = tokenizer.model.merges.map((merge: string) => merge.split(" "));
    writeFileSync(path, JSON.stringify(tokenizer));
  }
  for (const [name, value] of Object.entries(recipe.json ?? {})) writeFileSync(join(folder, name), JSON.stringify(value, null, 2));
  for (const [name, value] of Object.entries(recipe.text ?? {})) writeFileSync(join(folder, name), value);
  return folder;
}

/** llama.cpp's tokenizer test inputs: the texts between "\n__ggml_vocab_test__\n" separators. */
export function readTokenizerTestInputs(file: string): string[] {
  const raw = readFileSync(sharedPath(...file.split("/")), "utf8");
  const separator = "\n__ggml_vocab_test__\n";
  const texts: string[] = [];
  for (let position = 0; position < raw.length; ) {
    const end = raw.indexOf(separator, position);
    if (end < 0) {
      texts.push(raw.slice(position));
      break;
    }
    texts.push(raw.slice(position, end));
    position = end + separator.length;
  }
  return texts;
}

/** sha256 over the elements: strings as u32 length + UTF-8, numbers little-endian (as the golden script). */
export function arrayDigest(array: GgufArray): string {
  const hash = createHash("sha256");
  if (array.elementType === "string") {
    for (const value of array.values) {
      const bytes = Buffer.from(value, "utf8");
      const length = Buffer.alloc(4);
      length.writeUInt32LE(bytes.length);
      hash.update(length).update(bytes);
    }
  } else if (array.elementType === "int32" || array.elementType === "float32" || array.elementType === "uint32") {
    hash.update(Buffer.from(array.values.buffer, array.values.byteOffset, array.values.byteLength));
  } else {
    throw new Error(`no digest for ${array.elementType} arrays`);
  }
  return hash.digest("hex");
}
