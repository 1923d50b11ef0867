import { type CamelidError, UpstreamError } from "../../errors/index.js";
import type { CallWarning, FinishReason, TokenLogprob } from "../../spec/results.js";
import type { StreamPart } from "../../spec/stream-parts.js";
import { errorFromResponse, extractErrorDetails, statusOfStreamError } from "./error-mapping.js";
import { parseJsonOrUndefined } from "./http-transport.js";
import { mapFinishReason, mapLogprobs, mapStopReason, mapUsage, measureTimings } from "./response-mapping.js";
import { chatChunkSchema, completionChunkSchema, type WireTimings, type WireUsage } from "./response-schemas.js";
import type { ServerSentEvent } from "./sse-parser.js";

interface ChoiceProgress {
  chunks: number;
  logprobTokens: number;
  sawLogprobs: boolean;
  /** A high surrogate that ended a delta: its pair is in the next delta (servers that split UTF-16 pairs). */
  heldSurrogate: string;
  finish?: { finishReason: FinishReason; stopReason?: string };
  finishEmitted: boolean;
}

export interface AssemblerOptions {
  api: "chat" | "completions";
  /** n requested: with a single choice its finish waits for the usage chunk, so its token count is the server's. */
  requestedChoices: number;
  keepAlternatives: boolean;
  startedAt: number;
  url: string;
  modelId: string;
  /** Warnings discovered mid-stream (odd finish reasons) are appended here. */
  warnings: CallWarning[];
  now?: () => number;
}

/**
 * Turns the SSE events of one chat/completions stream into our stream parts: deltas per choice
 * (n > 1 choices interleave freely), choice ends, and one closing finish with usage and timings.
 * Errors and aborts close every open choice so a consumer always sees every choice end.
 */
export class StreamAssembler {
  private readonly choices = new Map<number, ChoiceProgress>();
  private usage: WireUsage | undefined;
  private serverTimings: WireTimings | undefined;
  private firstTokenAt: number | undefined;
  private finished = false;
  private readonly now: () => number;

  constructor(private readonly options: AssemblerOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** Parts for one event; "[DONE]" closes the stream. Throws the typed error an error event carries. */
  handleEvent(event: ServerSentEvent): StreamPart[] {
    if (this.finished) return [];
    if (event.data === "[DONE]") return this.complete();
    const payload = parseJsonOrUndefined(event.data);
    if (payload === undefined) {
      throw new UpstreamError(`${this.options.url} streamed an event that is not JSON: ${event.data.slice(0, 200)}`, undefined, event.data);
    }
    // llama-server's `error:` line carries the bare error object ({code, message, type, n_ctx...}).
    const body = event.event === "error" && extractErrorDetails(payload) === undefined ? { error: payload } : payload;
    const errorDetails = extractErrorDetails(body);
    if (event.event === "error" || errorDetails) {
      throw errorFromResponse({
        status: statusOfStreamError(errorDetails),
        body,
        bodyText: event.data,
        url: this.options.url,
        modelId: this.options.modelId,
      });
    }
    return this.handleChunk(payload);
  }

  private handleChunk(payload: unknown): StreamPart[] {
    const schema = this.options.api === "chat" ? chatChunkSchema : completionChunkSchema;
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UpstreamError(
        `${this.options.url} streamed a malformed chunk (${issue.path.join(".") || "chunk"}: ${issue.message})`,
        undefined,
        payload,
      );
    }
    const chunk = parsed.data;
    if (chunk.usage) this.usage = chunk.usage;
    if (chunk.timings) this.serverTimings = chunk.timings;
    const parts: StreamPart[] = [];
    for (const wireChoice of chunk.choices ?? []) {
      const progress = this.progressOf(wireChoice.index);
      const rawText = "delta" in wireChoice ? wireChoice.delta?.content : "text" in wireChoice ? wireChoice.text : undefined;
      const logprobs = mapLogprobs(wireChoice.logprobs, this.options.keepAlternatives);
      if (logprobs) {
        progress.sawLogprobs = true;
        progress.logprobTokens += logprobs.length;
      }
      const text = this.releaseWholeCharacters(progress, rawText ?? "");
      if (text !== "" || (logprobs && logprobs.length > 0)) {
        progress.chunks++;
        this.firstTokenAt ??= this.now();
        const delta: StreamPart & { type: "text-delta" } = { type: "text-delta", choiceIndex: wireChoice.index, delta: text };
        if (logprobs) delta.logprobs = logprobs as TokenLogprob[];
        parts.push(delta);
      }
      if (wireChoice.finish_reason) {
        const mapped = mapFinishReason(wireChoice.finish_reason, wireChoice.index);
        if (mapped.warning) this.options.warnings.push(mapped.warning);
        progress.finish = { finishReason: mapped.finishReason, stopReason: mapStopReason(wireChoice.stop_reason) };
        if (progress.heldSurrogate) {
          parts.push({ type: "text-delta", choiceIndex: wireChoice.index, delta: progress.heldSurrogate });
          progress.heldSurrogate = "";
        }
        if (this.options.requestedChoices > 1) parts.push(this.choiceFinishPart(wireChoice.index, progress));
      }
    }
    return parts;
  }

  /** The normal end ([DONE]): close open choices as "stop" and report usage and timings. */
  complete(): StreamPart[] {
    return this.close(undefined);
  }

  /** An abnormal end: open choices finish with "abort" (the caller's signal) or "error" (anything else). */
  fail(error: CamelidError): StreamPart[] {
    return this.close(error);
  }

  private close(error: CamelidError | undefined): StreamPart[] {
    if (this.finished) return [];
    this.finished = true;
    const aborted = error?.code === "aborted";
    const openReason: FinishReason = error === undefined ? "stop" : aborted ? "abort" : "error";
    if (error === undefined && this.choices.size === 0) this.progressOf(0);
    const parts: StreamPart[] = [];
    for (const [index, progress] of [...this.choices.entries()].sort(([a], [b]) => a - b)) {
      if (progress.finishEmitted) continue;
      if (progress.heldSurrogate) parts.push({ type: "text-delta", choiceIndex: index, delta: progress.heldSurrogate });
      if (!progress.finish && error) progress.finish = { finishReason: openReason };
      if (!progress.finish) {
        const mapped = mapFinishReason(undefined, index);
        if (mapped.warning) this.options.warnings.push(mapped.warning);
        progress.finish = { finishReason: mapped.finishReason };
      }
      parts.push(this.choiceFinishPart(index, progress));
    }
    if (error && !aborted) parts.push({ type: "error", error });
    const counted = [...this.choices.values()].reduce((sum, progress) => sum + this.countedTokens(progress), 0);
    const usage = mapUsage(this.usage, counted);
    if (!this.usage && !error) {
      this.options.warnings.push({ type: "other", message: "the server reported no usage; completion tokens were counted from the stream, prompt tokens are unknown (0)" });
    }
    const timings = measureTimings({
      startedAt: this.options.startedAt,
      firstTokenAt: this.firstTokenAt,
      finishedAt: this.now(),
      completionTokens: usage.completionTokens,
      choicesStarted: [...this.choices.values()].filter((progress) => progress.chunks > 0).length,
      server: this.serverTimings,
    });
    parts.push({ type: "finish", finishReason: this.overallReason(error), usage, timings });
    return parts;
  }

  private overallReason(error: CamelidError | undefined): FinishReason {
    if (error) return error.code === "aborted" ? "abort" : "error";
    // As the local provider reports it: the first choice's reason stands for the call.
    const first = [...this.choices.entries()].sort(([a], [b]) => a - b)[0]?.[1];
    return first?.finish?.finishReason ?? "stop";
  }

  private choiceFinishPart(index: number, progress: ChoiceProgress): StreamPart {
    progress.finishEmitted = true;
    const finish = progress.finish ?? { finishReason: "stop" as const };
    const singleChoice = this.options.requestedChoices === 1 && this.choices.size === 1;
    const completionTokens = singleChoice && this.usage?.completion_tokens != null ? this.usage.completion_tokens : this.countedTokens(progress);
    const part: StreamPart = { type: "choice-finish", choiceIndex: index, finishReason: finish.finishReason, completionTokens };
    if (finish.stopReason !== undefined) part.stopReason = finish.stopReason;
    return part;
  }

  /** Logprob entries are exact token counts; otherwise each content chunk is one token, as these servers send them. */
  private countedTokens(progress: ChoiceProgress): number {
    return progress.sawLogprobs ? progress.logprobTokens : progress.chunks;
  }

  private progressOf(index: number): ChoiceProgress {
    let progress = this.choices.get(index);
    if (!progress) {
      progress = { chunks: 0, logprobTokens: 0, sawLogprobs: false, heldSurrogate: "", finishEmitted: false };
      this.choices.set(index, progress);
    }
    return progress;
  }

  private releaseWholeCharacters(progress: ChoiceProgress, text: string): string {
    let combined = progress.heldSurrogate + text;
    progress.heldSurrogate = "";
    const last = combined.charCodeAt(combined.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      progress.heldSurrogate = combined.slice(-1);
      combined = combined.slice(0, -1);
    }
    return combined;
  }
}
