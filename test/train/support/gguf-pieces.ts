import { GgufReader } from "../../../src/gguf/index.js";

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
