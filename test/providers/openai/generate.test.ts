import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  AbortError,
  AuthenticationError,
  ConfigError,
  ConnectionError,
  ContextLengthExceededError,
  InvalidArgumentError,
  ModelNotFoundError,
  PromptFormatError,
  RateLimitError,
  TimeoutError,
  UpstreamError,
} from "../../../src/errors/index.js";
import { createOpenAICompatibleModel } from "../../../src/providers/openai/index.js";
import {
  errorBody,
  type FakeOpenAIServer,
  jsonReply,
  startFakeOpenAIServer,
  usage,
} from "../../support/fake-openai-server.js";
import { sleep } from "../../../src/retry/sleep.js";
import { modelFor, recordingSleep } from "./helpers.js";
import { chatResponseBody, contextOverflowBodies, type Flavor } from "./wire-formats.js";

let server: FakeOpenAIServer;
beforeAll(async () => {
  server = await startFakeOpenAIServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
});

const messages = [{ role: "user" as const, content: "Say hi" }];

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}

describe("doGenerate against each server's wire format", () => {
  for (const flavor of ["openai", "vllm", "llama-server", "ollama"] as Flavor[]) {
    it(`${flavor}: text, finish reason, usage, timings and the request it sent`, async () => {
      server.enqueue(jsonReply(chatResponseBody(flavor, "Hello there!", { finishReason: "length", usage: usage(11, 4) })));
      const model = modelFor(server, { flavor, apiKey: "sk-test" });
      const result = await model.doGenerate({ messages, maxTokens: 4, temperature: 0 });

      expect(result.choices).toEqual([{ index: 0, text: "Hello there!", finishReason: "length", completionTokens: 4 }]);
      expect(result.usage).toEqual({ promptTokens: 11, completionTokens: 4, totalTokens: 15 });
      expect(result.modelId).toBe("test-model");
      expect(result.warnings).toEqual([]);
      expect(result.timings.totalMs).toBeGreaterThan(0);
      expect(result.timings.timeToFirstTokenMs).toBe(result.timings.totalMs);
      expect(result.timings.tokensPerSecond).toBeGreaterThan(0);
      if (flavor === "llama-server") expect(result.timings.promptTokensPerSecond).toBe(2000);
      expect(result.prompt?.format).toMatchObject({ name: "remote", source: "remote" });
      expect(result.prompt?.messages).toEqual(messages);

      const sent = server.requests[0];
      expect(sent.path).toBe("/v1/chat/completions");
      expect(sent.headers.authorization).toBe("Bearer sk-test");
      expect(sent.body).toMatchObject({ model: "test-model", messages, temperature: 0 });
      expect((sent.body as Record<string, unknown>).stream).toBeUndefined();
    });
  }

  it("maps n>1 choices, chat logprobs with alternatives and vLLM's stop_reason", async () => {
    const logprob = (token: string, value: number) => ({
      token,
      logprob: value,
      bytes: [...Buffer.from(token)],
      top_logprobs: [
        { token, logprob: value, bytes: [...Buffer.from(token)] },
        { token: "x", logprob: -5, bytes: [120] },
      ],
    });
    server.enqueue(
      jsonReply({
        id: "c",
        object: "chat.completion",
        created: 1,
        model: "m",
        choices: [
          { index: 1, message: { role: "assistant", content: "Yo" }, logprobs: { content: [logprob("Yo", -0.5)] }, finish_reason: "stop", stop_reason: "\n\n" },
          { index: 0, message: { role: "assistant", content: "Hi!" }, logprobs: { content: [logprob("Hi", -0.1), logprob("!", -0.2)] }, finish_reason: "stop", stop_reason: null },
        ],
        usage: usage(3, 3),
      }),
    );
    const result = await modelFor(server, { flavor: "vllm" }).doGenerate({ messages, n: 2, topLogprobs: 2 });
    expect(result.choices.map((choice) => [choice.index, choice.text, choice.completionTokens, choice.stopReason])).toEqual([
      [0, "Hi!", 2, undefined],
      [1, "Yo", 1, "\n\n"],
    ]);
    expect(result.choices[0].logprobs?.[1]).toEqual({
      token: "!",
      logprob: -0.2,
      bytes: [33],
      topLogprobs: [
        { token: "!", logprob: -0.2, bytes: [33] },
        { token: "x", logprob: -5, bytes: [120] },
      ],
    });
    expect(server.requests[0].body).toMatchObject({ n: 2, logprobs: true, top_logprobs: 2 });
  });

  it("warns for content_filter / tool_calls finishes, missing logprobs and estimated per-choice tokens", async () => {
    server.enqueue(
      jsonReply({
        choices: [
          { index: 0, message: { content: "aaaa" }, finish_reason: "content_filter" },
          { index: 1, message: { content: "bb", tool_calls: [{ id: "t" }] }, finish_reason: "tool_calls" },
        ],
        usage: usage(2, 6),
      }),
    );
    const result = await modelFor(server).doGenerate({ messages, n: 2, logprobs: true });
    expect(result.choices.map((choice) => choice.finishReason)).toEqual(["stop", "stop"]);
    expect(result.choices.map((choice) => choice.completionTokens)).toEqual([4, 2]);
    const text = result.warnings.map((warning) => warning.message).join("\n");
    expect(text).toContain("content filter");
    expect(text).toContain("tool call");
    expect(text).toContain("logprobs were requested");
    expect(text).toContain("estimated");
  });
});

describe("completions API", () => {
  it("vLLM: raw prompt, legacy logprob arrays mapped to TokenLogprob", async () => {
    server.enqueue(
      jsonReply({
        id: "cmpl-1",
        object: "text_completion",
        created: 1,
        model: "m",
        choices: [
          {
            index: 0,
            text: " there was",
            logprobs: {
              text_offset: [0, 6],
              token_logprobs: [-0.3, -0.7],
              tokens: [" there", " was"],
              top_logprobs: [{ " there": -0.3, " the": -2 }, { " was": -0.7, " lived": -1.1 }],
            },
            finish_reason: "length",
            stop_reason: null,
          },
        ],
        usage: usage(4, 2),
      }),
    );
    const model = modelFor(server, { api: "completions", flavor: "vllm" });
    const result = await model.doGenerate({ prompt: "Once upon a time", maxTokens: 2, topLogprobs: 2 });
    expect(result.choices[0]).toMatchObject({ text: " there was", finishReason: "length", completionTokens: 2 });
    expect(result.choices[0].logprobs?.[1]).toEqual({
      token: " was",
      logprob: -0.7,
      topLogprobs: [
        { token: " was", logprob: -0.7 },
        { token: " lived", logprob: -1.1 },
      ],
    });
    expect(result.prompt?.format).toMatchObject({ name: "raw", source: "raw" });
    expect(server.requests[0].path).toBe("/v1/completions");
    expect(server.requests[0].body).toMatchObject({ prompt: "Once upon a time", max_tokens: 2, logprobs: 2 });
  });

  it("llama-server: chat-shaped logprobs with token ids on /v1/completions, alternatives dropped when not asked", async () => {
    server.enqueue(
      jsonReply({
        choices: [
          {
            text: " Lily",
            index: 0,
            logprobs: { content: [{ id: 365, token: " Lily", bytes: [32, 76, 105, 108, 121], logprob: -0.05, top_logprobs: [{ id: 365, token: " Lily", bytes: [], logprob: -0.05 }] }] },
            finish_reason: "stop",
          },
        ],
        created: 1,
        model: "gpt-3.5-turbo",
        object: "text_completion",
        usage: usage(5, 1),
      }),
    );
    const result = await modelFor(server, { api: "completions", flavor: "llama-server" }).doGenerate({ prompt: "a girl named", logprobs: true });
    expect(result.choices[0].logprobs).toEqual([{ token: " Lily", logprob: -0.05, bytes: [32, 76, 105, 108, 121], tokenId: 365 }]);
  });

  it("renders messages with an explicit registry format, drops its BOS for the server and sends its stops", async () => {
    server.enqueue(jsonReply({ choices: [{ index: 0, text: "Hi", finish_reason: "stop" }], usage: usage(20, 1) }));
    const model = modelFor(server, { api: "completions", flavor: "llama-server", promptFormat: "llama-2-chat" });
    const result = await model.doGenerate({ messages: [{ role: "system", content: "Be brief." }, ...messages], stop: ["###"] });
    const sent = server.requests[0].body as { prompt: string; stop: string[] };
    expect(sent.prompt).toBe("[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nSay hi [/INST]");
    expect(sent.stop[0]).toBe("###");
    expect(sent.stop).toContain("</s>");
    expect(result.prompt?.format).toMatchObject({ name: "llama-2-chat", source: "explicit" });
    expect(result.prompt?.text).toBe(sent.prompt);

    server.enqueue(jsonReply({ choices: [{ index: 0, text: "ok", finish_reason: "stop" }], usage: usage(9, 1) }));
    await model.doGenerate({ messages, promptFormat: "vicuna-v1.1" });
    expect((server.requests[1].body as { prompt: string }).prompt).toMatch(/USER: Say hi ASSISTANT:$/);
  });

  it("refuses messages without a format, and raw prompts on the chat API, before sending anything", async () => {
    const completions = modelFor(server, { api: "completions" });
    expect(await rejection(completions.doGenerate({ messages }))).toBeInstanceOf(PromptFormatError);
    expect(await rejection(completions.doGenerate({ messages, promptFormat: "no-such-format" }))).toBeInstanceOf(PromptFormatError);
    const chatError = await rejection(modelFor(server).doGenerate({ prompt: "raw" }));
    expect(chatError).toBeInstanceOf(InvalidArgumentError);
    expect((chatError as InvalidArgumentError).parameter).toBe("prompt");
    const bothError = await rejection(modelFor(server).doGenerate({ prompt: "raw", messages }));
    expect(bothError).toBeInstanceOf(InvalidArgumentError);
    const badRole = await rejection(modelFor(server).doGenerate({ messages: [{ role: "robot", content: "x" } as never] }));
    expect((badRole as InvalidArgumentError).parameter).toBe("messages[0].role");
    expect(server.requests).toHaveLength(0);
  });
});

describe("errors, retries and timeouts", () => {
  it("maps each server's context overflow to ContextLengthExceededError without retrying", async () => {
    for (const [flavor, body] of Object.entries(contextOverflowBodies)) {
      server.requests.length = 0;
      server.enqueue(jsonReply(body, 400));
      const error = await rejection(modelFor(server, { flavor: flavor as Flavor }).doGenerate({ messages }));
      expect(error, flavor).toBeInstanceOf(ContextLengthExceededError);
      expect((error as ContextLengthExceededError).contextSize).toBeGreaterThan(0);
      expect(server.requests).toHaveLength(1);
    }
  });

  it("maps 400 (with its param), 401 and 404 without retrying", async () => {
    server.enqueue(jsonReply(errorBody("top_p must be <= 1", "invalid_request_error", "top_p"), 400));
    const invalid = await rejection(modelFor(server).doGenerate({ messages }));
    expect(invalid).toBeInstanceOf(InvalidArgumentError);
    expect((invalid as InvalidArgumentError).parameter).toBe("top_p");

    server.enqueue(jsonReply(errorBody("Incorrect API key provided", "invalid_request_error", null, "invalid_api_key"), 401));
    expect(await rejection(modelFor(server).doGenerate({ messages }))).toBeInstanceOf(AuthenticationError);

    server.enqueue(jsonReply({ error: { message: 'model "nope" not found, try pulling it first', type: "api_error", param: null, code: null } }, 404));
    const missing = await rejection(modelFor(server, { flavor: "ollama", model: "nope" }).doGenerate({ messages }));
    expect(missing).toBeInstanceOf(ModelNotFoundError);
    expect((missing as ModelNotFoundError).modelId).toBe("nope");
    expect(server.requests).toHaveLength(3);
  });

  it("429 with retry-after: waits as long as asked, then succeeds", async () => {
    server.enqueue(
      jsonReply(errorBody("Rate limit reached", "requests", null, "rate_limit_exceeded"), 429, { "retry-after": "1" }),
      jsonReply(chatResponseBody("openai", "after the wait")),
    );
    const { waits, sleep } = recordingSleep();
    const result = await modelFor(server, { retry: { sleep } }).doGenerate({ messages });
    expect(result.choices[0].text).toBe("after the wait");
    expect(waits).toEqual([1000]);
    expect(server.requests).toHaveLength(2);
  });

  it("honours retry-after-ms over retry-after and gives up (RateLimitError) when asked to wait too long", async () => {
    server.enqueue(
      jsonReply(errorBody("slow down"), 429, { "retry-after-ms": "300", "retry-after": "30" }),
      jsonReply(chatResponseBody("openai", "ok")),
    );
    const { waits, sleep } = recordingSleep();
    await modelFor(server, { retry: { sleep } }).doGenerate({ messages });
    expect(waits).toEqual([300]);

    server.requests.length = 0;
    server.enqueue(jsonReply(errorBody("come back tomorrow"), 429, { "retry-after": "86400" }));
    const error = await rejection(modelFor(server, { retry: { sleep } }).doGenerate({ messages }));
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterSeconds).toBe(86400);
    expect(server.requests).toHaveLength(1);
    expect(waits).toEqual([300]);
  });

  it("500: retries with backoff, then UpstreamError once maxRetries are used up", async () => {
    for (let index = 0; index < 4; index++) server.enqueue(jsonReply({ error: { message: "boom", type: "server_error" } }, 500));
    const { waits, sleep } = recordingSleep();
    const error = await rejection(modelFor(server, { maxRetries: 3, retry: { initialDelayMs: 100, maxDelayMs: 300, sleep } }).doGenerate({ messages }));
    // 100, 200, 300 (capped), each less up to 25% jitter
    expect(waits).toHaveLength(3);
    [100, 200, 300].forEach((base, index) => {
      expect(waits[index]).toBeGreaterThanOrEqual(base * 0.75);
      expect(waits[index]).toBeLessThanOrEqual(base);
    });
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).status).toBe(500);
    expect(error).toHaveProperty("message", expect.stringContaining("boom"));
    expect(server.requests).toHaveLength(4);
  });

  it("a dropped connection is retried; when it keeps failing it is a ConnectionError", async () => {
    server.enqueue({ type: "destroy" }, jsonReply(chatResponseBody("vllm", "second try")));
    expect((await modelFor(server, { flavor: "vllm" }).doGenerate({ messages })).choices[0].text).toBe("second try");

    const refused = createOpenAICompatibleModel({ baseURL: "http://127.0.0.1:9/v1", model: "m", api: "chat", maxRetries: 1, retry: { initialDelayMs: 1 } });
    const error = await rejection(refused.doGenerate({ messages }));
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toContain("127.0.0.1:9");
  });

  it("a slow server hits the timeout (TimeoutError), not retried", async () => {
    // The server never answers: only the client's timeout can end the call.
    server.enqueue({ type: "hang" });
    const error = await rejection(modelFor(server, { timeoutMs: 150 }).doGenerate({ messages }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(server.requests).toHaveLength(1);
  });

  it("Node fetch's own 300 s header timeout is a TimeoutError too, and the injected fetch is what gets called", async () => {
    let calls = 0;
    const fetchThatTimesOut = async () => {
      calls++;
      const cause = Object.assign(new Error("Headers Timeout Error"), { code: "UND_ERR_HEADERS_TIMEOUT" });
      throw new TypeError("fetch failed", { cause });
    };
    const model = createOpenAICompatibleModel({ baseURL: "http://127.0.0.1:1/v1", model: "m", api: "chat", fetch: fetchThatTimesOut, maxRetries: 3 });
    const error = await rejection(model.doGenerate({ messages }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toContain("UND_ERR_HEADERS_TIMEOUT");
    expect(calls).toBe(1);
  });

  it("the caller's AbortSignal rejects with AbortError, also during a retry wait", async () => {
    server.enqueue({ type: "hang" });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    expect(await rejection(modelFor(server).doGenerate({ messages, abortSignal: controller.signal }))).toBeInstanceOf(AbortError);

    // The caller gives up while the client waits out the server's 59 s retry-after: the real sleep must
    // end at once with AbortError (the injected one aborts, then waits with the real one); one that
    // sat the wait out would outlast this test's 30 s timeout.
    server.requests.length = 0;
    server.enqueue(jsonReply(errorBody("busy"), 503, { "retry-after-ms": "59000" }));
    const waiting = new AbortController();
    const waits: number[] = [];
    const abortingSleep = (ms: number, signal?: AbortSignal) => {
      waits.push(ms);
      const wait = sleep(ms, signal);
      waiting.abort();
      return wait;
    };
    expect(await rejection(modelFor(server, { retry: { sleep: abortingSleep } }).doGenerate({ messages, abortSignal: waiting.signal }))).toBeInstanceOf(AbortError);
    expect(waits).toEqual([59000]);
    expect(server.requests).toHaveLength(1);
  }, 30_000);

  it("a 200 with a body that is not JSON, or not a completion, is an UpstreamError", async () => {
    server.enqueue({ type: "raw", body: '{"choices": [' });
    expect(await rejection(modelFor(server).doGenerate({ messages }))).toBeInstanceOf(UpstreamError);
    server.enqueue(jsonReply({ choices: [{ index: 0, message: { content: 42 } }] }));
    const error = await rejection(modelFor(server).doGenerate({ messages }));
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toContain("choices.0.message.content");
  });

  it("bad settings are a ConfigError naming the key", () => {
    expect(() => createOpenAICompatibleModel({ baseURL: "not a url", model: "m", api: "chat" })).toThrow(ConfigError);
    expect(() => createOpenAICompatibleModel({ baseURL: "http://h/v1", model: "m", api: "chat", maxRetries: -1 })).toThrow(/maxRetries/);
    expect(() => createOpenAICompatibleModel({ baseURL: "http://h/v1", model: "", api: "chat" })).toThrow(/model/);
    expect(() => createOpenAICompatibleModel({ baseURL: "http://h/v1", model: "m", api: "embeddings" as never })).toThrow(/api/);
  });
});
