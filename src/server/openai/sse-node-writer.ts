// Server-sent events written straight to Node's response when the app runs behind @hono/node-server.
// The web-stream path (sse-response.ts) costs, per token, a ReadableStream pull, a TextEncoder call and
// the adaptor's read→write hop; here each event is one string written to the socket, and events that
// become ready in the same tick (the choices of an n>1 request, a last token with its finish chunk and
// [DONE]) leave in one write: the response is corked and uncorked on the next tick. Every event is still
// its own `data: …\n\n`, so clients see exactly the same events.
//
// The handler still returns a Response (status, headers, CORS from middleware all go the usual way);
// its body is a stream that the adaptor starts reading right after writing the head. That first read
// runs the whole event loop below, writing to the socket directly, and only then reports the end, upon
// which the adaptor ends the response. A client that disconnects cancels the body: the loop stops.
import type { ServerResponse } from "node:http";

/** The Node response under a request served by @hono/node-server; undefined under `app.request()`. */
export function nodeResponseOf(env: unknown): ServerResponse | undefined {
  const outgoing = (env as { outgoing?: unknown } | undefined)?.outgoing;
  if (!outgoing || typeof outgoing !== "object") return undefined;
  const candidate = outgoing as Partial<ServerResponse>;
  // HTTP/1 responses only: HTTP/2 streams have no cork/uncork with the same meaning.
  if (typeof candidate.cork !== "function" || typeof candidate.write !== "function" || !("socket" in candidate)) return undefined;
  return outgoing as ServerResponse;
}

const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" };

/**
 * A text/event-stream Response whose events are written directly to `outgoing` as
 * `data: <payload>\n\n`; `onCancel` runs when the client goes away before the end.
 */
export function nodeSseResponse(
  outgoing: ServerResponse,
  payloads: AsyncGenerator<string, void, undefined>,
  onCancel?: () => unknown,
  headers: Record<string, string> = {},
): Response {
  let gone = false;
  let wake: (() => void) | undefined;
  const writeAll = async () => {
    // Tokens must reach the client as they come: no Nagle delay on this connection.
    outgoing.socket?.setNoDelay(true);
    let corked = false;
    const uncork = () => {
      corked = false;
      outgoing.uncork();
    };
    for await (const payload of payloads) {
      if (gone) break;
      if (!corked) {
        corked = true;
        outgoing.cork();
        process.nextTick(uncork);
      }
      if (!outgoing.write(`data: ${payload}\n\n`)) {
        // A slow client: wait until its socket drains (or it leaves) instead of buffering without bound.
        await new Promise<void>((resolve) => {
          wake = resolve;
          outgoing.once("drain", resolve);
        });
        wake = undefined;
        if (gone) break;
      }
    }
  };
  let started = false;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (started) return;
        started = true;
        try {
          await writeAll();
          controller.close();
        } catch (error) {
          controller.error(error);
        }
      },
      async cancel() {
        gone = true;
        wake?.();
        // A generator that never started ignores return(); onCancel covers that case.
        await Promise.all([started ? undefined : payloads.return(undefined), onCancel?.()]);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: 200, headers: { ...SSE_HEADERS, ...headers } });
}
