// convert_hf_to_gguf.py TextModel.get_vocab_base for a tokenizer.json BPE model: the token list in
// id order (holes become [PAD{i}]), token types from the added tokens' flags, and the pre-tokenizer name.
import { TokenizerFileError } from "../../errors/index.js";
import { isJsonObject, type JsonObject } from "./hf-folder.js";
import { TokenType } from "./token-type.js";
import { readTokenizerJsonMerges } from "./merges.js";
import { preNormalizeUserDefined, tokenLooksSpecial } from "./token-looks-special.js";

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  normalized: boolean;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
}

/** The parts of a tokenizer.json that the conversion uses, checked. */
export interface BpeTokenizerJson {
  file: string;
  json: JsonObject;
  model: JsonObject;
  /** model.vocab: token → id. */
  vocab: Map<string, number>;
  addedTokens: AddedToken[];
  /** model.merges as pairs, in rank order. */
  merges: [string, string][];
}

export function parseBpeTokenizerJson(json: JsonObject, file: string): BpeTokenizerJson {
  const model = json.model;
  if (!isJsonObject(model)) throw new TokenizerFileError(file, "malformed", 'has no "model" object');
  if (model.type !== undefined && model.type !== "BPE") {
    throw new TokenizerFileError(file, "unsupported", `model.type is ${JSON.stringify(model.type)}; a LLaMA vocabulary from tokenizer.json must be BPE`);
  }
  if (!isJsonObject(model.vocab)) throw new TokenizerFileError(file, "malformed", "model.vocab must be an object of token → id");
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(model.vocab)) {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
      throw new TokenizerFileError(file, "malformed", `model.vocab[${JSON.stringify(token)}] is ${JSON.stringify(id)}, not a token id`);
    }
    vocab.set(token, id);
  }
  const rawAdded = json.added_tokens ?? [];
  if (!Array.isArray(rawAdded)) throw new TokenizerFileError(file, "malformed", "added_tokens must be an array");
  const addedTokens = rawAdded.map((entry, index): AddedToken => {
    if (!isJsonObject(entry) || typeof entry.content !== "string" || typeof entry.id !== "number" || !Number.isInteger(entry.id) || entry.id < 0) {
      throw new TokenizerFileError(file, "malformed", `added_tokens[${index}] must have an integer "id" and a string "content"`);
    }
    return {
      id: entry.id,
      content: entry.content,
      special: entry.special === true,
      // tokenizers' AddedToken defaults: normalized = !special
      normalized: typeof entry.normalized === "boolean" ? entry.normalized : entry.special !== true,
      lstrip: entry.lstrip === true,
      rstrip: entry.rstrip === true,
      singleWord: entry.single_word === true,
    };
  });
  const merges = readTokenizerJsonMerges(json, file)?.pairs ?? [];
  return { file, json, model, vocab, addedTokens, merges };
}

/** HF's tokenizer.vocab: the model's vocabulary with the added tokens on top. */
function fullVocabulary(tokenizer: BpeTokenizerJson): Map<string, number> {
  const vocab = new Map(tokenizer.vocab);
  for (const token of tokenizer.addedTokens) vocab.set(token.content, token.id);
  return vocab;
}

export interface TypedVocabulary {
  tokens: string[];
  types: number[];
}

/**
 * Tokens and types in id order for `vocabSize` ids. Non-normalized added tokens are taken as they are:
 * the script round-trips them through the HF tokenizer (encode then decode), which gives the same
 * text for every added token that encodes to itself.
 */
export function bpeVocabulary(tokenizer: BpeTokenizerJson, vocabSize: number): TypedVocabulary {
  const vocab = fullVocabulary(tokenizer);
  let maxId = -1;
  for (const id of vocab.values()) maxId = Math.max(maxId, id);
  if (maxId >= vocabSize) {
    throw new TokenizerFileError(tokenizer.file, "vocab_size", `has token id ${maxId} but config.json vocab_size is ${vocabSize} (ids must be below it)`);
  }
  const reverse = new Map<number, string>();
  for (const [token, id] of vocab) reverse.set(id, token);
  const added = new Map<string, AddedToken>();
  for (const token of tokenizer.addedTokens) added.set(token.content, token);
  const addedById = new Map<number, AddedToken>();
  for (const token of tokenizer.addedTokens) addedById.set(token.id, token);

  const tokens: string[] = [];
  const types: number[] = [];
  for (let id = 0; id < vocabSize; id++) {
    const text = reverse.get(id);
    if (text === undefined) {
      tokens.push(`[PAD${id}]`);
      types.push(TokenType.UNUSED);
      continue;
    }
    if (added.has(text)) {
      const flags = addedById.get(id) ?? added.get(text)!;
      if (flags.special || tokenLooksSpecial(text)) {
        tokens.push(text);
        types.push(TokenType.CONTROL);
      } else {
        tokens.push(preNormalizeUserDefined(text));
        types.push(TokenType.USER_DEFINED);
      }
    } else {
      tokens.push(text);
      types.push(TokenType.NORMAL);
    }
  }
  return { tokens, types };
}
