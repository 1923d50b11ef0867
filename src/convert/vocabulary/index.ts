// The tokenizer.* GGUF metadata that llama.cpp's convert_hf_to_gguf.py writes for a Hugging Face
// LLaMA folder (LlamaModel.set_vocab): a SentencePiece tokenizer.model, or a tokenizer.json BPE
// vocabulary, plus SpecialVocab's special tokens, add_*_token flags and chat template.
import { InvalidArgumentError, TokenizerFileError } from "../../errors/index.js";
import type { GgufValue } from "../../gguf/index.js";
import { bpeVocabulary, parseBpeTokenizerJson } from "./bpe-vocabulary.js";
import { isJsonObject, readHfTokenizerFiles, type HfTokenizerFiles } from "./hf-folder.js";
import { MetadataEntries } from "./metadata-entries.js";
import { bpePreTokenizerName } from "./pre-tokenizer/index.js";
import { sentencePieceVocabulary } from "./sentencepiece-vocabulary.js";
import { SpecialVocabulary } from "./special-vocabulary.js";

export { CHKTXT, TokenizerJsonEncoder, tokenIdsHash } from "./pre-tokenizer/index.js";
export { parseSentencePieceModel, type SentencePiece } from "./sentencepiece-model.js";
export { TokenType } from "./token-type.js";

export interface HfVocabularyResult {
  /** tokenizer.* keys in the order the script writes them. */
  entries: [string, GgufValue][];
  /** What the script would log as warnings (ids out of range, tokens replaced, unknown handlers). */
  warnings: string[];
}

function sentencePiece(files: HfTokenizerFiles, model: Uint8Array, vocabSize: number, metadata: MetadataEntries): void {
  const { tokens, scores, types } = sentencePieceVocabulary(files, model, vocabSize, metadata);
  metadata.string("tokenizer.ggml.model", "llama");
  metadata.string("tokenizer.ggml.pre", "default");
  metadata.strings("tokenizer.ggml.tokens", tokens);
  metadata.float32s("tokenizer.ggml.scores", scores);
  metadata.int32s("tokenizer.ggml.token_type", types);
  new SpecialVocabulary(files, metadata, { vocabularySize: tokens.length }).addTo(metadata);
}

/** gguf-py LlamaHfVocab's test: a tokenizer.json that is a SentencePiece model converted to BPE. */
function isSentencePieceStyleBpe(tokenizer: Record<string, unknown>): boolean {
  const model = isJsonObject(tokenizer.model) ? tokenizer.model : {};
  const isLlama3 = model.type === "BPE" && model.ignore_merges === true && model.byte_fallback === false;
  if (isLlama3) return false;
  const decoder = isJsonObject(tokenizer.decoder) ? tokenizer.decoder : {};
  return model.type === "BPE" && model.byte_fallback === true && decoder.type === "Sequence";
}

function gpt2(files: HfTokenizerFiles, tokenizerJson: Record<string, unknown>, vocabSize: number, metadata: MetadataEntries): void {
  const tokenizer = parseBpeTokenizerJson(tokenizerJson, files.path("tokenizer.json"));
  const { tokens, types } = bpeVocabulary(tokenizer, vocabSize);
  const { name } = bpePreTokenizerName(tokenizer);
  metadata.string("tokenizer.ggml.model", "gpt2");
  metadata.string("tokenizer.ggml.pre", name);
  metadata.strings("tokenizer.ggml.tokens", tokens);
  metadata.int32s("tokenizer.ggml.token_type", types);
  new SpecialVocabulary(files, metadata, { loadMerges: true }).addTo(metadata);
}

/**
 * The tokenizer.* metadata for the model folder, as convert_hf_to_gguf.py writes it for a
 * LlamaForCausalLM; `config.vocabSize` is config.json's vocab_size (the embedding's row count).
 */
export async function convertHfVocabulary(folder: string, config: { vocabSize: number }): Promise<HfVocabularyResult> {
  if (!Number.isInteger(config.vocabSize) || config.vocabSize <= 0) {
    throw new InvalidArgumentError("vocabSize", `vocabSize must be a positive integer, got ${config.vocabSize}`);
  }
  const files = await readHfTokenizerFiles(folder);
  const metadata = new MetadataEntries();
  const tokenizerConfig = files.tokenizerConfig;
  if (tokenizerConfig) {
    const addPrefixSpace = tokenizerConfig.add_prefix_space;
    if (typeof addPrefixSpace === "boolean") metadata.bool("tokenizer.ggml.add_space_prefix", addPrefixSpace);
    if (tokenizerConfig.tokenizer_class === "HybridDNATokenizer") {
      throw new TokenizerFileError(files.path("tokenizer_config.json"), "unsupported", "HybridDNATokenizer vocabularies are not supported");
    }
  }

  // set_vocab: SentencePiece first, then a SentencePiece-style tokenizer.json, then GPT-2 BPE
  if (files.sentencePieceModel) sentencePiece(files, files.sentencePieceModel, config.vocabSize, metadata);
  else if (files.tokenizerJson && isSentencePieceStyleBpe(files.tokenizerJson)) {
    throw new TokenizerFileError(
      files.path("tokenizer.json"),
      "unsupported",
      "is a SentencePiece model converted to BPE (byte_fallback); camelid converts it from tokenizer.model — add the original tokenizer.model to the folder",
    );
  } else if (files.tokenizerJson) gpt2(files, files.tokenizerJson, config.vocabSize, metadata);
  else {
    throw new TokenizerFileError(folder, "missing", "has no tokenizer: expected tokenizer.model (SentencePiece) or tokenizer.json (BPE)");
  }

  // CodeLlama's infill tokens (its 32016-token vocabulary; not Llama 3's 128256)
  if (config.vocabSize === 32016) {
    const infill = new SpecialVocabulary(files, metadata, { specialTokenTypes: ["prefix", "suffix", "middle", "eot"] });
    infill.setSpecialToken("prefix", 32007, folder);
    infill.setSpecialToken("suffix", 32008, folder);
    infill.setSpecialToken("middle", 32009, folder);
    infill.setSpecialToken("eot", 32010, folder);
    infill.addTo(metadata);
  }
  // Granite's small models (49152 tokens) do not add BOS
  if (config.vocabSize === 49152) metadata.bool("tokenizer.ggml.add_bos_token", false);
  return { entries: metadata.entries(), warnings: metadata.warnings };
}

export { TokenizerFileError } from "../../errors/index.js";
