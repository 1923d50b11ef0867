import { afterAll, beforeAll } from "vitest";
import { GgufReader } from "../../../src/gguf/index.js";
import { loadGgufTokenizer, type TrainingTokenizer } from "../../../src/train/tokenizer.js";
import { stories260KPath } from "../../support/shared-data.js";

/**
 * A GGUF vocabulary's pieces as a decoder for checking masks by their text: SentencePiece's "▁" as a
 * space, byte-fallback pieces (<0xF0>…) joined back into their UTF-8 characters.
 */
export async function pieceDecoder(modelPath: string): Promise<(ids: ArrayLike<number>) => string> {
  const reader = await GgufReader.open(modelPath);
  const value = reader.metadata.get("tokenizer.ggml.tokens");
  await reader.close();
  if (value?.type !== "array" || value.value.elementType !== "string") throw new Error(`${modelPath}: no token list`);
  const pieces = value.value.values;
  const bytesOf = (piece: string) => (/^<0x[0-9A-F]{2}>$/.test(piece) ? Buffer.from([parseInt(piece.slice(3, 5), 16)]) : Buffer.from(piece.replace(/▁/g, " ")));
  return (ids) => Buffer.concat(Array.from(ids, (id) => bytesOf(pieces[id]))).toString("utf8");
}

/**
 * stories260K's tokenizer (through llama.cpp) and piece decoder for the tests of one describe block:
 * loaded before its tests, disposed after. Read the fields inside the tests, not at collection time.
 */
export function useStories260KVocabulary(): { tokenizer: TrainingTokenizer; decode: (ids: ArrayLike<number>) => string } {
  const vocabulary = {} as { tokenizer: TrainingTokenizer; decode: (ids: ArrayLike<number>) => string };
  beforeAll(async () => {
    vocabulary.tokenizer = await loadGgufTokenizer(stories260KPath());
    vocabulary.decode = await pieceDecoder(stories260KPath());
  });
  afterAll(() => vocabulary.tokenizer?.dispose());
  return vocabulary;
}
