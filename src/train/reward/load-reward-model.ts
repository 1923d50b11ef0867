import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { LlamaModel, loadLlamaGguf, type KernelSet, type LlamaConfig } from "../../engine/index.js";
import { checkModelFile } from "../../gguf/index.js";
import type { PromptFormat } from "../../prompts/index.js";
import type { ChatMessage } from "../../spec/messages.js";
import { tokenizeAnswer } from "../preference-tokens.js";
import { runPromptFormat } from "../run-training.js";
import { loadGgufTokenizer, type TrainingTokenizer } from "../tokenizer.js";
import { readRewardGguf } from "./reward-gguf.js";
import { RewardModel } from "./reward-model.js";

export interface RewardModelOptions {
  /** Tests run the reference kernels; the default is the fast set. */
  kernels?: KernelSet;
  /** Sequences per forward pass when scoring (8). */
  batchSize?: number;
}

/**
 * A trained reward model ready to score answers: the base GGUF, the reward GGUF's LoRA and head, the
 * base's tokenizer and the prompt format the reward model was trained with (prompt + answer are
 * rendered and tokenized exactly as training rendered its pairs). dispose() frees the tokenizer.
 */
export class LoadedRewardModel {
  private constructor(
    readonly reward: RewardModel,
    readonly promptFormat: PromptFormat,
    private readonly tokenizer: TrainingTokenizer,
    readonly config: LlamaConfig,
    /** Hash of the reward file's bytes and the base model's size: what decides the scores. */
    readonly fingerprint: string,
    readonly batchSize: number,
  ) {}

  static async open(basePath: string, rewardPath: string, options: RewardModelOptions = {}): Promise<LoadedRewardModel> {
    const { metadata } = await checkModelFile(basePath);
    const { config, weights } = await loadLlamaGguf(basePath);
    const adapter = await readRewardGguf(rewardPath, config);
    const tokenizer = await loadGgufTokenizer(basePath);
    try {
      const { format } = runPromptFormat({ modelPath: basePath, promptFormat: adapter.promptFormat }, metadata, config, tokenizer);
      const model = new LlamaModel(config, weights, { lora: adapter.lora.config, ...(options.kernels ? { kernels: options.kernels } : {}) });
      model.lora!.params.set(adapter.lora.params);
      model.training = false;
      const fingerprint = createHash("sha256").update(readFileSync(rewardPath)).update(String(statSync(basePath).size)).digest("hex");
      return new LoadedRewardModel(new RewardModel(model, adapter.head), format, tokenizer, config, fingerprint, options.batchSize ?? 8);
    } catch (error) {
      await tokenizer.dispose();
      throw error;
    }
  }

  /** The prompt + answer's tokens as the reward model reads them, or why there are none. */
  tokenize(prompt: readonly ChatMessage[], answer: string, where: { file: string; line: number } = { file: "(input)", line: 0 }): { tokens: Int32Array } | { problem: string } {
    if (answer.trim() === "") return { problem: "the answer is empty" };
    const last = prompt.at(-1);
    if (!last || last.role !== "user") return { problem: "the prompt must end with a user turn" };
    const { row, note } = tokenizeAnswer({ ...where, prompt }, answer, this.promptFormat, this.tokenizer);
    if (!row) return { problem: note ?? "cannot tokenize" };
    if (row.tokens.length > this.config.contextLength) return { problem: `${row.tokens.length} tokens is longer than the model's context of ${this.config.contextLength}` };
    return { tokens: row.tokens };
  }

  /** Rewards of tokenized prompt + answer sequences (the score of each sequence's last token). */
  scoreTokens(sequences: readonly Int32Array[]): Float64Array {
    return this.reward.score(sequences, this.batchSize);
  }

  async dispose(): Promise<void> {
    await this.tokenizer.dispose();
  }
}
