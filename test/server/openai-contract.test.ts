// The official `openai` client against our server on a real socket: shapes it parses and the typed
// errors it raises are the contract every OpenAI-compatible tool relies on.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listen, type ListeningServer } from "../../src/server/listen.js";
import { FakeModel } from "./support/fake-model.js";
import { createTestServer } from "./support/test-server.js";

let server: ListeningServer;
let client: OpenAI;
let slowClient: OpenAI;

beforeAll(async () => {
  const { app } = createTestServer({
    models: { fake: new FakeModel({ contextSize: 64 }), slow: new FakeModel({ tokenDelayMs: 30 }) },
    keys: { tests: "sk-test-key" },
    capacity: 1,
    maxQueue: 1,
  });
  server = await listen(app, { host: "127.0.0.1", port: 0 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "sk-test-key", maxRetries: 0 });
  slowClient = client;
});
afterAll(() => server?.close());

describe("openai npm client against camelid serve", () => {
  it("chat, non-streaming, n > 1, with logprobs", async () => {
    const completion = await client.chat.completions.create({
      model: "fake",
      messages: [{ role: "user", content: "Tell me a story" }],
      max_tokens: 3,
      n: 2,
      logprobs: true,
      top_logprobs: 2,
    });
    expect(completion.choices.map((c) => c.message.content)).toEqual(["Once upon a", "upon a time"]);
    expect(completion.choices[0].finish_reason).toBe("length");
    expect(completion.choices[0].logprobs?.content?.map((entry) => entry.token)).toEqual(["Once", " upon", " a"]);
    expect(completion.choices[0].logprobs?.content?.[0].top_logprobs).toHaveLength(2);
    expect(completion.usage).toMatchObject({ completion_tokens: 6, total_tokens: completion.usage!.prompt_tokens + 6 });
    // The request-log row's id, as the client's request id: one handle for support and the log.
    expect(completion._request_id).toBe(completion.id);
  });

  it("chat, streaming, with usage and logprobs", async () => {
    const stream = await client.chat.completions.create({
      model: "fake",
      messages: [{ role: "user", content: "Hi" }],
      max_tokens: 4,
      stream: true,
      logprobs: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null = null;
    let usage;
    let logprobCount = 0;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? "";
        finish = choice.finish_reason ?? finish;
        logprobCount += choice.logprobs?.content?.length ?? 0;
      }
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe("Once upon a time");
    expect(finish).toBe("length");
    expect(logprobCount).toBe(4);
    expect(usage).toMatchObject({ completion_tokens: 4 });
  });

  it("completions, streaming and not, n > 1, logprobs", async () => {
    const completion = await client.completions.create({ model: "fake", prompt: "Once", max_tokens: 2, n: 2, logprobs: 1 });
    expect(completion.object).toBe("text_completion");
    expect(completion.choices.map((c) => c.text)).toEqual(["Once upon", "upon a"]);
    expect(completion.choices[1].logprobs?.tokens).toEqual(["upon", " a"]);
    const stream = await client.completions.create({ model: "fake", prompt: "Once", max_tokens: 3, stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    expect(text).toBe("Once upon a");
  });

  it("lists models", async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models).toEqual(["fake", "slow"]);
  });

  it("raises BadRequestError, AuthenticationError, NotFoundError and RateLimitError", async () => {
    const badRequest = await client.chat.completions.create({ model: "fake", messages: [{ role: "user", content: "x" }], temperature: 9 }).catch((e: unknown) => e);
    expect(badRequest).toBeInstanceOf(OpenAI.BadRequestError);
    expect((badRequest as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("temperature");

    const tooLong = await client.chat.completions.create({ model: "fake", messages: [{ role: "user", content: "x".repeat(100) }] }).catch((e: unknown) => e);
    expect(tooLong).toBeInstanceOf(OpenAI.BadRequestError);
    expect((tooLong as InstanceType<typeof OpenAI.BadRequestError>).type).toBe("exceed_context_size_error");

    const wrongKey = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "sk-wrong", maxRetries: 0 });
    expect(await wrongKey.models.list().catch((e: unknown) => e)).toBeInstanceOf(OpenAI.AuthenticationError);

    const notFound = await client.chat.completions.create({ model: "missing", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(OpenAI.NotFoundError);

    // capacity 1 + queue 1: fill both with raw requests, then the client's request is refused.
    const body = { model: "slow", messages: [{ role: "user" as const, content: "x" }], max_tokens: 4 };
    const post = () =>
      fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer sk-test-key" },
        body: JSON.stringify(body),
      }).then((response) => response.text());
    const first = post();
    const second = post();
    for (let attempt = 0; attempt < 200; attempt++) {
      const health = await (await fetch(`${server.url}/health`)).json();
      if (health.models.find((m: { id: string }) => m.id === "slow").queued === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const refused = await slowClient.chat.completions.create(body).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect((refused as InstanceType<typeof OpenAI.RateLimitError>).headers.get("retry-after")).toBe("1");
    await Promise.all([first, second]);
  });
});
