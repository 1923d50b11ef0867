import { ModelLoadError } from "../errors/index.js";
import { checkVocabularyFile } from "../gguf/index.js";
import { getLlamaRuntime, type LlamaModel } from "../providers/local/llama-runtime.js";

/**
 * The model's own tokenizer, as training needs it: plain text (never parsing special tokens), one
 * special token's text, and the whole rendered prompt (parsing special tokens) for verification.
 */
export interface TrainingTokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly bosToken: string | undefined;
  readonly eosToken: string | undefined;
  /** Whether a sequence starts with BOS (the vocabulary's add_bos_token). */
  readonly addsBos: boolean;
  /**
   * Plain text. `continuation`: the text follows other text in the same fragment, so a SentencePiece
   * vocabulary must not prepend its dummy-prefix space (llama.cpp adds it only at the start of a
   * fragment: the start of the text or right after a special token).
   */
  tokenizeText(text: string, continuation: boolean): number[];
  /** The ids of a special token's text (one id when the vocabulary has it). */
  tokenizeSpecial(text: string): number[];
  /** The whole text with special tokens parsed, without BOS. */
  tokenizeWhole(text: string): number[];
  dispose(): Promise<void>;
}

/** Loads only the vocabulary of a GGUF model (no weights) through llama.cpp. */
export async function loadGgufTokenizer(modelPath: string): Promise<TrainingTokenizer> {
  // llama.cpp aborts the process on some corrupt vocabularies (a duplicated token): check with our reader first.
  await checkVocabularyFile(modelPath);
  const llama = await getLlamaRuntime();
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath, vocabOnly: true });
  } catch (error) {
    throw new ModelLoadError(modelPath, `cannot load the tokenizer of ${modelPath}: ${(error as Error).message}`, { cause: error });
  }
  return new LlamaCppTokenizer(model);
}

class LlamaCppTokenizer implements TrainingTokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly bosToken: string | undefined;
  readonly eosToken: string | undefined;
  readonly addsBos: boolean;
  /** The ids a lone "\n" tokenizes to when the vocabulary adds a dummy prefix; null when it does not. */
  private readonly prefixProbe: number[] | null;

  constructor(private readonly model: LlamaModel) {
    const metadata = model.fileInfo.metadata as unknown as { tokenizer?: { ggml?: { model?: string; add_space_prefix?: boolean; tokens?: string[] } } };
    const ggml = metadata.tokenizer?.ggml;
    this.vocabSize = ggml?.tokens?.length ?? [...model.iterateAllTokens()].length;
    this.bosId = model.tokens.bos;
    this.eosId = model.tokens.eos;
    this.bosToken = model.tokens.bosString ?? undefined;
    this.eosToken = model.tokens.eosString ?? undefined;
    this.addsBos = model.tokens.shouldPrependBosToken;
    const spm = (ggml?.model ?? "llama") === "llama";
    this.prefixProbe = spm && ggml?.add_space_prefix !== false ? Array.from(model.tokenize("\n", false)) : null;
  }

  tokenizeText(text: string, continuation: boolean): number[] {
    if (text === "") return [];
    if (!continuation || this.prefixProbe === null) return Array.from(this.model.tokenize(text, false));
    // Tokenize "\n" + text and drop the probe's ids: the newline is a byte token that merges with
    // nothing, so what follows it is the text tokenized without the dummy-prefix space. Should a
    // vocabulary merge it after all, the result differs and the whole-text check reports the sample.
    const probe = this.prefixProbe;
    const ids = Array.from(this.model.tokenize(`\n${text}`, false));
    const matches = probe.every((id, index) => ids[index] === id);
    return matches ? ids.slice(probe.length) : Array.from(this.model.tokenize(text, false, "trimLeadingSpace"));
  }

  tokenizeSpecial(text: string): number[] {
    return Array.from(this.model.tokenize(text, true));
  }

  tokenizeWhole(text: string): number[] {
    return Array.from(this.model.tokenize(text, true));
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}
