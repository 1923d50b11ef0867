import { describe, expect, it } from "vitest";
import { InvalidArgumentError, UnsupportedFeatureError } from "../../src/errors/index.js";
import { parseRequestBody } from "../../src/server/openai/parse-body.js";
import { chatCompletionRequestSchema, completionRequestSchema } from "../../src/server/openai/request-schemas.js";
import { chatLogprobs, completionLogprobs, openAIFinishReason } from "../../src/server/openai/response-shapes.js";
import { chatRequestToCallOptions, completionRequestToCallOptions } from "../../src/server/openai/to-call-options.js";

const parseChat = (body: unknown) => chatRequestToCallOptions(parseRequestBody(JSON.stringify(body), chatCompletionRequestSchema));
const parseCompletion = (body: unknown) => completionRequestToCallOptions(parseRequestBody(JSON.stringify(body), completionRequestSchema));

describe("OpenAI request → CallOptions", () => {
  it("maps every sampling field and the JSON schema response format", () => {
    const options = parseChat({
      model: "m",
      messages: [
        { role: "developer", content: "Be terse." },
        { role: "user", content: [{ type: "text", text: "Hi " }, { type: "text", text: "there" }] },
        { role: "assistant", content: null },
      ],
      max_completion_tokens: 9,
      max_tokens: 99,
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      min_p: 0.05,
      repeat_penalty: 1.1,
      frequency_penalty: 0.2,
      presence_penalty: -0.3,
      seed: 42,
      stop: "\n\n",
      n: 3,
      logprobs: true,
      top_logprobs: 4,
      response_format: { type: "json_schema", json_schema: { name: "answer", schema: { type: "object" } } },
      prompt_format: "vicuna-v1.1",
      unknown_extra: "ignored",
    });
    expect(options).toEqual({
      messages: [
        { role: "system", content: "Be terse." },
        { role: "user", content: "Hi there" },
        { role: "assistant", content: "" },
      ],
      maxTokens: 9,
      temperature: 0.5,
      topP: 0.9,
      topK: 40,
      minP: 0.05,
      repeatPenalty: 1.1,
      frequencyPenalty: 0.2,
      presencePenalty: -0.3,
      seed: 42,
      stop: ["\n\n"],
      n: 3,
      logprobs: true,
      topLogprobs: 4,
      responseFormat: { type: "json", name: "answer", schema: { type: "object" } },
      promptFormat: "vicuna-v1.1",
    });
    expect(parseChat({ model: "m", messages: [{ role: "user", content: "x" }], response_format: { type: "json_object" } }).responseFormat).toEqual({ type: "json" });
  });

  it("completions: defaults max_tokens to 16 like OpenAI, maps integer logprobs, refuses what it cannot do", () => {
    expect(parseCompletion({ model: "m", prompt: ["Once"], logprobs: 3 })).toEqual({ prompt: "Once", maxTokens: 16, logprobs: true, topLogprobs: 3 });
    expect(() => parseCompletion({ model: "m", prompt: "x", echo: true })).toThrow(UnsupportedFeatureError);
    expect(() => parseCompletion({ model: "m", prompt: ["a", "b"] })).toThrow(/'prompt'/);
    expect(() => parseChat({ model: "m", messages: [{ role: "user", content: "x" }], top_logprobs: 2 })).toThrow(/requires 'logprobs'/);
    expect(() => parseChat({ model: "m", messages: [{ role: "user", content: null }] })).toThrow(InvalidArgumentError);
  });

  it("names nested parameters and refuses non-object bodies", () => {
    const error = (() => {
      try {
        parseChat({ model: "m", messages: [{ role: "user", content: "x" }], stream_options: { include_usage: "yes" } });
      } catch (e) {
        return e as InvalidArgumentError;
      }
    })();
    expect(error?.parameter).toBe("stream_options.include_usage");
    expect(() => parseRequestBody("[1]", chatCompletionRequestSchema)).toThrow(/must be a JSON object/);
    expect(() => parseRequestBody("", chatCompletionRequestSchema)).toThrow(/not valid JSON/);
  });
});

describe("results → OpenAI shapes", () => {
  it("builds chat and completions logprobs and maps finish reasons", () => {
    const logprobs = [
      { token: "Hé", logprob: -0.1, topLogprobs: [{ token: "Hé", logprob: -0.1 }, { token: "X", logprob: -2.5 }] },
      { token: "llo", logprob: -0.2 },
    ];
    expect(chatLogprobs(logprobs)).toEqual({
      content: [
        { token: "Hé", logprob: -0.1, bytes: [72, 195, 169], top_logprobs: [{ token: "Hé", logprob: -0.1, bytes: [72, 195, 169] }, { token: "X", logprob: -2.5, bytes: [88] }] },
        { token: "llo", logprob: -0.2, bytes: [108, 108, 111], top_logprobs: [] },
      ],
      refusal: null,
    });
    expect(completionLogprobs(logprobs, 5)).toEqual({
      tokens: ["Hé", "llo"],
      token_logprobs: [-0.1, -0.2],
      top_logprobs: [{ Hé: -0.1, X: -2.5 }, {}],
      text_offset: [5, 7],
    });
    expect(chatLogprobs(undefined)).toBeNull();
    expect(openAIFinishReason("abort")).toBe("stop");
    expect(openAIFinishReason("length")).toBe("length");
  });
});
