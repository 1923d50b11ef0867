// The body limit through a real socket (@hono/node-server), where a declared length is judged from the header
// alone and a chunked body by counting what arrives: both give the same 413 as before, and bodies within the
// limit reach the route intact.
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listen, type ListeningServer } from "../../src/server/listen.js";
import { createTestServer } from "./support/test-server.js";

let server: ListeningServer;
beforeAll(async () => {
  const { app } = createTestServer({ bodyLimitBytes: 300 });
  server = await listen(app, { host: "127.0.0.1", port: 0 });
});
afterAll(() => server.close());

/** A POST whose body is sent declared (content-length) or chunked; `headersOnly` sends no body and waits. */
function post(body: string, framing: "declared" | "chunked", headersOnly = false): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { "content-type": "application/json", ...(framing === "declared" ? { "content-length": String(Buffer.byteLength(body)) } : {}) };
    const outgoing = request(`${server.url}/v1/completions`, { method: "POST", headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        outgoing.destroy();
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
      });
    });
    outgoing.on("error", (error: NodeJS.ErrnoException) => (headersOnly && error.code === "ECONNRESET" ? undefined : reject(error)));
    if (headersOnly) outgoing.flushHeaders();
    else if (framing === "chunked") {
      // Two writes: the parser sees a chunked body, not one whose length it knows.
      outgoing.write(body.slice(0, 10));
      outgoing.end(body.slice(10));
    } else outgoing.end(body);
  });
}

const small = JSON.stringify({ model: "fake", prompt: "Once", max_tokens: 2 });
const large = JSON.stringify({ model: "fake", prompt: "x".repeat(400), max_tokens: 2 });

describe("request body limit on a socket", () => {
  it("answers bodies within the limit, declared or chunked", async () => {
    for (const framing of ["declared", "chunked"] as const) {
      const response = await post(small, framing);
      expect(response.status, framing).toBe(200);
      expect(JSON.parse(response.text).choices[0].text).toBe("Once upon");
    }
  });

  it("refuses a body over the limit with 413, declared (before any of it arrives) or chunked", async () => {
    for (const [framing, headersOnly] of [["declared", true], ["declared", false], ["chunked", false]] as const) {
      const response = await post(large, framing, headersOnly);
      expect(response.status, `${framing}${headersOnly ? ", headers only" : ""}`).toBe(413);
      expect(JSON.parse(response.text).error.code).toBe("request_too_large");
    }
  });
});
