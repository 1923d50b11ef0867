// convert_hf_to_gguf.py TextModel._create_vocab_sentencepiece: tokenizer.model pieces, then
// added_tokens.json and tokenizer_config.json's added_tokens_decoder on top, padded to vocab_size.
import { TokenizerFileError } from "../../errors/index.js";
import { isJsonObject, type HfTokenizerFiles } from "./hf-folder.js";
import type { MetadataEntries } from "./metadata-entries.js";
import { parseSentencePieceModel } from "./sentencepiece-model.js";
import { TokenType } from "./token-type.js";
import { preNormalizeUserDefined, tokenLooksSpecial } from "./token-looks-special.js";

export interface ScoredVocabulary {
  tokens: string[];
  scores: number[];
  types: number[];
}

/** SentencePieceProcessor's IsUnknown/IsControl/IsUnused/IsByte checks; user-defined pieces stay NORMAL as in the script. */
function pieceTokenType(type: number): number {
  const kept: number[] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.UNUSED, TokenType.BYTE];
  return kept.includes(type) ? type : TokenType.NORMAL;
}

export function sentencePieceVocabulary(files: HfTokenizerFiles, model: Uint8Array, configVocabSize: number, metadata: MetadataEntries): ScoredVocabulary {
  const modelFile = files.path("tokenizer.model");
  const pieces = parseSentencePieceModel(model, modelFile);
  const vocabSize = configVocabSize || pieces.length;
  // The script drops the pieces past vocab_size with a warning; a model whose embedding has fewer
  // rows than its tokenizer has pieces cannot encode those pieces, so that is an error here.
  if (pieces.length > vocabSize) {
    throw new TokenizerFileError(modelFile, "vocab_size", `has ${pieces.length} pieces but config.json vocab_size is ${vocabSize}`);
  }
  const tokens = Array.from({ length: vocabSize }, (_, id) => `[PAD${id}]`);
  const scores = new Array<number>(vocabSize).fill(-10000.0);
  const types = new Array<number>(vocabSize).fill(TokenType.UNUSED);
  pieces.forEach((piece, id) => {
    tokens[id] = piece.piece;
    scores[id] = piece.score;
    types[id] = pieceTokenType(piece.type);
  });

  if (files.addedTokensJson) {
    for (const [token, id] of Object.entries(files.addedTokensJson)) {
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
        throw new TokenizerFileError(files.path("added_tokens.json"), "malformed", `token ${JSON.stringify(token)} has id ${JSON.stringify(id)}, not a token id`);
      }
      if (id >= vocabSize) {
        metadata.warn(`ignore token ${id}: id is out of range, max=${vocabSize - 1}`);
        continue;
      }
      tokens[id] = token;
      scores[id] = -1000.0;
      types[id] = TokenType.USER_DEFINED;
    }
  }

  const decoder = files.tokenizerConfig?.added_tokens_decoder ?? {};
  if (!isJsonObject(decoder)) throw new TokenizerFileError(files.path("tokenizer_config.json"), "malformed", "added_tokens_decoder must be an object of id → token");
  for (const [key, data] of Object.entries(decoder)) {
    const id = Number(key);
    if (!Number.isInteger(id) || id < 0 || !isJsonObject(data) || typeof data.content !== "string") {
      throw new TokenizerFileError(files.path("tokenizer_config.json"), "malformed", `added_tokens_decoder["${key}"] must map a token id to an object with a string "content"`);
    }
    let token = data.content;
    if (id >= vocabSize) {
      metadata.warn(`ignore token ${id}: id is out of range, max=${vocabSize - 1}`);
      continue;
    }
    if (types[id] !== TokenType.UNUSED && tokens[id] !== token) metadata.warn(`replacing token ${id}: ${JSON.stringify(tokens[id])} -> ${JSON.stringify(token)}`);
    if (data.special === true || tokenLooksSpecial(token)) types[id] = TokenType.CONTROL;
    else {
      token = preNormalizeUserDefined(token);
      types[id] = TokenType.USER_DEFINED;
    }
    scores[id] = -1000.0;
    tokens[id] = token;
  }
  return { tokens, scores, types };
}
