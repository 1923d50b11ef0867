import { UpstreamError } from "../../src/errors/index.js";
import type { CallOptions, GenerateResult, LanguageModel, RenderedPrompt, StreamPart, StreamResult, Timings } from "../../src/spec/index.js";
import { MEDIA_MARKER } from "../../src/spec/messages.js";

export interface ScriptedModelSettings {
  modelId?: string;
  reply?: (options: CallOptions) => string;
  delayMs?: number;
  /** A message makes this stream call fail (an error part right after stream-start); `call` counts from 1. */
  fail?: (options: CallOptions, call: number) => string | undefined;
  /** After this many pieces the stream waits, sending nothing more, until the call is aborted. */
  stallAfterPieces?: number;
  /** Each streamed piece counts as one token and `maxTokens` cuts the reply (finish "length"), as a real model's would. */
  piecesAreTokens?: boolean;
  /** The timings the finish part reports. */
  timings?: Timings;
  /** Tokens each image takes (as a projector would say): rendered prompts with images report their spans. */
  imageTokens?: number;
}

/** Resolves when `signal` aborts (at once if it already has). */
const aborted = (signal: AbortSignal | undefined) =>
  new Promise<void>((resolve) => {
    if (!signal || signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });

/**
 * A LanguageModel double for tests of code that only sees the interface: it answers
 * "echo: <last user message>" (or `reply(options)`), streamed in small pieces, and renders
 * prompts as "role: content" lines so tests can assert what was sent. It can also fail a stream
 * (`fail`) or stall one mid-answer until it is aborted (`stallAfterPieces`).
 */
export function scriptedModel(settings: ScriptedModelSettings = {}) {
  const calls: CallOptions[] = [];
  const render = (options: CallOptions): RenderedPrompt => {
    const text = options.prompt ?? (options.messages ?? []).map((m) => `${m.role}: ${m.content}`).join("\n") + "\nassistant:";
    const known = ["scripted", "chatml", "vicuna-v1.1"];
    if (options.promptFormat && !known.includes(options.promptFormat)) throw new Error(`unknown prompt format "${options.promptFormat}"`);
    const tokens = [...text].map((c) => c.codePointAt(0)!);
    // One token per character; each marker's characters stand for the image, which takes imageTokens positions.
    const images = (options.messages ?? []).flatMap((m) => m.parts ?? []).flatMap((part) => (part.type === "image" ? [part.image] : []));
    const spans =
      settings.imageTokens === undefined || images.length === 0
        ? undefined
        : text.split(MEDIA_MARKER).slice(0, -1).map((_, index, pieces) => {
            const before = pieces.slice(0, index + 1).reduce((sum, piece) => sum + [...piece].length, 0);
            return { sha256: images[index].sha256, start: before + index * settings.imageTokens!, tokens: settings.imageTokens! };
          });
    return {
      text,
      tokens,
      ...(spans ? { images: spans, tokenCount: tokens.length - spans.length * [...MEDIA_MARKER].length + spans.length * settings.imageTokens! } : {}),
      format: options.prompt !== undefined
        ? { name: "raw", source: "raw", reason: "raw prompt" }
        : { name: options.promptFormat ?? "scripted", source: options.promptFormat ? "explicit" : "heuristic", reason: "test double" },
      formatStops: [],
      ...(options.messages ? { messages: options.messages } : {}),
    };
  };
  const replyFor = (options: CallOptions) =>
    settings.reply?.(options) ?? `echo: ${options.messages?.filter((m) => m.role === "user").at(-1)?.content ?? options.prompt ?? ""}`;

  const model: LanguageModel & { calls: CallOptions[] } = {
    specificationVersion: "camelid-v1",
    provider: "scripted",
    modelId: settings.modelId ?? "scripted",
    calls,
    async renderPrompt(options) {
      return render(options);
    },
    async doGenerate(options): Promise<GenerateResult> {
      calls.push(options);
      const prompt = render(options);
      const text = replyFor(options);
      return {
        modelId: model.modelId,
        choices: [{ index: 0, text, finishReason: "stop", completionTokens: text.length }],
        usage: { promptTokens: prompt.tokens!.length, completionTokens: text.length, totalTokens: prompt.tokens!.length + text.length },
        timings: { timeToFirstTokenMs: 1, totalMs: 1, tokensPerSecond: 1000 },
        warnings: [],
        prompt,
      };
    },
    async doStream(options): Promise<StreamResult> {
      calls.push(options);
      const prompt = render(options);
      const text = replyFor(options);
      const failure = settings.fail?.(options, calls.length);
      const allPieces = text.match(/.{1,3}/gsu) ?? [];
      const cut = settings.piecesAreTokens && options.maxTokens !== undefined && allPieces.length > options.maxTokens;
      const pieces = cut ? allPieces.slice(0, options.maxTokens) : allPieces;
      const stream = new ReadableStream<StreamPart>({
        async start(controller) {
          controller.enqueue({ type: "stream-start", warnings: [], prompt });
          if (failure !== undefined) {
            controller.enqueue({ type: "error", error: new UpstreamError(failure) });
            controller.close();
            return;
          }
          let emitted = 0;
          for (const [index, piece] of pieces.entries()) {
            if (index === settings.stallAfterPieces) await aborted(options.abortSignal);
            if (options.abortSignal?.aborted) break;
            if (settings.delayMs) await new Promise((r) => setTimeout(r, settings.delayMs));
            controller.enqueue({ type: "text-delta", choiceIndex: 0, delta: piece });
            emitted += settings.piecesAreTokens ? 1 : piece.length;
          }
          const finishReason = options.abortSignal?.aborted ? "abort" : cut ? "length" : "stop";
          controller.enqueue({ type: "choice-finish", choiceIndex: 0, finishReason, completionTokens: emitted });
          controller.enqueue({
            type: "finish",
            finishReason,
            usage: { promptTokens: prompt.tokens!.length, completionTokens: emitted, totalTokens: prompt.tokens!.length + emitted },
            timings: settings.timings ?? { timeToFirstTokenMs: 1, totalMs: 1, tokensPerSecond: 1000 },
          });
          controller.close();
        },
      });
      return { stream, warnings: [], prompt };
    },
  };
  return model;
}
