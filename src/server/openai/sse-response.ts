// A text/event-stream Response fed by an async iterator of event payloads. Written by hand rather
// than with hono's streamSSE: one pull = one encoded chunk, no TransformStream and writer hop per
// token, which halves the per-token cost on small, fast models (see bench/serve-throughput.ts).
const encoder = new TextEncoder();

/** `data: <payload>\n\n` for each payload; a cancelled body (client gone) returns the iterator early. */
export function sseResponse(payloads: AsyncGenerator<string, void, undefined>, onCancel?: () => unknown, headers: Record<string, string> = {}): Response {
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await payloads.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(`data: ${next.value}\n\n`));
      },
      async cancel() {
        // A generator that never started ignores return(); onCancel covers that case.
        await Promise.all([payloads.return(undefined), onCancel?.()]);
      },
    },
    // Pull only when the socket wants more: a slow client applies backpressure instead of piling up chunks.
    { highWaterMark: 0 },
  );
  return new Response(body, {
    status: 200,
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive", ...headers },
  });
}
