import type { CallOptions, ChatMessage, FinishReason, LanguageModel } from "../../spec/index.js";
import { defaultRetryPolicy, withRetries, type RetryEvents, type RetryPolicy } from "./retry.js";
import type { UsageMeter } from "./usage-meter.js";

export interface TeacherCompletion {
  text: string;
  finishReason: FinishReason;
}

/** Sampling settings a pipeline step asks for (every one is a flag on the command). */
export type SamplingSettings = Pick<
  CallOptions,
  "maxTokens" | "temperature" | "topP" | "topK" | "stop" | "seed" | "presencePenalty" | "frequencyPenalty" | "repeatPenalty"
>;

export interface TeacherOptions {
  /**
   * "completion": the prompt goes to the model as raw text (Alpaca used a completions model).
   * "chat": it becomes one user message, for chat-only teachers.
   */
  promptStyle?: "completion" | "chat";
  retry?: RetryPolicy;
  retryEvents?: RetryEvents;
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
    try {
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
      return { text: choice?.text ?? "", finishReason: choice?.finishReason ?? "stop" };
    } catch (error) {
      this.meter.recordFailure();
      throw error;
    }
  }
}
