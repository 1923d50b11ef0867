// The streaming fast paths against their references: the precomputed chunk JSON against
// JSON.stringify of the full chunk object, and SSE written straight to the socket against the
// web-stream body that `app.request()` gets (same events, byte for byte, apart from the random ids).
import { afterEach, describe, expect, it } from "vitest";
import { listen, type ListeningServer } from "../../src/server/listen.js";
import { chatChunk, chatTextChunkSerializer, completionChunk, completionTextChunkSerializer, type ResponseIdentity } from "../../src/server/openai/response-shapes.js";
import { nodeResponseOf } from "../../src/server/openai/sse-node-writer.js";
import { FakeModel } from "./support/fake-model.js";
import { createTestServer } from "./support/test-server.js";
import { waitUntil } from "../support/wait-for.js";

const texts = ["", "Once", " upon a time", 'quote " and \\ backslash', "line\nbreak\ttab\r", "\u0000\u001f\u007f", "é 한국어 😀", "\ud800 lone surrogate", "</script>\u2028\u2029"];
const identities: ResponseIdentity[] = [
  { id: "cmpl-abc123", created: 1_763_900_000, model: "stories260K" },
  { id: 'odd "id"', created: 0, model: "model/with\\slashes é" },
];

describe("precomputed stream chunk JSON", () => {
  it("equals JSON.stringify of the completions chunk for every text and choice index", () => {
    for (const identity of identities) {
      const serialize = completionTextChunkSerializer(identity);
      for (const [index, text] of texts.entries()) {
        expect(serialize(index, text)).toBe(JSON.stringify(completionChunk(identity, { index, text, textOffset: 7 })));
      }
    }
  });

  it("equals JSON.stringify of the chat chunk for every text and choice index", () => {
    for (const identity of identities) {
      const serialize = chatTextChunkSerializer(identity);
      for (const [index, text] of texts.entries()) {
        expect(serialize(index, text)).toBe(JSON.stringify(chatChunk(identity, { index, delta: { content: text } })));
      }
    }
  });
});

describe("SSE written straight to the socket", () => {
  let server: ListeningServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** Events of a response body with the per-request id and timestamp masked. */
  // Ids, times and the measured timings (llama-server's object on the usage chunk) differ run to run.
  const normalize = (body: string) =>
    body
      .replace(/"id":"(cmpl|chatcmpl)-[0-9a-f]+"/g, '"id":"ID"')
      .replace(/"created":\d+/g, '"created":0')
      .replace(/"(prompt|predicted)_(ms|per_token_ms|per_second)":[-\d.e+]+/g, '"$1_$2":0');

  for (const [path, body] of [
    ["/v1/completions", { model: "fake", prompt: "Hi", max_tokens: 12, stream: true, n: 3, stream_options: { include_usage: true } }],
    ["/v1/chat/completions", { model: "fake", messages: [{ role: "user", content: "Hi" }], max_tokens: 9, stream: true, stream_options: { include_usage: true } }],
    ["/v1/completions", { model: "fake", prompt: "Hi", max_tokens: 4, stream: true, logprobs: 2 }],
  ] as const) {
    it(`sends the same events as the web-stream body: ${path}${"n" in body ? " n>1" : ""}${"logprobs" in body ? " logprobs" : ""}`, async () => {
      const { app } = createTestServer({ models: { fake: new FakeModel() } });
      const reference = await app.request(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      // Read to the end first: an unread body keeps its sequences, and n = 3 of 4 would queue the next request.
      const referenceText = normalize(await reference.text());
      server = await listen(app, { host: "127.0.0.1", port: 0 });
      const direct = await fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      expect(direct.status).toBe(200);
      expect(direct.headers.get("content-type")).toBe(reference.headers.get("content-type"));
      expect(direct.headers.get("x-request-id")).toMatch(/^(cmpl|chatcmpl)-/);
      expect(referenceText.endsWith("data: [DONE]\n\n")).toBe(true);
      expect(normalize(await direct.text())).toBe(referenceText);
    });
  }

  it("is used only under a Node HTTP/1 response", () => {
    expect(nodeResponseOf(undefined)).toBeUndefined();
    expect(nodeResponseOf({})).toBeUndefined();
    expect(nodeResponseOf({ outgoing: { write() {} } })).toBeUndefined();
  });

  it("stops generating and frees the sequence when the client disconnects mid-stream", async () => {
    const model = new FakeModel({ tokenDelayMs: 5 });
    const { app, context } = createTestServer({ models: { fake: model }, capacity: 1 });
    server = await listen(app, { host: "127.0.0.1", port: 0 });
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "fake", prompt: "Hi", max_tokens: 200, stream: true }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await waitUntil(() => context.registry.get("fake").status().active === 0, { what: "the aborted stream to free its sequence" });
    expect(model.aborted).toBeGreaterThanOrEqual(1);
  });
});
