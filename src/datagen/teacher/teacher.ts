import { ContextLengthExceededError } from "../../errors/index.js";
import type { CallOptions, ChatMessage, FinishReason, LanguageModel } from "../../spec/index.js";
import { defaultRetryPolicy, withRetries, type RetryEvents, type RetryPolicy } from "./retry.js";
import type { UsageMeter } from "./usage-meter.js";

export interface TeacherCompletion {
  text: string;
  finishReason: FinishReason;
  /** Tokens the reply took. */
  completionTokens: number;
  /** The max_tokens of the request that answered (smaller than asked after a context-overflow shrink). */
  maxTokens?: number;
}

/** Sampling settings a pipeline step asks for (every one is a flag on the command). */
export type SamplingSettings = Pick<
  CallOptions,
  "maxTokens" | "temperature" | "topP" | "topK" | "stop" | "seed" | "presencePenalty" | "frequencyPenalty" | "repeatPenalty" | "providerOptions"
>;

export interface TeacherOptions {
  /**
   * "completion": the prompt goes to the model as raw text (Alpaca used a completions model).
   * "chat": it becomes one user message, for chat-only teachers.
   */
  promptStyle?: "completion" | "chat";
  retry?: RetryPolicy;
  retryEvents?: RetryEvents;
  /** What to do when the prompt plus max_tokens overflow the context (absent: the error stands). */
  shrinkMaxTokensOnOverflow?: OverflowShrink;
}

/**
 * The originals' answer to a context overflow ("Please reduce your prompt"): retry with max_tokens ×
 * `factor` (truncated to an integer), at most `maxShrinks` times (absent: no limit), and only while
 * that can help (the prompt alone fits and max_tokens stays ≥ 1).
 */
export interface OverflowShrink {
  factor: number;
  maxShrinks?: number;
}

/** The context-overflow errors that a smaller max_tokens can cure. */
function curableByShrinking(error: unknown): boolean {
  if (error instanceof ContextLengthExceededError) {
    // llama-server says the prompt alone is too long (n_prompt_tokens ≥ n_ctx): no max_tokens helps.
    return !(error.promptTokens > 0 && error.contextSize > 0 && error.promptTokens >= error.contextSize);
  }
  return error instanceof Error && error.message.includes("Please reduce your prompt");
}

/** A LanguageModel with the run's retry policy and usage accounting: the one way pipelines call a teacher. */
export class Teacher {
  constructor(
    readonly model: LanguageModel,
    private readonly meter: UsageMeter,
    private readonly options: TeacherOptions = {},
  ) {}

  get modelId(): string {
    return this.model.modelId;
  }

  /** One completion of a raw prompt (or, in chat style, of the prompt as a user message). */
  async complete(prompt: string, settings: SamplingSettings, signal?: AbortSignal): Promise<TeacherCompletion> {
    const call: CallOptions =
      this.options.promptStyle === "chat"
        ? { ...settings, messages: [{ role: "user", content: prompt }], abortSignal: signal }
        : { ...settings, prompt, abortSignal: signal };
    return this.generate(call, signal);
  }

  /** One reply to a conversation (distillation). */
  async chat(messages: ChatMessage[], settings: SamplingSettings, signal?: AbortSignal): Promise<TeacherCompletion> {
    return this.generate({ ...settings, messages, abortSignal: signal }, signal);
  }

  private async generate(call: CallOptions, signal?: AbortSignal): Promise<TeacherCompletion> {
    const shrink = this.options.shrinkMaxTokensOnOverflow;
    for (let shrinks = 0; ; shrinks++) {
      try {
        return await this.generateOnce(call, signal);
      } catch (error) {
        const shrunk = shrink ? Math.trunc((call.maxTokens ?? 0) * shrink.factor) : 0;
        const spent = shrink?.maxShrinks !== undefined && shrinks >= shrink.maxShrinks;
        if (!shrink || spent || signal?.aborted || shrunk < 1 || !curableByShrinking(error)) {
          this.meter.recordFailure();
          throw error;
        }
        this.meter.recordRetry(false);
        call = { ...call, maxTokens: shrunk };
      }
    }
  }

  private async generateOnce(call: CallOptions, signal?: AbortSignal): Promise<TeacherCompletion> {
    const result = await withRetries(
      () => this.model.doGenerate(call),
      this.options.retry ?? defaultRetryPolicy,
      {
        ...this.options.retryEvents,
        onRetry: (info) => {
          this.meter.recordRetry(info.rateLimited);
          this.options.retryEvents?.onRetry?.(info);
        },
      },
      signal,
    );
    this.meter.record(this.model.modelId, result.usage);
    const choice = result.choices[0];
    return { text: choice?.text ?? "", finishReason: choice?.finishReason ?? "stop", completionTokens: choice?.completionTokens ?? result.usage.completionTokens, maxTokens: call.maxTokens };
  }
}
