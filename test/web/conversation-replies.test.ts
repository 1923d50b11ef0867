// The playground's persisted chat turn (POST /api/conversations/:id/replies), socket-free through
// app.request(): the user's turn is stored when generation starts, the answer when the stream ends,
// however it ends, and a request the server refuses stores nothing.
import { describe, expect, it } from "vitest";
import { createServerApp } from "../../src/server/app.js";
import { ModelRegistry } from "../../src/server/model-registry.js";
import { everyone } from "../../src/server/context.js";
import type { ChatCompletionChunk } from "../../src/server/openai/response-shapes.js";
import { ConversationStore, type ConversationWithMessages } from "../../src/server/store/conversations.js";
import { openServerDatabase } from "../../src/server/store/database.js";
import { scriptedModel, type ScriptedModelSettings } from "../support/scripted-model.js";
import { loadWebModule, type SseModule } from "./support/web-modules.js";

const sse = await loadWebModule<SseModule>("sse.js");

function createChatApp(models: Record<string, ScriptedModelSettings>) {
  const db = openServerDatabase(":memory:");
  const store = new ConversationStore(db);
  const registry = new ModelRegistry(
    Object.entries(models).map(([id, settings]) => {
      const model = scriptedModel({ modelId: id, ...settings });
      return { id, kind: "local" as const, ownedBy: "camelid", capacity: 2, maxQueue: 8, load: async () => model };
    }),
  );
  const { app } = createServerApp({ registry, conversations: store });
  const call = (method: string, path: string, body?: unknown, signal?: AbortSignal) =>
    app.request(path, { method, signal, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const conversation = async () => (await (await call("POST", "/api/conversations", { title: "t", model: Object.keys(models)[0] })).json()) as ConversationWithMessages;
  const read = async (id: string) =>
    (await (await call("GET", `/api/conversations/${id}`)).json()) as ConversationWithMessages;
  return { call, conversation, read, store };
}

const reply = (model: string, text: string, extra: Record<string, unknown> = {}) => ({
  request: { model, messages: [{ role: "user", content: text }], stream: true, ...extra },
  settings: { temperature: 0.5, window: { type: "keep-all" } },
  system_prompt: null,
});

/** The answer text of a chat.completion.chunk stream, and the last chunk. */
async function answerOf(response: Response) {
  let text = "";
  const chunks: unknown[] = [];
  for await (const data of sse.readSseData(response.body!)) {
    if (data === "[DONE]") break;
    const chunk = JSON.parse(data) as ChatCompletionChunk;
    chunks.push(chunk);
    text += chunk.choices?.[0]?.delta?.content ?? "";
  }
  return { text, chunks };
}

describe("persisted conversation replies", () => {
  it("stores the user's turn and the finished answer, and the settings that came with them", async () => {
    const chat = createChatApp({ alpha: {} });
    const { id } = await chat.conversation();
    const response = await chat.call("POST", `/api/conversations/${id}/replies`, reply("alpha", "Hello there"));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const { text } = await answerOf(response);
    expect(text).toBe("echo: Hello there");
    const stored = await chat.read(id);
    expect(stored.messages.map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { role: "user", content: "Hello there", status: "done" },
      { role: "assistant", content: "echo: Hello there", status: "done" },
    ]);
    expect(stored.messages[1]).toMatchObject({ model: "alpha", finishReason: "stop", requestId: response.headers.get("x-request-id") });
    expect(stored.settings).toEqual({ temperature: 0.5, window: { type: "keep-all" } });
  });

  it("has the user's turn on disk while the answer streams, and keeps the partial answer, marked interrupted, when the client goes away", async () => {
    const chat = createChatApp({ alpha: { reply: () => "one two three four five six", stallAfterPieces: 3 } });
    const { id } = await chat.conversation();
    const client = new AbortController();
    const response = await chat.call("POST", `/api/conversations/${id}/replies`, reply("alpha", "Tell me"), client.signal);
    let text = "";
    let pieces = 0;
    for await (const data of sse.readSseData(response.body!)) {
      const delta = (JSON.parse(data) as ChatCompletionChunk).choices?.[0]?.delta?.content ?? "";
      if (!delta) continue;
      text += delta;
      if (++pieces === 3) break; // the model now waits until it is aborted: the client leaves mid-answer
    }
    expect(text).toBe("one two t");
    client.abort();
    const stored = await chat.read(id);
    expect(stored.messages.map(({ role, content, status, finishReason }) => ({ role, content, status, finishReason }))).toEqual([
      { role: "user", content: "Tell me", status: "done", finishReason: null },
      { role: "assistant", content: "one two t", status: "interrupted", finishReason: "abort" },
    ]);
  });

  it("shows an answer being written as streaming, with the user's turn already stored", async () => {
    const chat = createChatApp({ alpha: { reply: () => "abcdefghijkl", stallAfterPieces: 1 } });
    const { id } = await chat.conversation();
    const client = new AbortController();
    const response = await chat.call("POST", `/api/conversations/${id}/replies`, reply("alpha", "Wait"), client.signal);
    const events = sse.readSseData(response.body!);
    for (;;) {
      const next = await events.next();
      if (next.done || (JSON.parse(next.value) as ChatCompletionChunk).choices?.[0]?.delta?.content) break;
    }
    const during = await chat.read(id);
    expect(during.messages.map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { role: "user", content: "Wait", status: "done" },
      { role: "assistant", content: "", status: "streaming" },
    ]);
    await events.return(undefined);
    client.abort();
    expect((await chat.read(id)).messages[1]).toMatchObject({ content: "abc", status: "interrupted" });
  });

  it("stores a failed answer as failed, with the error in the stream", async () => {
    const chat = createChatApp({ alpha: { reply: () => "never", fail: (_options, call) => (call === 1 ? undefined : "upstream broke") } });
    const { id } = await chat.conversation();
    await answerOf(await chat.call("POST", `/api/conversations/${id}/replies`, reply("alpha", "first")));
    // A setup failure (the first part is an error) is an HTTP error and stores nothing.
    const failed = await chat.call("POST", `/api/conversations/${id}/replies`, reply("alpha", "second"));
    expect(failed.status).toBe(502);
    expect((await failed.json()).error.message).toContain("upstream broke");
    expect((await chat.read(id)).messages.map((m) => m.content)).toEqual(["first", "never"]);
  });

  it("stores nothing, settings included, for a request the server refuses", async () => {
    const chat = createChatApp({ alpha: {} });
    const { id } = await chat.conversation();
    const before = await chat.read(id);
    const refused = [
      await chat.call("POST", `/api/conversations/${id}/replies`, reply("alpha", "hi", { temperature: 5 })),
      await chat.call("POST", `/api/conversations/${id}/replies`, reply("nope", "hi")),
      await chat.call("POST", `/api/conversations/${id}/replies`, { ...reply("alpha", "hi"), request: { model: "alpha", messages: [{ role: "assistant", content: "x" }] } }),
      await chat.call("POST", `/api/conversations/${id}/replies`, reply("alpha", "hi", { n: 2 })),
    ];
    expect(refused.map((response) => response.status)).toEqual([400, 404, 400, 400]);
    for (const response of refused) expect((await response.json()).error.message).toBeTruthy();
    expect((await chat.call("POST", `/api/conversations/missing/replies`, reply("alpha", "hi"))).status).toBe(404);
    const after = await chat.read(id);
    expect(after.messages).toEqual([]);
    expect(after.settings).toEqual(before.settings);
  });

  it("marks answers a crash left streaming as interrupted when the server starts again", async () => {
    const db = openServerDatabase(":memory:");
    const store = new ConversationStore(db);
    const { id } = store.create({ title: "t" });
    const answerId = store.beginReply(id, everyone, {}, { role: "user", content: "q" }, { role: "assistant", content: "", model: "m" })!;
    expect(store.get(id, everyone)!.messages[1].status).toBe("streaming");
    expect(store.markInterruptedReplies()).toBe(1);
    expect(store.get(id, everyone)!.messages[1]).toMatchObject({ id: answerId, status: "interrupted", content: "" });
    // A late finish never overwrites what the restart decided.
    store.finishReply(answerId, { content: "late", status: "done", finishReason: "stop" });
    expect(store.get(id, everyone)!.messages[1]).toMatchObject({ status: "interrupted", content: "" });
  });
});
