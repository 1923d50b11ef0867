// convert_hf_to_gguf.py TextModel.get_vocab_base_pre: the BPE pre-tokenizer's name is looked up by
// sha256(str(tokenizer.encode(chktxt))). The ids come from camelid's own tokenizer.json encoder, so
// the decision is the script's for every tokenizer whose components the encoder reproduces.
import { createHash } from "node:crypto";
import { TokenizerFileError } from "../../../errors/index.js";
import type { BpeTokenizerJson } from "../bpe-vocabulary.js";
import { CHKHSH_TABLE, CHKTXT } from "./chkhsh-table.js";
import { TokenizerJsonEncoder, UnsupportedComponentError } from "./tokenizer-json-encoder.js";

export { CHKTXT } from "./chkhsh-table.js";
export { TokenizerJsonEncoder } from "./tokenizer-json-encoder.js";

/** Python's sha256(str(list_of_ints).encode()).hexdigest(). */
export function tokenIdsHash(ids: readonly number[]): string {
  return createHash("sha256").update(`[${ids.join(", ")}]`).digest("hex");
}

/** The script's if-chain: a later entry for the same hash overrides an earlier one. */
const NAME_BY_HASH = new Map(CHKHSH_TABLE.map(([hash, name]) => [hash, name]));

export function bpePreTokenizerName(tokenizer: BpeTokenizerJson): { name: string; chkhsh: string } {
  let ids: number[];
  try {
    ids = new TokenizerJsonEncoder(tokenizer).encode(CHKTXT);
  } catch (error) {
    if (!(error instanceof UnsupportedComponentError)) throw error;
    throw new TokenizerFileError(
      tokenizer.file,
      "unrecognized_pre_tokenizer",
      `BPE pre-tokenizer was not recognized: camelid cannot run its ${error.message} to compute the hash convert_hf_to_gguf.py identifies it by`,
      { cause: error },
    );
  }
  const chkhsh = tokenIdsHash(ids);
  const name = NAME_BY_HASH.get(chkhsh);
  if (name === undefined) {
    throw new TokenizerFileError(
      tokenizer.file,
      "unrecognized_pre_tokenizer",
      `BPE pre-tokenizer was not recognized (chkhsh ${chkhsh}): the tokenizer is not among those llama.cpp's convert_hf_to_gguf_update.py knows, or its pre-tokenization changed upstream`,
    );
  }
  return { name, chkhsh };
}
