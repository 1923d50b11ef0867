// Remote models through the same endpoints: our server proxying a scripted upstream, and our own
// OpenAI-compatible provider talking to our server (round trip).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAICompatibleModel } from "../../src/providers/openai/index.js";
import { createServerApp } from "../../src/server/app.js";
import { listen, type ListeningServer } from "../../src/server/listen.js";
import { ModelRegistry } from "../../src/server/model-registry.js";
import {
  chatCompletionBody,
  chatCompletionChunks,
  errorBody,
  jsonReply,
  sseReply,
  startFakeOpenAIServer,
  usage,
  type FakeOpenAIServer,
} from "../support/fake-openai-server.js";
import { FakeModel } from "./support/fake-model.js";
import { createTestServer, postJson, readSse } from "./support/test-server.js";

describe("proxying a remote upstream", () => {
  let upstream: FakeOpenAIServer;
  let app: ReturnType<typeof createServerApp>["app"];

  beforeAll(async () => {
    upstream = await startFakeOpenAIServer();
    const registry = new ModelRegistry([
      {
        id: "remote-gpt",
        kind: "remote",
        ownedBy: "upstream",
        capacity: 4,
        maxQueue: 4,
        load: async () =>
          createOpenAICompatibleModel({ baseURL: upstream.baseURL, apiKey: "upstream-key", model: "gpt-upstream", api: "chat", maxRetries: 0 }),
      },
    ]);
    app = createServerApp({ registry }).app;
  });
  afterAll(() => upstream?.close());

  const chat = (extra: Record<string, unknown> = {}) => ({ model: "remote-gpt", messages: [{ role: "user", content: "Hi" }], ...extra });

  it("answers non-streaming chat in the same shape as a local model, with the upstream's model id mapped", async () => {
    upstream.enqueue(jsonReply(chatCompletionBody({ content: "Hello from upstream", usage: usage(7, 3) })));
    const body = await (await postJson(app, "/v1/chat/completions", chat({ max_tokens: 8 }))).json();
    expect(body).toMatchObject({
      object: "chat.completion",
      model: "remote-gpt",
      choices: [{ index: 0, message: { role: "assistant", content: "Hello from upstream" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
    });
    const sent = upstream.requests.at(-1)!;
    const sentBody = sent.body as Record<string, unknown>;
    expect(sentBody.model).toBe("gpt-upstream");
    expect(sentBody.max_completion_tokens ?? sentBody.max_tokens).toBe(8);
    expect(sent.headers.authorization).toBe("Bearer upstream-key");
  });

  it("passes a stream through chunk by chunk", async () => {
    upstream.enqueue(sseReply(chatCompletionChunks({ pieces: ["Hel", "lo", "!"] })));
    const events = await readSse(await postJson(app, "/v1/chat/completions", chat({ stream: true, stream_options: { include_usage: true } })));
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data));
    expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk" && chunk.model === "remote-gpt")).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? "").join("")).toBe("Hello!");
    expect(chunks.at(-1).usage).toMatchObject({ completion_tokens: 3 });
  });

  it("ends a stream whose upstream drops mid-way with an OpenAI-shaped error event, not a hang", async () => {
    const chunks = chatCompletionChunks({ pieces: ["Once", " upon"] });
    upstream.enqueue(sseReply(chunks.slice(0, 3), { end: "destroy" }));
    const events = await readSse(await postJson(app, "/v1/chat/completions", chat({ stream: true })));
    expect(events).not.toContain("[DONE]");
    const last = JSON.parse(events.at(-1)!);
    expect(last.error.type).toBe("upstream_error");
    const text = events.slice(0, -1).map((data) => JSON.parse(data).choices[0]?.delta?.content ?? "").join("");
    expect(text).toBe("Once upon");
  });

  it("normalises upstream errors: 5xx and dropped connections → 502, 429 → 429, 400 → 400", async () => {
    upstream.enqueue(jsonReply(errorBody("boom", "server_error"), 500));
    const failed = await postJson(app, "/v1/chat/completions", chat());
    expect(failed.status).toBe(502);
    expect((await failed.json()).error.type).toBe("upstream_error");

    upstream.enqueue({ type: "destroy" });
    expect((await postJson(app, "/v1/chat/completions", chat())).status).toBe(502);

    upstream.enqueue(jsonReply(errorBody("slow down", "rate_limit_error"), 429, { "retry-after": "7" }));
    const limited = await postJson(app, "/v1/chat/completions", chat());
    expect(limited.status).toBe(429);

    upstream.enqueue(jsonReply(errorBody("bad temperature", "invalid_request_error", "temperature"), 400));
    const invalid = await postJson(app, "/v1/chat/completions", chat());
    expect(invalid.status).toBe(400);
    expect((await invalid.json()).error.type).toBe("invalid_request_error");
  });
});

describe("our OpenAI-compatible provider against our server", () => {
  let server: ListeningServer;
  beforeAll(async () => {
    const { app } = createTestServer({ models: { fake: new FakeModel() }, keys: { provider: "sk-round-trip" } });
    server = await listen(app, { host: "127.0.0.1", port: 0 });
  });
  afterAll(() => server?.close());

  it("generates, streams and reports typed errors through the one interface", async () => {
    const model = createOpenAICompatibleModel({ baseURL: `${server.url}/v1`, apiKey: "sk-round-trip", model: "fake", api: "chat", maxRetries: 0 });
    const result = await model.doGenerate({ messages: [{ role: "user", content: "Hi" }], maxTokens: 3, n: 2 });
    expect(result.choices.map((c) => c.text)).toEqual(["Once upon a", "upon a time"]);
    expect(result.choices[0].finishReason).toBe("length");
    expect(result.usage.completionTokens).toBe(6);

    const { stream } = await model.doStream({ messages: [{ role: "user", content: "Hi" }], maxTokens: 4 });
    let text = "";
    let finish;
    for await (const part of stream as unknown as AsyncIterable<{ type: string; delta?: string; finishReason?: string }>) {
      if (part.type === "text-delta") text += part.delta;
      if (part.type === "finish") finish = part.finishReason;
    }
    expect(text).toBe("Once upon a time");
    expect(finish).toBe("length");

    const completions = createOpenAICompatibleModel({ baseURL: `${server.url}/v1`, apiKey: "sk-round-trip", model: "fake", api: "completions", maxRetries: 0 });
    const raw = await completions.doGenerate({ prompt: "Once", maxTokens: 2 });
    expect(raw.choices[0].text).toBe("Once upon");

    const missing = createOpenAICompatibleModel({ baseURL: `${server.url}/v1`, apiKey: "sk-round-trip", model: "nope", api: "chat", maxRetries: 0 });
    await expect(missing.doGenerate({ messages: [{ role: "user", content: "x" }] })).rejects.toMatchObject({ name: "ModelNotFoundError" });
    const unauthorised = createOpenAICompatibleModel({ baseURL: `${server.url}/v1`, apiKey: "sk-wrong", model: "fake", api: "chat", maxRetries: 0 });
    await expect(unauthorised.doGenerate({ messages: [{ role: "user", content: "x" }] })).rejects.toMatchObject({ name: "AuthenticationError" });
  });
});
