// What both local engines (node-llama-cpp in process, llama-server supervised) do the same way around their
// own decoding: run the n choices of a call side by side as one stream of parts, and collect such a stream
// into a GenerateResult. Each engine supplies only how one choice runs.
import { InvalidArgumentError } from "../../errors/index.js";
import type { CallOptions, CallWarning, Choice, FinishReason, GenerateResult, RenderedPrompt, StreamPart, StreamResult, TokenLogprob } from "../../spec/index.js";
import type { ChoiceOutcome } from "../local/choice-runner.js";
import { summarizeTimings } from "../local/timings.js";

export interface ChoiceStreamOptions {
  n: number;
  warnings: CallWarning[];
  prompt: RenderedPrompt;
  /** undefined: the engine's own report of the prompt's size is taken (see ChoiceOutcome.reportedPromptTokens). */
  promptTokenCount: number | undefined;
  /** The caller's signal; cancelling the stream (a consumer's `break`) aborts too. */
  abortSignal?: AbortSignal;
  /** Runs choice `choiceIndex` to its end, streaming its text through `onText`; resolves "abort" when `signal` fires. */
  runChoice(choiceIndex: number, signal: AbortSignal, onText: (delta: string, logprobs: TokenLogprob[] | undefined) => void): Promise<ChoiceOutcome>;
  /** Called once every choice has settled, before the finish part (release what the call held). */
  onSettled?(): void;
}

/**
 * The part stream of one call: stream-start, each choice's deltas (interleaved) and its choice-finish, then
 * one finish with usage and timings; a failed choice ends as "error" and the call emits an error part.
 */
export function choiceStream(options: ChoiceStreamOptions): ReadableStream<StreamPart> {
  // Our own controller: cancelling the stream (a consumer's `break`) stops generation too.
  const abort = new AbortController();
  const onCallerAbort = () => abort.abort();
  options.abortSignal?.addEventListener("abort", onCallerAbort, { once: true });
  if (options.abortSignal?.aborted) abort.abort();
  const calledAt = performance.now();
  let open = true;
  return new ReadableStream<StreamPart>({
    start: (controller) => {
      const emit = (part: StreamPart) => {
        if (open) controller.enqueue(part);
      };
      emit({ type: "stream-start", warnings: options.warnings, prompt: options.prompt });
      const runOne = async (choiceIndex: number): Promise<ChoiceOutcome> => {
        const outcome = await options.runChoice(choiceIndex, abort.signal, (delta, logprobs) =>
          emit({ type: "text-delta", choiceIndex, delta, ...(logprobs ? { logprobs } : {}) }),
        );
        emit({
          type: "choice-finish",
          choiceIndex,
          finishReason: outcome.finishReason,
          ...(outcome.stopReason !== undefined ? { stopReason: outcome.stopReason } : {}),
          completionTokens: outcome.completionTokens,
        });
        return outcome;
      };
      void Promise.allSettled(Array.from({ length: options.n }, (_, index) => runOne(index))).then((settled) => {
        options.onSettled?.();
        options.abortSignal?.removeEventListener("abort", onCallerAbort);
        const failure = settled.find((result) => result.status === "rejected");
        const outcomes = settled.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
        if (failure) {
          settled.forEach((result, index) => {
            if (result.status === "rejected") emit({ type: "choice-finish", choiceIndex: index, finishReason: "error", completionTokens: 0 });
          });
          emit({ type: "error", error: failure.reason instanceof Error ? failure.reason : new Error(String(failure.reason)) });
        }
        const finishReason: FinishReason = failure ? "error" : abort.signal.aborted ? "abort" : (outcomes[0]?.finishReason ?? "stop");
        const completionTokens = outcomes.reduce((sum, outcome) => sum + outcome.completionTokens, 0);
        const promptTokens = options.promptTokenCount ?? outcomes.find((outcome) => outcome.reportedPromptTokens !== undefined)?.reportedPromptTokens ?? 0;
        emit({
          type: "finish",
          finishReason,
          usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
          timings: summarizeTimings(calledAt, outcomes),
        });
        if (open) controller.close();
        open = false;
      });
    },
    cancel: () => {
      open = false;
      abort.abort();
    },
  });
}

/** A whole result from a call's part stream (doGenerate on top of doStream). */
export async function generateFromStream(modelId: string, options: CallOptions, result: StreamResult): Promise<GenerateResult> {
  const { stream, warnings, prompt } = result;
  const n = options.n ?? 1;
  const choices: Choice[] = Array.from({ length: n }, (_, index) => ({ index, text: "", finishReason: "stop", completionTokens: 0 }));
  const wantLogprobs = options.logprobs === true || options.topLogprobs !== undefined;
  const reader = stream.getReader();
  let finish: Extract<StreamPart, { type: "finish" }> | undefined;
  for (;;) {
    const { done, value: part } = await reader.read();
    if (done) break;
    if (part.type === "text-delta") {
      const choice = choices[part.choiceIndex];
      choice.text += part.delta;
      if (wantLogprobs && part.logprobs) (choice.logprobs ??= []).push(...part.logprobs);
    } else if (part.type === "choice-finish") {
      const choice = choices[part.choiceIndex];
      choice.finishReason = part.finishReason;
      choice.completionTokens = part.completionTokens;
      if (part.stopReason !== undefined) choice.stopReason = part.stopReason;
    } else if (part.type === "finish") {
      finish = part;
    } else if (part.type === "error") {
      throw part.error;
    }
  }
  if (!finish) throw new Error("the stream ended without a finish part");
  if (wantLogprobs) for (const choice of choices) choice.logprobs ??= [];
  return { modelId, choices, usage: finish.usage, timings: finish.timings, warnings, ...(prompt ? { prompt } : {}) };
}

/** Every entry a token id of a vocabulary of `vocabularySize`, or an InvalidArgumentError naming the first that is not. */
export function checkTokenIds(tokens: unknown, vocabularySize: number, parameter: string): void {
  if (!Array.isArray(tokens)) throw new InvalidArgumentError(parameter, `${parameter} must be an array of token ids`);
  tokens.forEach((token, index) => {
    if (!Number.isInteger(token) || token < 0 || token >= vocabularySize) {
      throw new InvalidArgumentError(`${parameter}[${index}]`, `${parameter}[${index}] = ${String(token)} is not a token id (vocabulary size ${vocabularySize})`);
    }
  });
}
