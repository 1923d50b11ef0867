import { describe, expect, it } from "vitest";
import { waitUntil } from "../support/wait-for.js";
import { FakeModel } from "./support/fake-model.js";
import { createTestServer, postJson, readSse } from "./support/test-server.js";

const chat = (extra: Record<string, unknown> = {}) => ({ model: "fake", messages: [{ role: "user", content: "Hi" }], max_tokens: 4, ...extra });

describe("chat and completions over app.request()", () => {
  it("answers a chat completion in OpenAI's shape and logs it", async () => {
    const { app, requestLog } = createTestServer();
    const response = await postJson(app, "/v1/chat/completions", chat());
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({
      object: "chat.completion",
      model: "fake",
      choices: [{ index: 0, message: { role: "assistant", content: "Once upon a time" }, finish_reason: "length", logprobs: null }],
      usage: { completion_tokens: 4 },
    });
    expect(body.id).toMatch(/^chatcmpl-/);
    const row = requestLog.get(body.id)!;
    expect(row).toMatchObject({ status: "completed", model: "fake", endpoint: "chat.completions", http_status: 200, completion_tokens: 4, stream: 0 });
    expect(row.prompt).toBe("USER: Hi\nASSISTANT:");
    expect(JSON.parse(row.output!)).toEqual(["Once upon a time"]);
    expect(JSON.parse(row.parameters)).toMatchObject({ model: "fake", max_tokens: 4 });
  });

  it("streams chat chunks with a role chunk, deltas, finish_reason, usage and [DONE]", async () => {
    const { app } = createTestServer();
    const response = await postJson(app, "/v1/chat/completions", chat({ stream: true, n: 2, stream_options: { include_usage: true } }));
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const events = await readSse(response);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data));
    const text = [0, 1].map((index) =>
      chunks.flatMap((chunk) => chunk.choices.filter((c: { index: number }) => c.index === index).map((c: { delta: { content?: string } }) => c.delta.content ?? "")).join(""),
    );
    expect(text).toEqual(["Once upon a time", "upon a time there"]);
    expect(chunks.filter((chunk) => chunk.choices[0]?.finish_reason === "length")).toHaveLength(2);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 8 } });
  });

  it("reports settings the model could not honour in x-camelid-warnings, streaming or not", async () => {
    const { app } = createTestServer();
    for (const stream of [false, true]) {
      const response = await postJson(app, "/v1/chat/completions", chat({ top_k: 5, stream }));
      expect(JSON.parse(response.headers.get("x-camelid-warnings")!)).toEqual([
        { type: "unsupported-setting", setting: "topK", message: "the fake model ignores topK — ß" },
      ]);
      await response.text();
    }
    expect((await postJson(app, "/v1/chat/completions", chat())).headers.get("x-camelid-warnings")).toBeNull();
  });

  it("returns completions logprobs as parallel arrays", async () => {
    const { app } = createTestServer();
    const response = await postJson(app, "/v1/completions", { model: "fake", prompt: "Once", max_tokens: 2, logprobs: 2 });
    const body = await response.json();
    expect(body.object).toBe("text_completion");
    expect(body.choices[0].text).toBe("Once upon");
    expect(body.choices[0].logprobs).toEqual({
      tokens: ["Once", " upon"],
      token_logprobs: [-0.25, -0.25],
      top_logprobs: [
        { alt0: -1, alt1: -2 },
        { alt0: -1, alt1: -2 },
      ],
      text_offset: [0, 4],
    });
  });
});

describe("errors in OpenAI's shape", () => {
  it("400 names the parameter for a wrong type, and says when the body is not JSON", async () => {
    const { app } = createTestServer();
    const wrongType = await postJson(app, "/v1/chat/completions", chat({ temperature: "hot" }));
    expect(wrongType.status).toBe(400);
    expect((await wrongType.json()).error).toMatchObject({ type: "invalid_request_error", param: "temperature" });
    const badRole = await postJson(app, "/v1/chat/completions", { model: "fake", messages: [{ role: "wizard", content: "x" }] });
    expect((await badRole.json()).error.param).toBe("messages[0].role");
    const missing = await postJson(app, "/v1/chat/completions", { model: "fake" });
    expect((await missing.json()).error).toMatchObject({ param: "messages", message: "'messages' is required" });
    const malformed = await postJson(app, "/v1/chat/completions", '{"model": "fake",');
    expect(malformed.status).toBe(400);
    expect((await malformed.json()).error.message).toMatch(/not valid JSON/);
  });

  it("400 exceed_context_size_error with prompt tokens and context size, thrown or as the first stream part", async () => {
    for (const overflowAsErrorPart of [false, true]) {
      const { app, context } = createTestServer({ models: { fake: new FakeModel({ contextSize: 10, overflowAsErrorPart }) } });
      for (const stream of [false, true]) {
        const response = await postJson(app, "/v1/chat/completions", chat({ stream, messages: [{ role: "user", content: "a long prompt" }] }));
        expect(response.status).toBe(400);
        expect((await response.json()).error).toMatchObject({ type: "exceed_context_size_error", n_prompt_tokens: 31, n_ctx: 10 });
      }
      expect(context.registry.get("fake").scheduler.stats().active).toBe(0);
    }
  });

  it("404 for an unknown model or route, 401 for missing, wrong or revoked keys", async () => {
    const { app } = createTestServer({ keys: { alice: "sk-alice" }, revokedKeys: ["sk-old"] });
    const auth = { authorization: "Bearer sk-alice" };
    const unknown = await postJson(app, "/v1/chat/completions", chat({ model: "nope" }), auth);
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error).toMatchObject({ type: "not_found_error", code: "model_not_found" });
    expect((await app.request("/v1/nothing", { headers: auth })).status).toBe(404);
    const attempts: Record<string, string>[] = [{}, { authorization: "Bearer sk-wrong" }, { authorization: "Bearer sk-old" }];
    for (const headers of attempts) {
      const response = await postJson(app, "/v1/chat/completions", chat(), headers);
      expect(response.status).toBe(401);
      const body = await response.json();
      expect(body.error.type).toBe("authentication_error");
      expect(JSON.stringify(body)).not.toContain("sk-");
    }
    expect((await app.request("/health")).status).toBe(200);
    expect((await postJson(app, "/v1/chat/completions", chat(), { "x-api-key": "sk-alice" })).status).toBe(200);
  });

  it("413 for a body over the limit", async () => {
    const { app } = createTestServer({ bodyLimitBytes: 200 });
    const response = await postJson(app, "/v1/chat/completions", chat({ messages: [{ role: "user", content: "x".repeat(500) }] }));
    expect(response.status).toBe(413);
    expect((await response.json()).error.code).toBe("request_too_large");
  });

  it("429 with retry-after when the queue is full", async () => {
    const { app, context } = createTestServer({ models: { fake: new FakeModel({ tokenDelayMs: 20 }) }, capacity: 1, maxQueue: 1 });
    // The running one takes 20 tokens (400 ms): ample time to see the other queued behind it.
    const running = postJson(app, "/v1/chat/completions", chat({ max_tokens: 20 }));
    const waiting = postJson(app, "/v1/chat/completions", chat({ max_tokens: 5 }));
    await waitUntil(() => context.registry.get("fake").scheduler.stats().queued === 1, { what: "the second request to be queued", intervalMs: 1 });
    const refused = await postJson(app, "/v1/chat/completions", chat());
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect((await refused.json()).error.code).toBe("queue_full");
    expect((await running).status).toBe(200);
    expect((await waiting).status).toBe(200);
  });

  it("503 when a model fails to load, and a later request retries the load", async () => {
    const { createServerApp } = await import("../../src/server/app.js");
    const { ModelRegistry } = await import("../../src/server/model-registry.js");
    let attempts = 0;
    const registry = new ModelRegistry([
      {
        id: "flaky",
        kind: "local",
        ownedBy: "camelid",
        capacity: 1,
        maxQueue: 1,
        load: async () => {
          if (++attempts === 1) throw new Error("file is truncated");
          return new FakeModel();
        },
      },
    ]);
    const { app } = createServerApp({ registry });
    const first = await postJson(app, "/v1/chat/completions", chat({ model: "flaky" }));
    expect(first.status).toBe(503);
    expect((await first.json()).error.message).toContain("file is truncated");
    expect((await postJson(app, "/v1/chat/completions", chat({ model: "flaky" }))).status).toBe(200);
  });
});

describe("models, health, metrics, dry run, tokenize", () => {
  it("lists models and reports per-model state in /health", async () => {
    const { app } = createTestServer({ models: { a: new FakeModel(), "org/b": new FakeModel() } });
    const list = await (await app.request("/v1/models")).json();
    expect(list.data.map((m: { id: string }) => m.id)).toEqual(["a", "org/b"]);
    expect((await (await app.request("/v1/models/org/b")).json()).id).toBe("org/b");
    expect((await app.request("/v1/models/zzz")).status).toBe(404);
    await postJson(app, "/v1/chat/completions", chat({ model: "a" }));
    const health = await (await app.request("/health")).json();
    expect(health.models).toEqual([
      expect.objectContaining({ id: "a", state: "ready", active: 0, queued: 0, capacity: 4 }),
      expect.objectContaining({ id: "org/b", state: "unloaded" }),
    ]);
  });

  it("exports Prometheus counters, histograms and gauges", async () => {
    const { app } = createTestServer();
    await postJson(app, "/v1/chat/completions", chat());
    await postJson(app, "/v1/chat/completions", chat({ model: "nope" }));
    const text = await (await app.request("/metrics")).text();
    expect(text).toContain('camelid_requests_total{endpoint="chat.completions",model="fake",status="200"} 1');
    expect(text).toContain('camelid_completion_tokens_total{model="fake"} 4');
    expect(text).toMatch(/camelid_time_to_first_token_seconds_count\{model="fake"\} 1/);
    expect(text).toContain('camelid_queue_depth{model="fake"} 0');
    expect(text).toContain("# TYPE camelid_tokens_per_second histogram");
  });

  it("renders the exact prompt and tokens without generating", async () => {
    const model = new FakeModel();
    const { app } = createTestServer({ models: { fake: model } });
    const response = await postJson(app, "/v1/chat/completions/render", chat());
    const body = await response.json();
    expect(body.prompt).toBe("USER: Hi\nASSISTANT:");
    expect(body.tokens).toEqual(await model.tokenize("USER: Hi\nASSISTANT:", { addBos: true }));
    expect(body.token_count).toBe(body.tokens.length);
    expect(body.format.name).toBe("fake-chat");
    expect(model.calls).toHaveLength(0);
  });

  it("tokenizes and detokenizes", async () => {
    const { app } = createTestServer();
    const tokens = await (await postJson(app, "/v1/tokenize", { model: "fake", text: "ab", add_bos: false })).json();
    expect(tokens).toMatchObject({ tokens: [97, 98], count: 2 });
    const text = await (await postJson(app, "/v1/detokenize", { model: "fake", tokens: [97, 98] })).json();
    expect(text.text).toBe("ab");
    expect((await postJson(app, "/v1/detokenize", { model: "fake", tokens: [-1] })).status).toBe(400);
  });
});

describe("continuous admission", () => {
  it("a request arriving while another streams starts at once, beside it, not after it", async () => {
    const model = new FakeModel({ tokenDelayMs: 20 });
    const { app } = createTestServer({ models: { fake: model }, capacity: 4 });
    // The long one cannot finish before the late one starts: it has 250 tokens to go and nobody reads them.
    const long = await postJson(app, "/v1/chat/completions", chat({ stream: true, max_tokens: 256 }));
    const longReader = long.body!.getReader();
    for (let chunk = 0; chunk < 3; chunk++) await longReader.read();
    const late = await postJson(app, "/v1/chat/completions", chat({ stream: true, max_tokens: 50 }));
    const lateReader = late.body!.getReader();
    await lateReader.read();
    // Queued behind the long one, the late one would see its first chunk only once the long one had
    // ended and freed its sequence. How fast it starts is measured in bench/server-admission.ts.
    expect(model.active).toBe(2);
    expect(model.maxActive).toBe(2);
    await Promise.all([longReader.cancel(), lateReader.cancel()]);
  });
});

describe("client disconnects", () => {
  it("a client that hangs up mid-stream frees its sequence within about one token and is logged as aborted", async () => {
    const model = new FakeModel({ tokenDelayMs: 25 });
    const { app, context, requestLog } = createTestServer({ models: { fake: model } });
    const controller = new AbortController();
    const response = await app.request("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(chat({ stream: true, max_tokens: 400 })),
      signal: controller.signal,
    });
    const id = response.headers.get("x-request-id")!;
    const reader = response.body!.getReader();
    for (let chunk = 0; chunk < 3; chunk++) await reader.read();
    expect(model.active).toBe(1);
    const stepsAtHangUp = model.steps;
    controller.abort();
    await reader.cancel().catch(() => undefined);
    await waitUntil(() => model.active === 0, { what: "the model to free the sequence", intervalMs: 2 });
    // Counted in decode steps, not milliseconds (a loaded machine stretches those): the step under way
    // when the client left may finish, the next one must not start. bench/server-admission.ts times it.
    expect(model.steps - stepsAtHangUp).toBeLessThanOrEqual(1);
    await waitUntil(() => context.registry.get("fake").scheduler.stats().active === 0, { what: "the scheduler to free the slot" });
    expect(requestLog.get(id)).toMatchObject({ status: "aborted", http_status: 499 });
    expect(model.calls[0].abortSignal?.aborted).toBe(true);
  });

  it("a client that hangs up while queued never reaches the model", async () => {
    const model = new FakeModel({ tokenDelayMs: 20 });
    const { app, context } = createTestServer({ models: { fake: model }, capacity: 1 });
    const running = postJson(app, "/v1/chat/completions", chat({ max_tokens: 20 }));
    const controller = new AbortController();
    const queued = app.request("/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(chat()), signal: controller.signal });
    await waitUntil(() => context.registry.get("fake").scheduler.stats().queued === 1, { what: "the request to be queued", intervalMs: 1 });
    controller.abort();
    expect((await queued).status).toBe(499);
    expect(context.registry.get("fake").scheduler.stats().queued).toBe(0);
    expect((await running).status).toBe(200);
    expect(model.calls).toHaveLength(1);
  });
});

describe("request log failures", () => {
  it("keep serving (and free the sequences) when the log cannot be written, and say so", async () => {
    const warnings: string[] = [];
    const { app, db, context } = createTestServer({ log: (line) => warnings.push(line) });
    db.close();
    expect((await postJson(app, "/v1/chat/completions", chat())).status).toBe(200);
    expect(await readSse(await postJson(app, "/v1/chat/completions", chat({ stream: true })))).toContain("[DONE]");
    expect(context.registry.get("fake").scheduler.stats().active).toBe(0);
    expect(warnings[0]).toMatch(/request log write failed/);
    expect(await (await app.request("/metrics")).text()).toContain("camelid_request_log_failures_total 4");
  });
});

describe("CORS", () => {
  it("answers preflight only for configured origins", async () => {
    const { app } = createTestServer({ corsOrigins: ["http://localhost:5173"] });
    const allowed = await app.request("/v1/models", { method: "OPTIONS", headers: { origin: "http://localhost:5173", "access-control-request-method": "POST" } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    const simple = await postJson(app, "/v1/chat/completions", chat(), { origin: "http://localhost:5173" });
    expect(simple.headers.get("access-control-expose-headers")).toContain("x-request-id");
    const other = await app.request("/v1/models", { headers: { origin: "http://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const { app: closed } = createTestServer();
    expect((await closed.request("/v1/models", { headers: { origin: "http://localhost:5173" } })).headers.get("access-control-allow-origin")).toBeNull();
  });
});
