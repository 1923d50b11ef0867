// tokenizer.json BPE merges come as "a b" strings or, since transformers 4.45, as [a, b] pairs (so
// that parts may hold spaces). GGUF stores "a b" strings; gguf-py writes a space inside a part as
// U+0120 ('Ġ', ' ' + 256).
import { TokenizerFileError } from "../../errors/index.js";
import { isJsonObject, type JsonObject } from "./hf-folder.js";

export interface TokenizerJsonMerges {
  /** Each merge's two parts, for encoding. */
  pairs: [string, string][];
  /** tokenizer.ggml.merges as gguf-py writes it. */
  ggufMerges: string[];
  /** Some pair part held a space (gguf-py warns). */
  spacesInParts: boolean;
}

export function readTokenizerJsonMerges(tokenizer: JsonObject, file: string): TokenizerJsonMerges | undefined {
  const model = isJsonObject(tokenizer.model) ? tokenizer.model : {};
  const merges = model.merges;
  if (merges === undefined || (Array.isArray(merges) && merges.length === 0)) return undefined;
  if (Array.isArray(merges) && typeof merges[0] === "string") {
    const pairs = merges.map((merge, index): [string, string] => {
      const parts = typeof merge === "string" ? merge.split(" ") : [];
      if (parts.length !== 2) throw new TokenizerFileError(file, "malformed", `model.merges[${index}] is ${JSON.stringify(merge)}, not "a b"`);
      return [parts[0], parts[1]];
    });
    return { pairs, ggufMerges: merges as string[], spacesInParts: false };
  }
  if (Array.isArray(merges) && Array.isArray(merges[0]) && merges[0].length === 2 && typeof merges[0][0] === "string") {
    let spacesInParts = false;
    const pairs = merges.map((pair, index): [string, string] => {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
        throw new TokenizerFileError(file, "malformed", `model.merges[${index}] is not a pair of strings`);
      }
      if (pair[0].includes(" ") || pair[1].includes(" ")) spacesInParts = true;
      return [pair[0], pair[1]];
    });
    const ggufMerges = pairs.map((pair) => pair.map((part) => part.replaceAll(" ", "\u0120")).join(" "));
    return { pairs, ggufMerges, spacesInParts };
  }
  throw new TokenizerFileError(file, "malformed", 'Unknown tokenizer merges format: model.merges must hold strings "a b" or pairs [a, b]');
}
