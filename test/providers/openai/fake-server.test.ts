import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  chatCompletionBody,
  chatCompletionChunks,
  errorBody,
  type FakeOpenAIServer,
  jsonReply,
  splitIntoByteChunks,
  sseReply,
  startFakeOpenAIServer,
  textCompletionBody,
  textCompletionChunks,
} from "../../support/fake-openai-server.js";

// The fake server is shared test infrastructure: check that OpenAI's own client (a dev dependency,
// never used in src) understands it, so tests built on it test the real protocol.
let server: FakeOpenAIServer;
let client: OpenAI;
beforeAll(async () => {
  server = await startFakeOpenAIServer();
  client = new OpenAI({ baseURL: server.baseURL, apiKey: "sk-fake", maxRetries: 1 });
});
afterAll(() => server.close());

describe("fake OpenAI server, read by the official openai client", () => {
  it("serves a chat completion and records the request", async () => {
    server.enqueue(jsonReply(chatCompletionBody({ content: "Hi from the fake" })));
    const completion = await client.chat.completions.create({ model: "fake-model", messages: [{ role: "user", content: "hi" }] });
    expect(completion.choices[0].message.content).toBe("Hi from the fake");
    const request = server.requests.at(-1);
    expect(request?.path).toBe("/v1/chat/completions");
    expect(request?.headers.authorization).toBe("Bearer sk-fake");
    expect(request?.body).toMatchObject({ model: "fake-model" });
  });

  it("streams chunks split at arbitrary bytes that the official client reassembles", async () => {
    const wire = chatCompletionChunks({ pieces: ["좋은 ", "아침 ", "☀️"] }).join("");
    server.enqueue(sseReply(splitIntoByteChunks(wire, 5)));
    const stream = await client.chat.completions.create({ model: "fake-model", messages: [{ role: "user", content: "hi" }], stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("좋은 아침 ☀️");
  });

  it("serves legacy text completions, whole and streamed", async () => {
    server.enqueue(jsonReply(textCompletionBody({ text: " there was a cat" })), sseReply(textCompletionChunks({ pieces: [" there", " was"] })));
    const completion = await client.completions.create({ model: "fake-model", prompt: "Once upon a time" });
    expect(completion.choices[0].text).toBe(" there was a cat");
    const stream = await client.completions.create({ model: "fake-model", prompt: "Once upon a time", stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    expect(text).toBe(" there was");
  });

  it("scripted errors reach the client as the status it expects, and routes answer when the queue is empty", async () => {
    server.enqueue(jsonReply(errorBody("bad model", "invalid_request_error", "model"), 400));
    await expect(client.chat.completions.create({ model: "x", messages: [] })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    server.route("GET", "/v1/models", jsonReply({ object: "list", data: [{ id: "fake-model", object: "model", created: 0, owned_by: "test" }] }));
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toEqual(["fake-model"]);
  });

  it("counts responses the client walked away from", async () => {
    const before = server.abandonedResponses;
    server.enqueue({ type: "hang" });
    const controller = new AbortController();
    const pending = client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] }, { signal: controller.signal, maxRetries: 0 });
    setTimeout(() => controller.abort(), 30);
    await expect(pending).rejects.toThrow();
    await server.waitForAbandoned(before + 1);
  });
});
