import { AbortError, type CamelidError, ConnectionError, TimeoutError } from "../../errors/index.js";

/**
 * One HTTP attempt's cancellation: the caller's AbortSignal, our timeout and a consumer cancelling
 * the stream all abort the same controller, and `cause` remembers which one did, so a failed read can
 * be reported as TimeoutError / AbortError instead of whatever the fetch implementation throws.
 */
export class RequestLifetime {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private abortCause: CamelidError | undefined;
  private readonly onCallerAbort = () => this.abort(new AbortError());

  constructor(
    private readonly callerSignal: AbortSignal | undefined,
    private readonly timeoutMs: number,
  ) {
    if (callerSignal?.aborted) this.abort(new AbortError());
    else callerSignal?.addEventListener("abort", this.onCallerAbort, { once: true });
    this.restartTimeout();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Why the attempt was aborted, if it was. */
  get cause(): CamelidError | undefined {
    return this.abortCause;
  }

  /** Start (or restart, on each streamed chunk) the countdown; streams use it as an idle timeout. */
  restartTimeout(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (!Number.isFinite(this.timeoutMs) || this.abortCause) return;
    this.timer = setTimeout(() => this.abort(new TimeoutError(this.timeoutMs)), this.timeoutMs);
  }

  /** Stop the countdown while nobody waits on the server (a stream whose consumer is busy elsewhere). */
  pauseTimeout(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  abort(cause: CamelidError): void {
    if (this.abortCause) return;
    this.abortCause = cause;
    this.controller.abort(cause);
    this.dispose();
  }

  /** The typed error for a failure seen while this attempt was live. */
  errorFor(failure: unknown, doing: string): CamelidError {
    if (this.abortCause) return this.abortCause;
    const undiciTimeout = undiciTimeoutCode(failure);
    if (undiciTimeout) {
      // Node's built-in fetch gives up on its own after 300 s without headers (or between body
      // chunks): a timeout like ours, so it is reported, and not retried, as one.
      return new TimeoutError(300_000, `${doing}: Node's fetch stopped waiting after its built-in 300 s limit (${undiciTimeout})`);
    }
    const detail = describeNetworkFailure(failure);
    return new ConnectionError(`${doing}: ${detail}`, { cause: failure });
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.callerSignal?.removeEventListener("abort", this.onCallerAbort);
  }
}

/** undici hides the useful part ("ECONNREFUSED", "other side closed") in `cause`. */
function describeNetworkFailure(failure: unknown): string {
  if (!(failure instanceof Error)) return String(failure);
  const cause = failure.cause;
  if (cause instanceof Error && cause.message && cause.message !== failure.message) {
    const code = (cause as { code?: unknown }).code;
    return `${failure.message} (${typeof code === "string" ? `${code}: ` : ""}${cause.message})`;
  }
  return failure.message;
}

function undiciTimeoutCode(failure: unknown): string | undefined {
  const cause = failure instanceof Error ? failure.cause : undefined;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT" ? code : undefined;
}
