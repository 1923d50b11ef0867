// The usage chunk of a streamed chat completion carries llama-server's `timings` object (same field
// names), and /v1/models each model's load state: what the playground's reply numbers and model
// pickers read. Socket-free, through app.request().
import { describe, expect, it } from "vitest";
import { scriptedModel } from "../support/scripted-model.js";
import { createTestServer, postJson, readSse } from "./support/test-server.js";

const chat = (extra: Record<string, unknown> = {}) => ({ model: "counted", messages: [{ role: "user", content: "Hi" }], stream: true, ...extra });

describe("stream timings and model states", () => {
  it("puts llama-server's timings beside usage on the last chunk", async () => {
    const counted = scriptedModel({ reply: () => "abcdefghijkl", piecesAreTokens: true, timings: { timeToFirstTokenMs: 40, totalMs: 240, tokensPerSecond: 20 } });
    const { app } = createTestServer({ models: { counted } });
    const events = await readSse(await postJson(app, "/v1/chat/completions", chat({ max_tokens: 3, stream_options: { include_usage: true } })));
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data));
    const promptTokens = "user: Hi\nassistant:".length;
    expect(chunks.at(-2).choices[0].finish_reason).toBe("length");
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: promptTokens, completion_tokens: 3 } });
    expect(chunks.at(-1).timings).toEqual({
      prompt_n: promptTokens,
      prompt_ms: 40,
      prompt_per_token_ms: 40 / promptTokens,
      prompt_per_second: (1000 * promptTokens) / 40,
      predicted_n: 3,
      predicted_ms: 200,
      predicted_per_token_ms: 200 / 3,
      predicted_per_second: 20,
    });
  });

  it("puts the same timings on whole answers and on a completions stream's usage chunk, as llama-server does", async () => {
    const timings = { timeToFirstTokenMs: 40, totalMs: 240, tokensPerSecond: 20 };
    const { app } = createTestServer({ models: { counted: scriptedModel({ reply: () => "abcdefghijkl", piecesAreTokens: true, timings }) } });
    // The provider's own timings of each call, in llama-server's field names, counted as usage counts.
    const expected = (usage: { prompt_tokens: number; completion_tokens: number }) => ({ prompt_n: usage.prompt_tokens, prompt_ms: expect.any(Number), predicted_n: usage.completion_tokens, predicted_ms: expect.any(Number), predicted_per_second: expect.any(Number) });
    const wholeChat = await (await postJson(app, "/v1/chat/completions", chat({ stream: false, max_tokens: 3 }))).json();
    expect(wholeChat.usage.prompt_tokens).toBe("user: Hi\nassistant:".length);
    expect(wholeChat.timings).toMatchObject(expected(wholeChat.usage));
    const completion = { model: "counted", prompt: "Once", max_tokens: 3 };
    const wholeCompletion = await (await postJson(app, "/v1/completions", completion)).json();
    expect(wholeCompletion.timings).toMatchObject(expected(wholeCompletion.usage));
    const events = await readSse(await postJson(app, "/v1/completions", { ...completion, stream: true, stream_options: { include_usage: true } }));
    const last = JSON.parse(events.at(-2)!);
    expect(last.timings).toMatchObject({ ...expected(last.usage), prompt_ms: 40, predicted_per_second: 20 });
  });

  it("sends no timings without include_usage (the stream stays OpenAI's)", async () => {
    const { app } = createTestServer({ models: { counted: scriptedModel() } });
    const events = await readSse(await postJson(app, "/v1/chat/completions", chat()));
    expect(events.slice(0, -1).map((data) => JSON.parse(data)).filter((chunk) => "timings" in chunk || "usage" in chunk)).toEqual([]);
  });

  it("lists each model's load state and load error in /v1/models", async () => {
    const { app, registry } = createTestServer({ models: { counted: scriptedModel() } });
    const list = async () => (await (await app.request("/v1/models")).json()).data;
    expect(await list()).toEqual([expect.objectContaining({ id: "counted", object: "model", status: { value: "unloaded" } })]);
    await registry.get("counted").model();
    expect((await list())[0].status).toEqual({ value: "ready" });
  });
});
