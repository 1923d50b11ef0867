import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AbortError, ConnectionError, ContextLengthExceededError, TimeoutError, UpstreamError } from "../../../src/errors/index.js";
import type { StreamPart } from "../../../src/spec/stream-parts.js";
import {
  type FakeOpenAIServer,
  jsonReply,
  type ScriptedStep,
  splitIntoByteChunks,
  sseDone,
  sseEvent,
  sseReply,
  startFakeOpenAIServer,
  usage,
} from "../../support/fake-openai-server.js";
import { collectParts, modelFor, partsOfType, textOf } from "./helpers.js";
import { chatStreamEvents, type Flavor } from "./wire-formats.js";

let server: FakeOpenAIServer;
beforeAll(async () => {
  server = await startFakeOpenAIServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
});

const messages = [{ role: "user" as const, content: "Greet me" }];

/** A UTF-16 half without its partner: what a character split in the wrong place leaves behind. */
const hasLoneSurrogate = (text: string) => /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);

function finishOf(parts: StreamPart[]) {
  const finish = parts.at(-1);
  if (finish?.type !== "finish") throw new Error(`last part is ${finish?.type}, not finish`);
  return finish;
}

describe("doStream against each server's wire format", () => {
  for (const flavor of ["openai", "vllm", "llama-server", "ollama"] as Flavor[]) {
    it(`${flavor}: deltas in order, one choice-finish, usage from the usage chunk, client-side timings`, async () => {
      const pieces = ["Hel", "lo", ", ", "world", "!"];
      server.enqueue(sseReply(chatStreamEvents(flavor, pieces, { usage: usage(9, 5) })));
      const { stream, warnings, prompt } = await modelFor(server, { flavor }).doStream({ messages, maxTokens: 5 });
      const parts = await collectParts(stream);

      expect(parts[0]).toMatchObject({ type: "stream-start", warnings: [] });
      expect(partsOfType(parts, "text-delta").map((part) => part.delta)).toEqual(pieces);
      expect(partsOfType(parts, "choice-finish")).toEqual([{ type: "choice-finish", choiceIndex: 0, finishReason: "stop", completionTokens: 5 }]);
      const finish = finishOf(parts);
      expect(finish.finishReason).toBe("stop");
      expect(finish.usage).toEqual({ promptTokens: 9, completionTokens: 5, totalTokens: 14 });
      expect(finish.timings.timeToFirstTokenMs).toBeGreaterThan(0);
      expect(finish.timings.totalMs).toBeGreaterThanOrEqual(finish.timings.timeToFirstTokenMs);
      if (flavor === "llama-server") expect(finish.timings.promptTokensPerSecond).toBe(2000);
      expect(warnings).toEqual([]);
      expect(prompt?.format.source).toBe("remote");
      expect(server.requests[0].body).toMatchObject({ stream: true, stream_options: { include_usage: true }, messages });
    });
  }

  it("reads a finished response to its end, so the server sees a clean close rather than a client leaving", async () => {
    const before = server.abandonedResponses;
    for (let round = 0; round < 5; round++) {
      const events = chatStreamEvents("vllm", ["x"]);
      // The server writes [DONE], pauses, then ends the response, as a busy server may.
      server.enqueue(sseReply([...events, { delayMs: 30 }]));
      await collectParts((await modelFor(server, { flavor: "vllm" }).doStream({ messages })).stream);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.abandonedResponses).toBe(before);
  });

  it("measures time to first token and decode speed on the client", async () => {
    const events = chatStreamEvents("vllm", ["a", "b", "c", "d", "e"]);
    // role chunk, then a 150 ms wait before the first token, then 4 tokens 30 ms apart.
    const steps: ScriptedStep[] = [events[0], { delayMs: 150 }, events[1]];
    for (const event of events.slice(2, 6)) steps.push({ delayMs: 30 }, event);
    steps.push(...events.slice(6));
    server.enqueue(sseReply(steps));
    const parts = await collectParts((await modelFor(server, { flavor: "vllm" }).doStream({ messages })).stream);
    const { timings } = finishOf(parts);
    expect(timings.timeToFirstTokenMs).toBeGreaterThanOrEqual(140);
    // 4 decode tokens over ≥ 120 ms: at most ~33 tokens/s, far below what a 0 ms gap would give
    // (a loaded machine only makes it slower, so there is no lower bound).
    expect(timings.tokensPerSecond).toBeGreaterThan(0);
    expect(timings.tokensPerSecond).toBeLessThan(40);
  });

  it("Korean and emoji arrive whole even when every network write is 1-3 bytes", async () => {
    const pieces = ["안녕", "하세요", " 👋🏽", " 세계 ", "🇰🇷", "!"];
    const wire = chatStreamEvents("llama-server", pieces).join("").replaceAll("\n", "\r\n");
    for (const size of [1, 2, 3]) {
      server.enqueue(sseReply(splitIntoByteChunks(wire, size)));
      const parts = await collectParts((await modelFor(server, { flavor: "llama-server" }).doStream({ messages })).stream);
      const deltas = partsOfType(parts, "text-delta").map((part) => part.delta);
      expect(deltas).toEqual(pieces);
      for (const delta of deltas) {
        expect(delta).not.toContain("\uFFFD");
        expect(hasLoneSurrogate(delta)).toBe(false);
      }
      expect(finishOf(parts).finishReason).toBe("stop");
    }
  });

  it("a surrogate pair escaped across two chunks is joined, never emitted half", async () => {
    const chunk = (content: string) => `data: {"choices":[{"index":0,"delta":{"content":"${content}"},"finish_reason":null}]}\n\n`;
    server.enqueue(sseReply([chunk("hi \\ud83d"), chunk("\\ude00 there"), sseEvent({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }), sseDone]));
    const parts = await collectParts((await modelFor(server).doStream({ messages })).stream);
    const deltas = partsOfType(parts, "text-delta").map((part) => part.delta);
    expect(deltas.join("")).toBe("hi 😀 there");
    expect(deltas.some(hasLoneSurrogate)).toBe(false);
  });

  it("n>1: interleaved choices stay apart, each finishes with its own reason and token count", async () => {
    const event = (index: number, content: string | null, finish: string | null = null) =>
      sseEvent({ object: "chat.completion.chunk", model: "m", choices: [{ index, delta: content === null ? {} : { content }, logprobs: null, finish_reason: finish }] });
    server.enqueue(
      sseReply([
        event(0, "The"),
        event(1, "A"),
        event(1, " cat"),
        event(0, " dog"),
        event(1, null, "length"),
        event(0, " ran"),
        event(0, null, "stop"),
        sseEvent({ object: "chat.completion.chunk", model: "m", choices: [], usage: usage(4, 5) }),
        sseDone,
      ]),
    );
    const parts = await collectParts((await modelFor(server, { flavor: "vllm" }).doStream({ messages, n: 2 })).stream);
    expect(textOf(parts, 0)).toBe("The dog ran");
    expect(textOf(parts, 1)).toBe("A cat");
    expect(partsOfType(parts, "choice-finish").map((part) => [part.choiceIndex, part.finishReason, part.completionTokens])).toEqual([
      [1, "length", 2],
      [0, "stop", 3],
    ]);
    // The call reports choice 0's reason, as the local provider does.
    expect(finishOf(parts)).toMatchObject({ finishReason: "stop", usage: { completionTokens: 5 } });
    expect(server.requests[0].body).toMatchObject({ n: 2 });
  });

  it("streamed logprobs are mapped per delta and count the tokens", async () => {
    const event = (token: string, logprob: number) =>
      sseEvent({ choices: [{ index: 0, delta: { content: token }, logprobs: { content: [{ token, logprob, bytes: [...Buffer.from(token)], top_logprobs: [] }] }, finish_reason: null }] });
    server.enqueue(sseReply([event("Hi", -0.1), event(" you", -0.4), sseEvent({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }), sseDone]));
    const result = await modelFor(server).doStream({ messages, logprobs: true });
    const parts = await collectParts(result.stream);
    expect(partsOfType(parts, "text-delta").map((part) => part.logprobs)).toEqual([
      [{ token: "Hi", logprob: -0.1, bytes: [72, 105] }],
      [{ token: " you", logprob: -0.4, bytes: [32, 121, 111, 117] }],
    ]);
    // No usage chunk from this server: completion tokens are counted from the logprobs, and we say so.
    expect(finishOf(parts).usage).toEqual({ promptTokens: 0, completionTokens: 2, totalTokens: 2 });
    expect(result.warnings.map((warning) => warning.message).join()).toContain("no usage");
  });

  it("completions streams (vLLM legacy logprob arrays) work the same way", async () => {
    const event = (text: string, finish: string | null) =>
      sseEvent({ id: "cmpl-1", object: "text_completion", created: 1, model: "m", choices: [{ index: 0, text, logprobs: { text_offset: [0], token_logprobs: [-0.5], tokens: [text], top_logprobs: [{ [text]: -0.5 }] }, finish_reason: finish, stop_reason: finish ? "\n" : null }] });
    server.enqueue(sseReply([event(" there", null), event(" was", "stop"), sseEvent({ choices: [], usage: usage(4, 2) }), sseDone]));
    const parts = await collectParts((await modelFor(server, { api: "completions", flavor: "vllm" }).doStream({ prompt: "Once upon a time", logprobs: true })).stream);
    expect(textOf(parts)).toBe(" there was");
    expect(partsOfType(parts, "choice-finish")).toEqual([{ type: "choice-finish", choiceIndex: 0, finishReason: "stop", stopReason: "\n", completionTokens: 2 }]);
    expect(server.requests[0].path).toBe("/v1/completions");
  });
});

describe("stream failures", () => {
  it("EOF without [DONE]: error part with ConnectionError, choice and stream finish with \"error\"", async () => {
    server.enqueue(sseReply(chatStreamEvents("openai", ["partial", " answer"]).slice(0, 3)));
    const parts = await collectParts((await modelFor(server).doStream({ messages })).stream);
    expect(textOf(parts)).toBe("partial answer");
    const [error] = partsOfType(parts, "error");
    expect(error.error).toBeInstanceOf(ConnectionError);
    expect(error.error.message).toContain("without [DONE]");
    expect(partsOfType(parts, "choice-finish")[0].finishReason).toBe("error");
    expect(finishOf(parts).finishReason).toBe("error");
    expect(server.requests).toHaveLength(1);
  });

  it("a connection dropped mid-stream is a ConnectionError and is never retried", async () => {
    const events = chatStreamEvents("vllm", ["one", " two", " three"]);
    server.enqueue(sseReply([events[0], events[1], events[2].slice(0, 20)], { end: "destroy" }), jsonReply({ unused: true }));
    const parts = await collectParts((await modelFor(server, { flavor: "vllm", maxRetries: 3 }).doStream({ messages })).stream);
    expect(textOf(parts)).toBe("one");
    expect(partsOfType(parts, "error")[0].error).toBeInstanceOf(ConnectionError);
    expect(finishOf(parts).finishReason).toBe("error");
    expect(server.requests).toHaveLength(1);
    await fetch(`${server.url}/drain`); // consume the reply a retry would have received
  });

  it("OpenAI's `data: {\"error\": ...}` mid-stream becomes a typed error part", async () => {
    const events = chatStreamEvents("openai", ["Hi"]);
    server.enqueue(sseReply([events[0], events[1], sseEvent({ error: { message: "The server had an error while processing your request.", type: "server_error", param: null, code: null } })]));
    const parts = await collectParts((await modelFor(server).doStream({ messages })).stream);
    expect(textOf(parts)).toBe("Hi");
    const [error] = partsOfType(parts, "error");
    expect(error.error).toBeInstanceOf(UpstreamError);
    expect(error.error.message).toContain("had an error");
    expect(finishOf(parts).finishReason).toBe("error");
  });

  it("llama-server's `error: {...}` line, followed by [DONE], is reported (context overflow)", async () => {
    server.enqueue(
      sseReply([
        'error: {"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":700,"n_ctx":512}\n\n',
        sseDone,
      ]),
    );
    const parts = await collectParts((await modelFor(server, { flavor: "llama-server" }).doStream({ messages })).stream);
    const [error] = partsOfType(parts, "error");
    expect(error.error).toBeInstanceOf(ContextLengthExceededError);
    expect(error.error).toMatchObject({ promptTokens: 700, contextSize: 512 });
    expect(finishOf(parts).finishReason).toBe("error");
  });

  it("`event: error` and vLLM's flat error object are errors too; a non-JSON event is an UpstreamError", async () => {
    server.enqueue(sseReply([sseEvent({ message: "overloaded" }, "error"), sseDone]));
    const named = await collectParts((await modelFor(server).doStream({ messages })).stream);
    expect(partsOfType(named, "error")[0].error.message).toContain("overloaded");

    server.enqueue(sseReply([sseEvent({ object: "error", message: "stream failed", type: "InternalServerError", param: null, code: 500 }), sseDone]));
    const flat = await collectParts((await modelFor(server, { flavor: "vllm" }).doStream({ messages })).stream);
    expect(partsOfType(flat, "error")[0].error).toBeInstanceOf(UpstreamError);

    server.enqueue(sseReply(["data: {not json\n\n", sseDone]));
    const garbage = await collectParts((await modelFor(server).doStream({ messages })).stream);
    expect(partsOfType(garbage, "error")[0].error).toBeInstanceOf(UpstreamError);
  });

  it("a JSON answer to a stream request is an error, not an empty stream", async () => {
    server.enqueue(jsonReply({ error: { message: "streaming is disabled", type: "invalid_request_error", param: "stream", code: null } }));
    const error = await modelFor(server).doStream({ messages }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ parameter: "stream" });
    server.enqueue(jsonReply({ choices: [{ index: 0, message: { content: "whole" }, finish_reason: "stop" }] }));
    await expect(modelFor(server).doStream({ messages })).rejects.toThrow(/instead of server-sent events/);
  });

  it("an HTTP error before the stream starts rejects doStream, after retries for 5xx", async () => {
    server.enqueue(jsonReply({ error: { message: "Loading model", type: "unavailable_error", code: 503 } }, 503), sseReply(chatStreamEvents("llama-server", ["ok"])));
    const parts = await collectParts((await modelFor(server, { flavor: "llama-server" }).doStream({ messages })).stream);
    expect(textOf(parts)).toBe("ok");
    expect(server.requests).toHaveLength(2);
  });

  it("a stream that goes silent hits the idle timeout: TimeoutError part", async () => {
    const events = chatStreamEvents("openai", ["slow"]);
    // The server sends a token, then nothing ever again: only the idle timeout can end the stream.
    server.enqueue(sseReply([events[0], events[1]], { end: "hang" }));
    const parts = await collectParts((await modelFor(server, { timeoutMs: 200 }).doStream({ messages })).stream);
    expect(textOf(parts)).toBe("slow");
    expect(partsOfType(parts, "error")[0].error).toBeInstanceOf(TimeoutError);
    expect(finishOf(parts).finishReason).toBe("error");
    await server.waitForAbandoned(1);
  });

  it("chunks arriving slower than the timeout in total, but each within it, are fine", async () => {
    const events = chatStreamEvents("openai", ["a", "b", "c", "d"]);
    // 100 ms before every event (well over 400 ms in all) against a 400 ms idle timeout: 300 ms of slack per gap.
    const steps: ScriptedStep[] = events.flatMap((event) => [{ delayMs: 100 }, event]);
    server.enqueue(sseReply(steps));
    const parts = await collectParts((await modelFor(server, { timeoutMs: 400 }).doStream({ messages })).stream);
    expect(textOf(parts)).toBe("abcd");
    expect(finishOf(parts).finishReason).toBe("stop");
  });

  it("a consumer slower than the timeout does not time the server out", async () => {
    server.enqueue(sseReply(chatStreamEvents("vllm", ["p", "q"])));
    const { stream } = await modelFor(server, { flavor: "vllm", timeoutMs: 100 }).doStream({ messages });
    const reader = stream.getReader();
    const parts: StreamPart[] = [];
    for (let count = 0; count < 20; count++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
    expect(textOf(parts)).toBe("pq");
    expect(finishOf(parts).finishReason).toBe("stop");
  });

  it("aborting mid-stream: finish \"abort\" for the choice and the stream, and the server sees the client leave", async () => {
    const abandonedBefore = server.abandonedResponses;
    const events = chatStreamEvents("llama-server", ["first", " second"]);
    server.enqueue(sseReply([events[0], events[1], { delayMs: 3_000 }, ...events.slice(2)]));
    const controller = new AbortController();
    const { stream } = await modelFor(server, { flavor: "llama-server" }).doStream({ messages, abortSignal: controller.signal });
    const reader = stream.getReader();
    const parts: StreamPart[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      if (value.type === "text-delta") controller.abort();
    }
    expect(textOf(parts)).toBe("first");
    expect(partsOfType(parts, "error")).toEqual([]);
    expect(partsOfType(parts, "choice-finish")[0].finishReason).toBe("abort");
    expect(finishOf(parts).finishReason).toBe("abort");
    await server.waitForAbandoned(abandonedBefore + 1);
  });

  it("aborting before the response arrives rejects doStream with AbortError", async () => {
    server.enqueue({ type: "hang" });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(modelFor(server).doStream({ messages, abortSignal: controller.signal })).rejects.toBeInstanceOf(AbortError);
  });

  it("a consumer that stops reading (cancel) closes the request", async () => {
    const abandonedBefore = server.abandonedResponses;
    const events = chatStreamEvents("ollama", ["x", "y"]);
    server.enqueue(sseReply([events[0], { delayMs: 3_000 }, ...events.slice(1)]));
    const { stream } = await modelFor(server, { flavor: "ollama" }).doStream({ messages });
    const reader = stream.getReader();
    await reader.read(); // stream-start
    expect((await reader.read()).value).toMatchObject({ type: "text-delta", delta: "x" });
    await reader.cancel();
    await server.waitForAbandoned(abandonedBefore + 1);
  });
});
