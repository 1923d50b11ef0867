// A deterministic LanguageModel for server tests: one character = one token, words as output tokens,
// a per-token delay, and counters that show whether the server frees sequences.
import { AbortError, ContextLengthExceededError } from "../../../src/errors/index.js";
import type {
  CallOptions,
  CallWarning,
  Choice,
  GenerateResult,
  LanguageModel,
  RenderedPrompt,
  StreamPart,
  StreamResult,
  TokenLogprob,
} from "../../../src/spec/index.js";

export const storyWords = "Once upon a time there was a little girl named Lily who loved to play in the park with her friends".split(" ");

export interface FakeModelOptions {
  modelId?: string;
  contextSize?: number;
  /** Milliseconds between generated tokens. */
  tokenDelayMs?: number;
  /** Report context overflow as an error part instead of throwing from doStream. */
  overflowAsErrorPart?: boolean;
}

export class FakeModel implements LanguageModel {
  readonly specificationVersion = "camelid-v1" as const;
  readonly provider = "fake";
  readonly modelId: string;
  readonly contextSize: number;
  readonly tokenDelayMs: number;
  active = 0;
  maxActive = 0;
  aborted = 0;
  /** Decode steps that produced tokens, over every call: lets tests count what happened after an event instead of timing it. */
  steps = 0;
  calls: CallOptions[] = [];

  constructor(private readonly options: FakeModelOptions = {}) {
    this.modelId = options.modelId ?? "fake";
    this.contextSize = options.contextSize ?? 256;
    this.tokenDelayMs = options.tokenDelayMs ?? 0;
  }

  async renderPrompt(options: CallOptions): Promise<RenderedPrompt> {
    const text =
      options.prompt ?? (options.messages ?? []).map((m) => `${m.role.toUpperCase()}: ${m.content}\n`).join("") + "ASSISTANT:";
    return {
      text,
      tokens: await this.tokenize(text, { addBos: true }),
      format: options.prompt !== undefined ? { name: "raw", source: "raw", reason: "raw prompt" } : { name: "fake-chat", source: "heuristic", reason: "test double" },
      formatStops: options.prompt !== undefined ? [] : ["\nUSER:"],
      ...(options.messages ? { messages: options.messages } : {}),
    };
  }

  async tokenize(text: string, options?: { addBos?: boolean }): Promise<number[]> {
    const ids = [...text].map((ch) => ch.codePointAt(0)!);
    return options?.addBos === false ? ids : [1, ...ids];
  }

  async detokenize(tokens: number[]): Promise<string> {
    return tokens.filter((t) => t !== 1).map((t) => String.fromCodePoint(t)).join("");
  }

  async doGenerate(options: CallOptions): Promise<GenerateResult> {
    const { stream, prompt, warnings } = await this.doStream(options);
    const choices: Choice[] = [];
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) throw new Error("fake stream ended without finish");
      if (value.type === "text-delta") {
        choices[value.choiceIndex] ??= { index: value.choiceIndex, text: "", finishReason: "stop", completionTokens: 0 };
        choices[value.choiceIndex].text += value.delta;
        if (value.logprobs) (choices[value.choiceIndex].logprobs ??= []).push(...value.logprobs);
      } else if (value.type === "choice-finish") {
        choices[value.choiceIndex] ??= { index: value.choiceIndex, text: "", finishReason: "stop", completionTokens: 0 };
        choices[value.choiceIndex].finishReason = value.finishReason;
        choices[value.choiceIndex].completionTokens = value.completionTokens;
      } else if (value.type === "error") {
        throw value.error;
      } else if (value.type === "finish") {
        if (value.finishReason === "abort") throw new AbortError();
        return { modelId: this.modelId, choices, usage: value.usage, timings: value.timings, warnings, prompt };
      }
    }
  }

  async doStream(options: CallOptions): Promise<StreamResult> {
    this.calls.push(options);
    const prompt = await this.renderPrompt(options);
    const promptTokens = prompt.tokens!.length;
    if (promptTokens > this.contextSize && !this.options.overflowAsErrorPart) throw new ContextLengthExceededError(promptTokens, this.contextSize);
    const warnings: CallWarning[] =
      options.topK !== undefined ? [{ type: "unsupported-setting", setting: "topK", message: "the fake model ignores topK — ß" }] : [];
    const n = options.n ?? 1;
    const maxTokens = Math.min(options.maxTokens ?? 16, this.contextSize);
    const stops = options.stop ?? [];
    const started = performance.now();
    const model = this;
    const signal = options.abortSignal;
    let sequencesHeld = 0;
    let steps = 0;
    const releaseSequences = () => {
      model.active -= sequencesHeld;
      sequencesHeld = 0;
    };
    const stream = new ReadableStream<StreamPart>({
      async start(controller) {
        controller.enqueue({ type: "stream-start", warnings, prompt });
        if (promptTokens > model.contextSize) {
          controller.enqueue({ type: "error", error: new ContextLengthExceededError(promptTokens, model.contextSize) });
          controller.close();
          return;
        }
        sequencesHeld = n;
        model.active += n;
        model.maxActive = Math.max(model.maxActive, model.active);
      },
      async pull(controller) {
        // One pull = one decode step for every choice: the whole batch advances by one token.
        const step = steps++;
        if (model.tokenDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, model.tokenDelayMs));
        if (signal?.aborted) {
          model.aborted++;
          releaseSequences();
          for (let index = 0; index < n; index++) controller.enqueue({ type: "choice-finish", choiceIndex: index, finishReason: "abort", completionTokens: step });
          controller.enqueue(finishPart("abort", promptTokens, step * n, started));
          controller.close();
          return;
        }
        if (step >= maxTokens) {
          releaseSequences();
          for (let index = 0; index < n; index++) controller.enqueue({ type: "choice-finish", choiceIndex: index, finishReason: "length", completionTokens: maxTokens });
          controller.enqueue(finishPart("length", promptTokens, maxTokens * n, started));
          controller.close();
          return;
        }
        model.steps++;
        for (let index = 0; index < n; index++) {
          const word = storyWords[(step + index) % storyWords.length];
          const delta = step === 0 ? word : ` ${word}`;
          if (stops.some((stop) => delta.includes(stop))) continue;
          const logprobs: TokenLogprob[] | undefined = options.logprobs
            ? [{ token: delta, logprob: -0.25, topLogprobs: Array.from({ length: options.topLogprobs ?? 0 }, (_, k) => ({ token: `alt${k}`, logprob: -1 - k })) }]
            : undefined;
          controller.enqueue({ type: "text-delta", choiceIndex: index, delta, ...(logprobs ? { logprobs } : {}) });
        }
      },
      cancel() {
        model.aborted++;
        releaseSequences();
      },
    });
    return { stream, warnings, prompt };
  }
}

function finishPart(finishReason: "abort" | "length", promptTokens: number, completionTokens: number, started: number): StreamPart {
  const totalMs = performance.now() - started;
  return {
    type: "finish",
    finishReason,
    usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
    timings: { timeToFirstTokenMs: 1, totalMs, tokensPerSecond: completionTokens / Math.max(totalMs / 1000, 1e-3) },
  };
}
