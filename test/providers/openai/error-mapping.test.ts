import { describe, expect, it } from "vitest";
import {
  AuthenticationError,
  ContextLengthExceededError,
  InvalidArgumentError,
  ModelNotFoundError,
  PermissionDeniedError,
  RateLimitError,
  UpstreamError,
} from "../../../src/errors/index.js";
import { errorFromResponse } from "../../../src/providers/openai/error-mapping.js";
import { backoffDelayMs, defaultRetryPolicy, isRetryableStatus, retryAfterMs } from "../../../src/retry/retry-policy.js";
import { contextOverflowBodies } from "./wire-formats.js";

const map = (status: number, body: unknown, retryAfterSeconds?: number) =>
  errorFromResponse({ status, body, url: "http://h/v1/chat/completions", modelId: "m", retryAfterSeconds });

describe("errorFromResponse", () => {
  it("reads context overflows from OpenAI, vLLM and llama-server bodies, with token counts", () => {
    const openai = map(400, contextOverflowBodies.openai);
    expect(openai).toBeInstanceOf(ContextLengthExceededError);
    expect(openai).toMatchObject({ promptTokens: 9000, contextSize: 8192 });

    const vllm = map(400, contextOverflowBodies.vllm);
    expect(vllm).toBeInstanceOf(ContextLengthExceededError);
    expect(vllm).toMatchObject({ promptTokens: 2000, contextSize: 2048 });

    const llama = map(400, contextOverflowBodies["llama-server"]);
    expect(llama).toBeInstanceOf(ContextLengthExceededError);
    expect(llama).toMatchObject({ promptTokens: 600, contextSize: 512 });
    expect(llama.message).toContain("exceeds the available context size");

    const vllmNew = map(400, {
      error: {
        message: "This model's maximum context length is 4096 tokens. However, your request has 5000 input tokens. Please reduce the length of the input messages.",
        type: "BadRequestError",
        param: null,
        code: 400,
      },
    });
    expect(vllmNew).toMatchObject({ promptTokens: 5000, contextSize: 4096 });
  });

  it("maps statuses to typed errors and keeps the server's words", () => {
    const invalid = map(400, { error: { message: "temperature too high", type: "invalid_request_error", param: "temperature", code: null } });
    expect(invalid).toBeInstanceOf(InvalidArgumentError);
    expect((invalid as InvalidArgumentError).parameter).toBe("temperature");
    expect(invalid.message).toContain("temperature too high");

    expect(map(401, { error: { message: "Incorrect API key provided", type: "invalid_request_error", param: null, code: "invalid_api_key" } })).toBeInstanceOf(AuthenticationError);
    expect(map(403, { error: "forbidden" })).toBeInstanceOf(PermissionDeniedError);

    const notFound = map(404, { error: { message: 'model "llama9" not found, try pulling it first', type: "api_error", param: null, code: null } });
    expect(notFound).toBeInstanceOf(ModelNotFoundError);
    expect(notFound.message).toContain("try pulling it first");

    const limited = map(429, { error: { message: "Rate limit reached", type: "requests", param: null, code: "rate_limit_exceeded" } }, 2);
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).retryAfterSeconds).toBe(2);

    const unavailable = map(503, { error: { code: 503, message: "Loading model", type: "unavailable_error" } });
    expect(unavailable).toBeInstanceOf(UpstreamError);
    expect((unavailable as UpstreamError).status).toBe(503);
    expect(unavailable.message).toContain("Loading model");

    // vLLM's older flat body and FastAPI's validation detail.
    expect(map(400, { object: "error", message: "bad n", type: "BadRequestError", param: "n", code: 400 })).toMatchObject({ parameter: "n" });
    expect(map(422, { detail: [{ loc: ["body", "messages"], msg: "field required" }] }).message).toContain("field required");
  });

  it("keeps a non-JSON error page readable", () => {
    const error = errorFromResponse({ status: 502, body: undefined, bodyText: "<html>Bad Gateway</html>", url: "http://h/v1/x", modelId: "m" });
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.message).toContain("Bad Gateway");
  });
});

describe("retry policy", () => {
  it("parses retry-after-ms, retry-after seconds and HTTP dates", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(retryAfterMs(new Headers({ "retry-after-ms": "250", "retry-after": "9" }), now)).toBe(250);
    expect(retryAfterMs(new Headers({ "retry-after": "2" }), now)).toBe(2000);
    expect(retryAfterMs(new Headers({ "retry-after": "1.5" }), now)).toBe(1500);
    expect(retryAfterMs(new Headers({ "retry-after": "Wed, 01 Jan 2025 00:00:03 GMT" }), now)).toBe(3000);
    expect(retryAfterMs(new Headers({ "retry-after": "Tue, 31 Dec 2024 23:59:00 GMT" }), now)).toBe(0);
    expect(retryAfterMs(new Headers({ "retry-after": "soon" }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
  });

  it("retries 408/409/429/5xx only, with doubling capped backoff and at most 25% jitter", () => {
    expect([408, 409, 429, 500, 503].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 422].some(isRetryableStatus)).toBe(false);
    const noJitter = { ...defaultRetryPolicy, random: () => 0 };
    const fullJitter = { ...defaultRetryPolicy, random: () => 1 };
    expect([0, 1, 2, 3, 4, 5].map((retry) => backoffDelayMs(retry, noJitter))).toEqual([500, 1000, 2000, 4000, 8000, 8000]);
    expect(backoffDelayMs(1, fullJitter)).toBe(750);
  });
});
