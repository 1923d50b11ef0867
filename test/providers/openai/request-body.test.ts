import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../src/errors/index.js";
import { type BodyInput, buildRequestBody } from "../../../src/providers/openai/request-body.js";

const messages = [{ role: "user" as const, content: "Hi" }];
const chat = (overrides: Partial<BodyInput> = {}) =>
  buildRequestBody({ model: "m", api: "chat", flavor: "openai", options: { messages }, stream: false, messages, ...overrides });

describe("buildRequestBody", () => {
  it("maps every standard option to its OpenAI chat field", () => {
    const { body, warnings } = chat({
      flavor: "vllm",
      stream: true,
      options: {
        messages,
        maxTokens: 32,
        temperature: 0.2,
        topP: 0.9,
        seed: 7,
        stop: ["\n\n"],
        n: 2,
        presencePenalty: 0.1,
        frequencyPenalty: 0.3,
        topLogprobs: 3,
        responseFormat: { type: "json", schema: { type: "object" }, name: "answer" },
      },
    });
    expect(body).toEqual({
      model: "m",
      messages,
      max_tokens: 32,
      temperature: 0.2,
      top_p: 0.9,
      seed: 7,
      stop: ["\n\n"],
      n: 2,
      presence_penalty: 0.1,
      frequency_penalty: 0.3,
      logprobs: true,
      top_logprobs: 3,
      response_format: { type: "json_schema", json_schema: { name: "answer", schema: { type: "object" }, strict: true } },
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(warnings).toEqual([]);
  });

  it("uses max_completion_tokens for OpenAI chat and json_object without a schema", () => {
    const { body } = chat({ options: { messages, maxTokens: 5, responseFormat: { type: "json" } } });
    expect(body.max_completion_tokens).toBe(5);
    expect(body.max_tokens).toBeUndefined();
    expect(body.response_format).toEqual({ type: "json_object" });
  });

  it("sends topK/minP/repeat penalty under each server's own names, and warns where there are none", () => {
    const options = { messages, topK: 40, minP: 0.05, repeatPenalty: 1.1, repeatLastN: 64 };
    const vllm = chat({ flavor: "vllm", options });
    expect(vllm.body).toMatchObject({ top_k: 40, min_p: 0.05, repetition_penalty: 1.1 });
    expect(vllm.warnings.map((warning) => warning.setting)).toEqual(["repeatLastN"]);

    const llama = chat({ flavor: "llama-server", options });
    expect(llama.body).toMatchObject({ top_k: 40, min_p: 0.05, repeat_penalty: 1.1, repeat_last_n: 64 });
    expect(llama.warnings).toEqual([]);

    for (const flavor of ["openai", "ollama"] as const) {
      const { body, warnings } = chat({ flavor, options });
      expect(body.top_k).toBeUndefined();
      expect(warnings.map((warning) => warning.setting)).toEqual(["topK", "minP", "repeatPenalty", "repeatLastN"]);
      expect(warnings.every((warning) => warning.type === "unsupported-setting")).toBe(true);
    }
  });

  it("uses the completions API's integer logprobs and merges format stops with the caller's", () => {
    const { body } = buildRequestBody({
      model: "m",
      api: "completions",
      flavor: "vllm",
      options: { prompt: "x", logprobs: true, stop: ["###", "</s>"] },
      stream: false,
      prompt: "x",
      formatStops: ["</s>", "USER:"],
    });
    expect(body).toMatchObject({ prompt: "x", logprobs: 1, stop: ["###", "</s>", "USER:"] });
    expect(body.messages).toBeUndefined();
  });

  it("caps completions alternatives at OpenAI's 5 with a warning, and constrains JSON per server on completions", () => {
    const openai = buildRequestBody({ model: "m", api: "completions", flavor: "openai", options: { prompt: "x", topLogprobs: 8, responseFormat: { type: "json" } }, stream: false, prompt: "x" });
    expect(openai.body.logprobs).toBe(5);
    expect(openai.warnings.map((warning) => warning.setting)).toEqual(["topLogprobs", "responseFormat"]);
    const llama = buildRequestBody({ model: "m", api: "completions", flavor: "llama-server", options: { prompt: "x", responseFormat: { type: "json", schema: { type: "object" } } }, stream: false, prompt: "x" });
    expect(llama.body.json_schema).toEqual({ type: "object" });
  });

  it("warns for n on Ollama, for settings a remote server decides itself, and passes provider options through", () => {
    const { body, warnings } = chat({
      flavor: "ollama",
      options: {
        messages,
        n: 3,
        addBos: true,
        promptFormat: "vicuna-v1.1",
        providerOptions: { ollama: { keep_alive: "5m", model: "other" }, local: { threads: 2 } },
      },
    });
    expect(body.n).toBeUndefined();
    expect(body.keep_alive).toBe("5m");
    expect(body.model).toBe("m");
    expect(body.threads).toBeUndefined();
    expect(warnings.map((warning) => warning.setting).sort()).toEqual(
      ["addBos", "n", "promptFormat", "providerOptions.ollama.model"].sort(),
    );
  });

  it("rejects impossible values naming the option", () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ maxTokens: 0 }, "maxTokens"],
      [{ n: 1.5 }, "n"],
      [{ temperature: -1 }, "temperature"],
      [{ topP: 2 }, "topP"],
      [{ topLogprobs: 21 }, "topLogprobs"],
      [{ seed: Number.NaN }, "seed"],
      [{ stop: "x" }, "stop"],
    ];
    for (const [options, parameter] of bad) {
      let caught: unknown;
      try {
        chat({ options: { messages, ...options } });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(InvalidArgumentError);
      expect((caught as InvalidArgumentError).parameter).toBe(parameter);
    }
  });
});
