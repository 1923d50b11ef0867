import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, ModelNotFoundError, UpstreamError } from "../../../src/errors/index.js";
import { type FakeOpenAIServer, jsonReply, startFakeOpenAIServer } from "../../support/fake-openai-server.js";
import { modelFor } from "./helpers.js";

let server: FakeOpenAIServer;
beforeAll(async () => {
  server = await startFakeOpenAIServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
});

const messages = [{ role: "user" as const, content: "Hello" }];

describe("tokenize / detokenize", () => {
  it("llama-server: /tokenize and /detokenize outside /v1", async () => {
    server.enqueue(jsonReply({ tokens: [1, 15043, 3186] }), jsonReply({ tokens: [{ id: 15043, piece: "Hello" }] }), jsonReply({ content: "Hello world" }));
    const model = modelFor(server, { flavor: "llama-server" });
    expect(await model.tokenize?.("Hello world", { addBos: true })).toEqual([1, 15043, 3186]);
    expect(await model.tokenize?.("Hello")).toEqual([15043]);
    expect(await model.detokenize?.([15043, 3186])).toBe("Hello world");
    expect(server.requests.map((request) => [request.path, request.body])).toEqual([
      ["/tokenize", { content: "Hello world", add_special: true, parse_special: true }],
      ["/tokenize", { content: "Hello", add_special: false, parse_special: true }],
      ["/detokenize", { tokens: [15043, 3186] }],
    ]);
    await expect(model.detokenize?.([1.5])).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("vLLM: its /tokenize and /detokenize take the model name", async () => {
    server.enqueue(jsonReply({ count: 2, max_model_len: 4096, tokens: [9906, 1917] }), jsonReply({ prompt: "Hello world" }));
    const model = modelFor(server, { flavor: "vllm" });
    expect(await model.tokenize?.("Hello world")).toEqual([9906, 1917]);
    expect(await model.detokenize?.([9906, 1917])).toBe("Hello world");
    expect(server.requests[0].body).toEqual({ model: "test-model", prompt: "Hello world", add_special_tokens: false });
  });

  it("servers without tokenize endpoints leave the capability undefined", () => {
    expect(modelFor(server, { flavor: "openai" }).tokenize).toBeUndefined();
    expect(modelFor(server, { flavor: "ollama" }).detokenize).toBeUndefined();
  });
});

describe("describe", () => {
  it("finds the model in /v1/models and reports vLLM's context size", async () => {
    server.enqueue(jsonReply({ object: "list", data: [{ id: "test-model", object: "model", owned_by: "vllm", max_model_len: 8192 }] }));
    expect(await modelFor(server, { flavor: "vllm" }).describe?.()).toEqual({
      modelId: "test-model",
      provider: "openai-compatible",
      contextSize: 8192,
      promptFormat: { name: "remote", source: "remote", reason: expect.stringContaining("applies the model's own chat template") },
    });
    expect(server.requests[0]).toMatchObject({ method: "GET", path: "/v1/models" });
  });

  it("llama-server: its one model answers to any name; context size from /props", async () => {
    server.enqueue(
      jsonReply({ object: "list", data: [{ id: "stories260K.gguf", object: "model", meta: { n_ctx_train: 512, n_vocab: 512 } }] }),
      jsonReply({ default_generation_settings: { n_ctx: 256, params: {} }, total_slots: 1 }),
    );
    const description = await modelFor(server, { flavor: "llama-server" }).describe?.();
    expect(description?.contextSize).toBe(256);
    expect(server.requests[1].path).toBe("/props");

    server.enqueue(jsonReply({ object: "list", data: [{ id: "any.gguf" }] }), jsonReply({}, 404));
    const completions = await modelFor(server, { flavor: "llama-server", api: "completions", promptFormat: "vicuna-v1.1" }).describe?.();
    expect(completions?.promptFormat).toMatchObject({ name: "vicuna-v1.1", source: "explicit" });
    expect(completions?.contextSize).toBeUndefined();
  });

  it("a model the server does not list is ModelNotFoundError naming what is there", async () => {
    server.enqueue(jsonReply({ object: "list", data: [{ id: "llama3.2:latest" }, { id: "qwen2.5:0.5b" }] }));
    const error = await modelFor(server, { flavor: "ollama" })
      .describe?.()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect((error as Error).message).toContain("llama3.2:latest, qwen2.5:0.5b");
  });
});

describe("renderPrompt", () => {
  it("chat API: the messages, with the format reported as the server's (remote)", async () => {
    const rendered = await modelFor(server, { flavor: "vllm" }).renderPrompt({ messages });
    expect(rendered).toMatchObject({ text: "", messages, format: { name: "remote", source: "remote" }, formatStops: [] });
    expect(server.requests).toHaveLength(0);
  });

  it("llama-server chat: the exact text from /apply-template", async () => {
    server.enqueue(jsonReply({ prompt: "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n" }));
    const rendered = await modelFor(server, { flavor: "llama-server" }).renderPrompt({ messages });
    expect(rendered.text).toBe("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n");
    expect(rendered.format.source).toBe("remote");
    expect(server.requests[0]).toMatchObject({ path: "/apply-template", body: { messages } });
  });

  it("completions API: the rendered text and its stops, with token ids where the server can tokenize", async () => {
    server.enqueue(jsonReply({ tokens: [1, 2, 3] }));
    const model = modelFor(server, { api: "completions", flavor: "llama-server", promptFormat: "chatml" });
    const rendered = await model.renderPrompt({ messages });
    expect(rendered.text).toBe("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n");
    expect(rendered.formatStops).toContain("<|im_end|>");
    expect(rendered.format).toMatchObject({ name: "chatml", source: "explicit" });
    expect(rendered.tokens).toEqual([1, 2, 3]);

    const raw = await modelFor(server, { api: "completions" }).renderPrompt({ prompt: "Once upon a time" });
    expect(raw).toMatchObject({ text: "Once upon a time", format: { source: "raw" } });
  });
});

describe("logLikelihood (completions with echo)", () => {
  it("vLLM: sums the continuation's prompt logprobs by text offset and checks greediness", async () => {
    // "Once upon" + " a time": tokens [BOS] "Once" " upon" " a" " time" + one generated token.
    server.enqueue(
      jsonReply({
        choices: [
          {
            index: 0,
            text: "Once upon a time,",
            logprobs: {
              tokens: ["<s>", "Once", " upon", " a", " time", ","],
              token_logprobs: [null, -3, -0.5, -0.25, -0.125, -0.1],
              top_logprobs: [null, { Once: -3, The: -1 }, { " upon": -0.5 }, { " a": -0.25 }, { " time": -0.125, " day": -2 }, { ",": -0.1 }],
              text_offset: [0, 0, 4, 9, 11, 16],
            },
            finish_reason: "length",
          },
        ],
        usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
      }),
      jsonReply({
        choices: [
          {
            index: 0,
            text: "Once upon a day",
            logprobs: { tokens: ["Once", " upon", " a", " day"], token_logprobs: [-3, -0.5, -0.25, -2], top_logprobs: [null, null, { " a": -0.25 }, { " time": -0.125, " day": -2 }], text_offset: [0, 4, 9, 11] },
          },
        ],
      }),
    );
    const model = modelFor(server, { flavor: "vllm", api: "completions" });
    const results = await model.logLikelihood?.([
      { context: "Once upon", continuation: " a time" },
      { context: "Once upon", continuation: " a day" },
    ]);
    expect(results).toEqual([
      { logprob: -0.375, tokenCount: 2, isGreedy: true },
      { logprob: -2.25, tokenCount: 2, isGreedy: false },
    ]);
    expect(server.requests[0]).toMatchObject({ path: "/v1/completions", body: { prompt: "Once upon a time", echo: true, logprobs: 1, max_tokens: 1 } });
  });

  it("a server that does not echo is a clear UpstreamError; servers without echo have no logLikelihood", async () => {
    server.enqueue(jsonReply({ choices: [{ index: 0, text: ",", logprobs: null, finish_reason: "length" }] }));
    await expect(modelFor(server, { flavor: "vllm" }).logLikelihood?.([{ context: "a", continuation: "b" }])).rejects.toBeInstanceOf(UpstreamError);
    expect(modelFor(server, { flavor: "llama-server" }).logLikelihood).toBeUndefined();
    expect(modelFor(server, { flavor: "ollama" }).logLikelihood).toBeUndefined();
  });
});
