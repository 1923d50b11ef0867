// The engine's HTTP client for its own llama-server on loopback: node:http behind fetch's signature, not
// Node's fetch (undici). Measured here: undici takes 11-14 ms for a one-token /completion where node:http
// takes 6-7, and S requests arriving together pay that one after another on the event loop; undici gives up
// waiting for headers after 300 s, which a non-streamed /completion (its headers come with the whole answer)
// can take on a CPU; and against llama-server's HTTP thread pool it now and then left a few of S requests
// waiting 1-3 s. A connection per request: llama-server closes a streamed response's connection, which a
// keep-alive agent could reuse a moment later.
import { request } from "node:http";
import { Readable } from "node:stream";
import type { FetchFunction } from "../openai/http-transport.js";

export const loopbackFetch: FetchFunction = (input, init) =>
  new Promise<Response>((resolve, reject) => {
    const signal = init.signal ?? undefined;
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const body = typeof init.body === "string" ? init.body : undefined;
    const headers: Record<string, string> = Object.fromEntries(new Headers(init.headers));
    if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
    const outgoing = request(input, { method: init.method ?? "GET", headers, agent: false });
    const onAbort = () => outgoing.destroy(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
    signal?.addEventListener("abort", onAbort, { once: true });
    const unlink = () => signal?.removeEventListener("abort", onAbort);
    outgoing.on("response", (incoming) => {
      incoming.on("close", unlink);
      const responseHeaders = new Headers();
      for (const [name, value] of Object.entries(incoming.headers)) {
        for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) responseHeaders.append(name, one);
      }
      const status = incoming.statusCode ?? 502;
      const empty = status === 204 || status === 304 || init.method === "HEAD";
      if (empty) incoming.resume();
      resolve(new Response(empty ? null : (Readable.toWeb(incoming) as ReadableStream<Uint8Array>), { status, statusText: incoming.statusMessage, headers: responseHeaders }));
    });
    // The shape of fetch's own failure, so that it is described the same way (the code and message in `cause`).
    outgoing.on("error", (error) => {
      unlink();
      reject(signal?.aborted ? signal.reason : new TypeError("fetch failed", { cause: error }));
    });
    outgoing.end(body);
  });
