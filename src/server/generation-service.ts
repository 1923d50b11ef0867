// Runs one generation request against a served model: admission (scheduler), lazy load, the call
// with a cancellable signal, the request log and metrics. HTTP shapes live in routes/.
import { randomUUID } from "node:crypto";
import { AbortError, QueueFullError, UpstreamError, toHttpError } from "../errors/index.js";
import type { CallOptions, GenerateResult, RenderedPrompt, StreamPart, CallWarning, LanguageModel } from "../spec/index.js";
import type { ServerMetrics } from "./metrics.js";
import type { ModelEntry } from "./model-registry.js";
import type { Lease } from "./scheduling/scheduler.js";
import type { RequestLog, RequestOutcome } from "./store/request-log.js";

export type GenerationEndpoint = "chat.completions" | "completions";

export interface GenerationRequest {
  id: string;
  endpoint: GenerationEndpoint;
  entry: ModelEntry;
  options: CallOptions;
  /** Who is asking, for fair queueing and the log: an API key's name, else the peer address. */
  client: string;
  /** The API key that owns the log row (null without keys): only it and admin keys see the row. */
  owner: string | null;
  /** Fires when the client goes away; the model call is aborted and its sequences freed. */
  signal: AbortSignal;
  /** What the request log keeps of the request as received. */
  logged: { messages?: unknown; parameters: Record<string, unknown> };
}

/** A stream that has produced its first real part, so setup errors were already thrown as HTTP errors. */
export interface ServedStream {
  prompt?: RenderedPrompt;
  warnings: CallWarning[];
  /** Parts after stream-start; ending the iteration early (client gone) cancels the model call. */
  parts: AsyncGenerator<StreamPart, void, undefined>;
  /** For a consumer that will never iterate `parts`: aborts the call and frees its sequences. */
  cancel(): Promise<void> | undefined;
}

interface Admitted {
  lease: Lease;
  model: LanguageModel;
  controller: AbortController;
  unlink: () => void;
  startedAt: number;
}

export class GenerationService {
  /** Internal errors already written to stderr and the log, with the request id they were logged under. */
  private readonly reported = new WeakMap<object, string>();

  constructor(
    private readonly metrics: ServerMetrics,
    private readonly requestLog?: RequestLog,
    /** Operational warnings and internal errors (with stacks). */
    private readonly log: (line: string) => void = () => undefined,
  ) {
    requestLog?.reportLostStartsTo((error) => this.onLogError(error));
  }

  /**
   * An error that became a 500 (a bug: input errors are 4xx): its stack goes to the log sink and to
   * the request log, once, under a request id the response carries. Returns that id.
   */
  reportInternalError(error: unknown, where: { id?: string; endpoint: string; owner: string | null; client: string }): string {
    const key = typeof error === "object" && error !== null ? error : undefined;
    const known = key && this.reported.get(key);
    if (known) return known;
    const id = where.id ?? `error-${randomUUID()}`;
    if (key) this.reported.set(key, id);
    const trace = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
    this.log(`internal error in ${where.endpoint} (request ${id}): ${trace}`);
    if (!where.id) {
      try {
        this.requestLog?.recordInternalError({ id, endpoint: where.endpoint, owner: where.owner, client: where.client, error: trace });
      } catch (logError) {
        this.onLogError(logError);
      }
    }
    return id;
  }

  private onLogError(error: unknown): void {
    this.metrics.logFailures.inc({});
    this.log(`request log write failed: ${error instanceof Error ? error.message : String(error)}`);
  }

  async generate(request: GenerationRequest): Promise<GenerateResult> {
    const admitted = await this.admit(request, false);
    try {
      const result = await admitted.model.doGenerate({ ...request.options, abortSignal: admitted.controller.signal });
      const elapsedMs = performance.now() - admitted.startedAt;
      const aborted = request.signal.aborted || result.choices.some((choice) => choice.finishReason === "abort");
      await this.finishLogSoon(request, {
        status: aborted ? "aborted" : "completed",
        httpStatus: aborted ? 499 : 200,
        prompt: result.prompt?.text ?? request.options.prompt,
        output: result.choices.map((choice) => choice.text),
        finishReasons: result.choices.map((choice) => choice.finishReason),
        promptTokens: result.usage.promptTokens,
        completionTokens: result.usage.completionTokens,
        timeToFirstTokenMs: result.timings.timeToFirstTokenMs,
        totalMs: elapsedMs,
        tokensPerSecond: result.timings.tokensPerSecond,
        ...(result.servedBy !== undefined ? { replica: result.servedBy } : {}),
      });
      this.countSuccess(request, result.usage.promptTokens, result.usage.completionTokens, result.timings.timeToFirstTokenMs, result.timings.tokensPerSecond, elapsedMs);
      return result;
    } catch (error) {
      this.recordFailure(request, error, admitted.startedAt);
      throw request.signal.aborted && !(error instanceof AbortError) ? new AbortError() : error;
    } finally {
      admitted.unlink();
      admitted.lease.release();
    }
  }

  async openStream(request: GenerationRequest): Promise<ServedStream> {
    const admitted = await this.admit(request, true);
    let reader: ReadableStreamDefaultReader<StreamPart>;
    let result;
    try {
      result = await admitted.model.doStream({ ...request.options, abortSignal: admitted.controller.signal });
      reader = result.stream.getReader();
    } catch (error) {
      this.recordFailure(request, error, admitted.startedAt);
      admitted.unlink();
      admitted.lease.release();
      throw error;
    }
    let prompt = result.prompt;
    let warnings = result.warnings;
    // Read until the first real part: an error there (context too long, bad grammar) still becomes a
    // proper HTTP status instead of an error event inside a 200 stream.
    let first: StreamPart | undefined;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (value.type === "stream-start") {
          prompt = value.prompt ?? prompt;
          warnings = value.warnings.length > 0 ? value.warnings : warnings;
          continue;
        }
        first = value;
        break;
      }
      if (!first) throw new UpstreamError("the model's stream ended before producing anything");
      if (first.type === "error") throw first.error;
    } catch (error) {
      await reader.cancel().catch(() => undefined);
      this.recordFailure(request, error, admitted.startedAt, prompt?.text ?? request.options.prompt);
      admitted.unlink();
      admitted.lease.release();
      throw error;
    }
    return this.followStream(request, admitted, reader, first, prompt, warnings, result.servedBy);
  }

  private followStream(
    request: GenerationRequest,
    admitted: Admitted,
    reader: ReadableStreamDefaultReader<StreamPart>,
    first: StreamPart,
    prompt: RenderedPrompt | undefined,
    warnings: CallWarning[],
    servedBy: string | undefined,
  ): ServedStream {
    const replica = servedBy !== undefined ? { replica: servedBy } : {};
    const texts: string[] = [];
    const finishReasons: string[] = [];
    const promptText = prompt?.text ?? request.options.prompt;
    let completionTokens = 0;
    let firstTokenMs: number | undefined;
    let settled = false;
    let started = false;

    const observe = (part: StreamPart) => {
      if (part.type === "text-delta") {
        firstTokenMs ??= performance.now() - admitted.startedAt;
        texts[part.choiceIndex] = (texts[part.choiceIndex] ?? "") + part.delta;
      } else if (part.type === "choice-finish") {
        finishReasons[part.choiceIndex] = part.finishReason;
        completionTokens += part.completionTokens;
      }
    };
    /** The model is done with its sequences: give them back now, not when the client reads the end. */
    const release = () => {
      request.signal.removeEventListener("abort", onClientGone);
      admitted.unlink();
      admitted.lease.release();
    };
    /** The client went away (or stopped reading) before the end: abort, log, free the sequences. */
    const abandon = async () => {
      if (settled) return;
      settled = true;
      admitted.controller.abort();
      await reader.cancel().catch(() => undefined);
      this.finishLog(request, {
        status: "aborted",
        httpStatus: 499,
        prompt: promptText,
        output: Array.from(texts, (text) => text ?? ""),
        completionTokens,
        timeToFirstTokenMs: firstTokenMs,
        totalMs: performance.now() - admitted.startedAt,
        error: "client disconnected",
        ...replica,
      });
      this.metrics.requests.inc({ model: request.entry.id, endpoint: request.endpoint, status: "499" });
      release();
    };
    // A client can leave before the consumer ever starts iterating; a generator that never started
    // runs no finally, so the disconnect itself must clean up.
    const onClientGone = () => {
      if (!started) void abandon();
    };
    request.signal.addEventListener("abort", onClientGone, { once: true });

    const service = this;
    async function* parts(): AsyncGenerator<StreamPart, void, undefined> {
      started = true;
      if (settled) return;
      try {
        let part: StreamPart | undefined = first;
        while (part) {
          observe(part);
          if (part.type === "finish") {
            const finish = part;
            settled = true;
            const totalMs = performance.now() - admitted.startedAt;
            // Logged before the client sees the finish: "completed" on the client means on disk here.
            await service.finishLogSoon(request, {
              status: finish.finishReason === "abort" ? "aborted" : "completed",
              httpStatus: 200,
              prompt: promptText,
              output: Array.from(texts, (text) => text ?? ""),
              finishReasons: Array.from(finishReasons, (reason) => reason ?? finish.finishReason),
              promptTokens: finish.usage.promptTokens,
              completionTokens: finish.usage.completionTokens || completionTokens,
              timeToFirstTokenMs: firstTokenMs ?? finish.timings.timeToFirstTokenMs,
              totalMs,
              tokensPerSecond: finish.timings.tokensPerSecond,
              ...replica,
            });
            service.countSuccess(request, finish.usage.promptTokens, finish.usage.completionTokens, firstTokenMs, finish.timings.tokensPerSecond, totalMs);
            release();
            yield finish;
            return;
          }
          if (part.type === "error") {
            settled = true;
            service.recordFailure(request, part.error, admitted.startedAt, promptText, servedBy);
            await reader.cancel().catch(() => undefined);
            release();
            yield part;
            return;
          }
          yield part;
          const next = await reader.read();
          part = next.done ? undefined : next.value;
        }
        settled = true;
        const error = new UpstreamError("the model's stream ended without a finish");
        service.recordFailure(request, error, admitted.startedAt, promptText, servedBy);
        release();
        yield { type: "error", error };
      } finally {
        // Stopped early (the consumer returned): the client disconnected mid-stream.
        if (!settled) await abandon();
      }
    }

    return { prompt, warnings, parts: parts(), cancel: () => (started ? undefined : abandon()) };
  }

  /** Waits for sequences, loads the model, writes the log's "running" row. */
  private async admit(request: GenerationRequest, stream: boolean): Promise<Admitted> {
    const startedAt = performance.now();
    const weight = request.options.n ?? 1;
    let lease: Lease;
    try {
      lease = await request.entry.scheduler.acquire(request.client, weight, request.signal);
    } catch (error) {
      if (error instanceof QueueFullError) this.metrics.rejected.inc({ model: request.entry.id });
      this.countFailure(request, error);
      throw error;
    }
    let model: LanguageModel;
    try {
      model = await request.entry.model();
    } catch (error) {
      lease.release();
      this.countFailure(request, error);
      throw error;
    }
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    request.signal.addEventListener("abort", onAbort, { once: true });
    if (request.signal.aborted) controller.abort();
    try {
      this.requestLog?.start({
        id: request.id,
        endpoint: request.endpoint,
        model: request.entry.id,
        client: request.client,
        owner: request.owner,
        stream,
        messages: request.logged.messages,
        parameters: request.logged.parameters,
      });
    } catch (error) {
      this.onLogError(error);
    }
    return { lease, model, controller, unlink: () => request.signal.removeEventListener("abort", onAbort), startedAt };
  }

  private finishLog(request: GenerationRequest, outcome: RequestOutcome): void {
    try {
      this.requestLog?.complete(request.id, outcome);
    } catch (error) {
      // A full or broken disk must not take serving down with it (nor leak the request's sequences).
      this.onLogError(error);
    }
  }

  /** finishLog, committed together with the other rows finishing in the same tick (see RequestLog.completeSoon). */
  private async finishLogSoon(request: GenerationRequest, outcome: RequestOutcome): Promise<void> {
    try {
      await this.requestLog?.completeSoon(request.id, outcome);
    } catch (error) {
      this.onLogError(error);
    }
  }

  private recordFailure(request: GenerationRequest, error: unknown, startedAt: number, prompt?: string, replica?: string): void {
    const aborted = request.signal.aborted || error instanceof AbortError;
    const status = aborted ? 499 : toHttpError(error).status;
    const internal = status === 500;
    if (internal) this.reportInternalError(error, { id: request.id, endpoint: request.endpoint, owner: request.owner, client: request.client });
    this.finishLog(request, {
      status: aborted ? "aborted" : "error",
      httpStatus: status,
      prompt,
      totalMs: performance.now() - startedAt,
      error: error instanceof Error ? (internal ? (error.stack ?? error.message) : error.message) : String(error),
      ...(replica !== undefined ? { replica } : {}),
    });
    this.metrics.requests.inc({ model: request.entry.id, endpoint: request.endpoint, status: String(status) });
  }

  private countFailure(request: GenerationRequest, error: unknown): void {
    this.metrics.requests.inc({ model: request.entry.id, endpoint: request.endpoint, status: String(toHttpError(error).status) });
  }

  private countSuccess(
    request: GenerationRequest,
    promptTokens: number,
    completionTokens: number,
    timeToFirstTokenMs: number | undefined,
    tokensPerSecond: number | undefined,
    totalMs: number,
  ): void {
    const model = request.entry.id;
    this.metrics.requests.inc({ model, endpoint: request.endpoint, status: "200" });
    this.metrics.promptTokens.inc({ model }, promptTokens);
    this.metrics.completionTokens.inc({ model }, completionTokens);
    if (timeToFirstTokenMs !== undefined) this.metrics.timeToFirstToken.observe({ model }, timeToFirstTokenMs / 1000);
    if (tokensPerSecond !== undefined && tokensPerSecond > 0) this.metrics.tokensPerSecond.observe({ model }, tokensPerSecond);
    this.metrics.requestDuration.observe({ model }, totalMs / 1000);
  }
}
