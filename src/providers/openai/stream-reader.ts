import { AbortError, type CamelidError, ConnectionError, isCamelidError, UpstreamError } from "../../errors/index.js";
import { errorFromResponse, extractErrorDetails, statusOfStreamError } from "./error-mapping.js";
import type { StreamPart } from "../../spec/stream-parts.js";
import { type OpenResponse, readJsonBody } from "./http-transport.js";
import { ServerSentEventParser } from "./sse-parser.js";
import type { StreamAssembler } from "./stream-assembly.js";

/**
 * The part stream of one streamed response. It owns the HTTP body: the caller's AbortSignal, the idle
 * timeout and `cancel()` (a consumer's `break`) all abort the request. Once any byte has arrived
 * nothing is retried: a failure becomes an error part (or "abort") and the stream closes.
 */
export function partStreamFromResponse(
  open: OpenResponse,
  assembler: StreamAssembler,
  firstParts: StreamPart[],
  url: string,
): ReadableStream<StreamPart> {
  const body = open.response.body;
  const reader = body?.getReader();
  const parser = new ServerSentEventParser();
  open.lifetime.pauseTimeout(); // until the consumer first reads: see pull

  const tearDown = () => {
    open.lifetime.dispose();
    reader?.cancel().catch(() => undefined);
  };
  // After [DONE] the server is about to end the response: read its last bytes so the connection
  // closes cleanly (and can be reused) rather than being torn down, but never more than a little.
  const drainThenTearDown = async () => {
    let budget = 64 * 1024;
    open.lifetime.restartTimeout();
    try {
      while (reader && budget > 0) {
        const { done, value } = await reader.read();
        if (done) break;
        budget -= value.byteLength;
      }
    } catch {
      // The stream is already complete; a failure after it changes nothing.
    } finally {
      tearDown();
    }
  };
  const release = () => {
    if (open.lifetime.cause) tearDown();
    else void drainThenTearDown();
  };

  let closed = false;
  return new ReadableStream<StreamPart>({
    start(controller) {
      for (const part of firstParts) controller.enqueue(part);
    },
    async pull(controller) {
      let emitted = 0;
      const emit = (parts: StreamPart[]) => {
        if (closed) return;
        for (const part of parts) controller.enqueue(part);
        emitted += parts.length;
        if (assembler.isFinished) {
          closed = true;
          release();
          controller.close();
        }
      };
      const failWith = (error: CamelidError) => emit(assembler.fail(error));
      if (!reader) {
        failWith(new UpstreamError(`${url} answered without a body`));
        return;
      }
      // The idle timeout measures the server's silence, not the consumer's: it runs only inside pull.
      open.lifetime.restartTimeout();
      try {
        // Many chunks complete no part (role-only, finish and usage chunks, keep-alive comments), and
        // the stream calls pull again only when its reader asks: keep reading until a part is out.
        while (emitted === 0 && !closed) {
          const { done, value } = await reader.read();
          open.lifetime.restartTimeout();
          if (done) {
            const end = parser.finish();
            for (const event of end.events) emit(assembler.handleEvent(event));
            if (!assembler.isFinished) {
              const how = end.unterminatedEvent ? "in the middle of an event" : "without [DONE]";
              failWith(new ConnectionError(`the stream from ${url} ended ${how}`));
            }
            return;
          }
          for (const event of parser.push(value)) {
            emit(assembler.handleEvent(event));
            if (closed) return;
          }
        }
      } catch (failure) {
        if (closed) return;
        const error =
          isCamelidError(failure) && open.lifetime.cause === undefined
            ? failure
            : open.lifetime.errorFor(failure, `reading the stream from ${url}`);
        // An error payload or a malformed chunk: stop the server's work too.
        if (!open.lifetime.cause) open.lifetime.abort(error);
        failWith(error);
      } finally {
        if (!closed) open.lifetime.pauseTimeout();
      }
    },
    cancel() {
      open.lifetime.abort(new AbortError("the stream was cancelled by its consumer"));
      release();
    },
  });
}

/**
 * A server that cannot stream (or fails before streaming) may answer a stream request with plain
 * JSON and status 200; reading that as SSE would only report a confusing "ended without [DONE]".
 */
export async function rejectNonStreamAnswer(open: OpenResponse, url: string, modelId: string): Promise<void> {
  const contentType = open.response.headers.get("content-type") ?? "";
  if (!contentType.includes("application/json")) return;
  const payload = await readJsonBody(open, url);
  if (extractErrorDetails(payload)) {
    throw errorFromResponse({ status: statusOfStreamError(extractErrorDetails(payload)), body: payload, url, modelId });
  }
  throw new UpstreamError(`${url} answered a stream request with JSON instead of server-sent events (does it support "stream": true?)`, 200, payload);
}
