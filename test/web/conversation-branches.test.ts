// Issue 19 point 1, chat side: a conversation is a tree. Regenerating an answer adds a sibling,
// editing a user turn starts a branch beside the old one, the user browses between them, deleting a
// message takes what follows it, and all of it is in SQLite (socket-free through app.request()).
import { describe, expect, it } from "vitest";
import { createServerApp } from "../../src/server/app.js";
import { everyone } from "../../src/server/context.js";
import { ModelRegistry } from "../../src/server/model-registry.js";
import { ConversationStore, type ConversationMessage, type ConversationWithMessages } from "../../src/server/store/conversations.js";
import { migrate, openServerDatabase } from "../../src/server/store/database.js";
import { databaseAtVersion } from "./support/older-database.js";
import { scriptedModel, type ScriptedModelSettings } from "../support/scripted-model.js";
import { createTestServer, postJson } from "../server/support/test-server.js";
import { loadWebModule, type ConversationIoModule } from "./support/web-modules.js";

const io = await loadWebModule<ConversationIoModule>("conversation-io.js");

/** A model whose every answer is numbered, so a regenerated answer differs from the one before. */
function createChatApp(settings: ScriptedModelSettings = {}) {
  let answers = 0;
  const model = scriptedModel({ modelId: "alpha", reply: (o) => `answer ${++answers} to ${o.messages?.filter((m) => m.role === "user").at(-1)?.content}`, ...settings });
  const db = openServerDatabase(":memory:");
  const store = new ConversationStore(db);
  const registry = new ModelRegistry([{ id: "alpha", kind: "local", ownedBy: "camelid", capacity: 2, maxQueue: 8, load: async () => model }]);
  const { app } = createServerApp({ registry, conversations: store });
  const call = (method: string, path: string, body?: unknown, signal?: AbortSignal) =>
    app.request(path, { method, signal, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const read = async (id: string) => (await (await call("GET", `/api/conversations/${id}`)).json()) as ConversationWithMessages;
  const conversation = async () => ((await (await call("POST", "/api/conversations", { title: "t", model: "alpha" })).json()) as ConversationWithMessages).id;
  /** The request the playground sends: the active branch's messages and the user's turn. */
  const request = (history: { role: string; content: string }[], text: string) => ({
    request: { model: "alpha", stream: true, messages: [...history.map(({ role, content }) => ({ role, content })), { role: "user", content: text }] },
  });
  const say = async (id: string, text: string, parentId?: number | null) => {
    const history = (await read(id)).messages;
    const cut = parentId === undefined ? history : parentId === null ? [] : history.slice(0, history.findIndex((m) => m.id === parentId) + 1);
    const response = await call("POST", `/api/conversations/${id}/replies`, { ...request(cut, text), ...(parentId === undefined ? {} : { parent_id: parentId }) });
    expect(response.status).toBe(200);
    await response.text();
  };
  const regenerate = async (id: string, messageId: number) => {
    const history = (await read(id)).messages;
    const answered = history.findIndex((m) => m.id === messageId) - (history.find((m) => m.id === messageId)!.role === "assistant" ? 1 : 0);
    return call("POST", `/api/conversations/${id}/messages/${messageId}/regenerate`, request(history.slice(0, answered), history[answered].content));
  };
  const path = (conversation: ConversationWithMessages) => conversation.messages.map((m) => m.content);
  return { call, read, conversation, say, regenerate, path, store, model };
}

describe("conversation branches", () => {
  it("regenerates an answer as a sibling of the old one, and switches between them", async () => {
    const chat = createChatApp();
    const id = await chat.conversation();
    await chat.say(id, "hi");
    const first = await chat.read(id);
    const response = await chat.regenerate(id, first.messages[1].id);
    expect(response.status).toBe(200);
    await response.text();
    const after = await chat.read(id);
    expect(chat.path(after)).toEqual(["hi", "answer 2 to hi"]);
    expect(after.messages[1].siblingIds).toEqual([first.messages[1].id, after.messages[1].id]);
    expect(after.messages[1].parentId).toBe(first.messages[0].id);
    expect(after.messageCount).toBe(3);
    expect(Number(response.headers.get("x-camelid-message-id"))).toBe(after.messages[1].id);
    // The model saw only the active branch: the user's turn, not the answer being replaced.
    expect(chat.model.calls.at(-1)!.messages!.map((m) => m.content)).toEqual(["hi"]);

    const back = await chat.call("POST", `/api/conversations/${id}/branch`, { message_id: first.messages[1].id });
    expect(back.status).toBe(200);
    expect(chat.path((await back.json()) as ConversationWithMessages)).toEqual(["hi", "answer 1 to hi"]);
    // The choice is stored: a reload (a fresh read) shows the same branch.
    expect(chat.path(await chat.read(id))).toEqual(["hi", "answer 1 to hi"]);
  });

  it("edits a user turn into a branch beside the old one, replies on it, and browses back to the old branch with its follow-ups", async () => {
    const chat = createChatApp();
    const id = await chat.conversation();
    await chat.say(id, "one");
    await chat.say(id, "two");
    await chat.say(id, "three");
    const before = await chat.read(id);
    expect(chat.path(before)).toEqual(["one", "answer 1 to one", "two", "answer 2 to two", "three", "answer 3 to three"]);
    const [, firstAnswer, oldTwo] = before.messages;
    await chat.say(id, "two, edited", firstAnswer.id);
    const edited = await chat.read(id);
    expect(chat.path(edited)).toEqual(["one", "answer 1 to one", "two, edited", "answer 4 to two, edited"]);
    expect(edited.messages[2].siblingIds).toEqual([oldTwo.id, edited.messages[2].id]);
    expect(chat.model.calls.at(-1)!.messages!.map((m) => m.content)).toEqual(["one", "answer 1 to one", "two, edited"]);
    // The new branch goes on from its end.
    await chat.say(id, "four");
    expect(chat.path(await chat.read(id)).slice(2)).toEqual(["two, edited", "answer 4 to two, edited", "four", "answer 5 to four"]);
    // Back to the old user turn: its whole old branch returns, follow-ups included.
    const old = (await (await chat.call("POST", `/api/conversations/${id}/branch`, { message_id: oldTwo.id })).json()) as ConversationWithMessages;
    expect(chat.path(old)).toEqual(chat.path(before));
    // Editing the first message makes a second root.
    await chat.say(id, "zero", null);
    const rooted = await chat.read(id);
    expect(chat.path(rooted)).toEqual(["zero", "answer 6 to zero"]);
    expect(rooted.messages[0].siblingIds).toEqual([before.messages[0].id, rooted.messages[0].id]);
  });

  it("deletes a message with everything after it in its branches, keeping the other branches", async () => {
    const chat = createChatApp();
    const id = await chat.conversation();
    await chat.say(id, "one");
    await chat.say(id, "two");
    const linear = await chat.read(id);
    await chat.regenerate(id, linear.messages[3].id).then((r) => r.text());
    const regenerated = await chat.read(id);
    // Deleting the regenerated answer shows the older one again.
    const afterAnswer = (await (await chat.call("DELETE", `/api/conversations/${id}/messages/${regenerated.messages[3].id}`)).json()) as ConversationWithMessages;
    expect(chat.path(afterAnswer)).toEqual(["one", "answer 1 to one", "two", "answer 2 to two"]);
    expect(afterAnswer.messages[3].siblingIds).toEqual([linear.messages[3].id]);
    // Deleting the first answer takes the turn after it too.
    const response = await chat.call("DELETE", `/api/conversations/${id}/messages/${linear.messages[1].id}`);
    expect(response.status).toBe(200);
    const rest = (await response.json()) as ConversationWithMessages;
    expect(chat.path(rest)).toEqual(["one"]);
    expect(rest.messageCount).toBe(1);
    expect(rest.activeLeafId).toBe(linear.messages[0].id);
    // A user turn left without an answer can be answered again.
    const again = await chat.regenerate(id, linear.messages[0].id);
    expect(again.status).toBe(200);
    await again.text();
    expect(chat.path(await chat.read(id))).toEqual(["one", "answer 4 to one"]);
    // Deleting everything leaves an empty conversation that takes new turns.
    await chat.call("DELETE", `/api/conversations/${id}/messages/${linear.messages[0].id}`);
    expect(await chat.read(id)).toMatchObject({ messages: [], activeLeafId: null, messageCount: 0 });
    await chat.say(id, "fresh");
    expect(chat.path(await chat.read(id))).toEqual(["fresh", "answer 5 to fresh"]);
  });

  it("answers bad input with typed errors naming what is wrong, and changes nothing", async () => {
    const chat = createChatApp();
    const id = await chat.conversation();
    await chat.say(id, "hi");
    const stored = await chat.read(id);
    const [user, answer] = stored.messages;
    const missing = await chat.call("DELETE", `/api/conversations/${id}/messages/9999`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.message).toBe(`message 9999 not found in conversation "${id}"`);
    expect((await chat.call("POST", `/api/conversations/${id}/branch`, { message_id: 9999 })).status).toBe(404);
    expect((await chat.call("POST", `/api/conversations/nope/branch`, { message_id: user.id })).status).toBe(404);
    expect((await chat.call("POST", `/api/conversations/${id}/messages/9999/regenerate`, { request: { model: "alpha", messages: [{ role: "user", content: "hi" }] } })).status).toBe(404);
    const badId = await chat.call("DELETE", `/api/conversations/${id}/messages/abc`);
    expect(badId.status).toBe(400);
    expect((await badId.json()).error.param).toBe("messageId");
    expect((await chat.call("POST", `/api/conversations/${id}/branch`, { message_id: "1" })).status).toBe(400);
    // A user turn cannot follow a user turn; a regenerated answer must answer the stored user turn.
    const afterUser = await chat.call("POST", `/api/conversations/${id}/replies`, { request: { model: "alpha", messages: [{ role: "user", content: "x" }] }, parent_id: user.id });
    expect(afterUser.status).toBe(400);
    expect((await afterUser.json()).error.param).toBe("parent_id");
    const mismatch = await chat.call("POST", `/api/conversations/${id}/messages/${answer.id}/regenerate`, { request: { model: "alpha", messages: [{ role: "user", content: "not hi" }] } });
    expect(mismatch.status).toBe(400);
    expect((await mismatch.json()).error.message).toContain(`message ${user.id}`);
    expect((await chat.call("POST", `/api/conversations/${id}/replies`, { request: { model: "alpha", messages: [{ role: "user", content: "x" }] }, parent_id: 9999 })).status).toBe(404);
    expect(await chat.read(id)).toEqual(stored);
  });

  it("takes a reply only with the branch it answers as its request: the model never sees another branch", async () => {
    const chat = createChatApp();
    const id = await chat.conversation();
    await chat.say(id, "one");
    await chat.say(id, "two");
    const [u1, a1, u2, a2] = (await chat.read(id)).messages;
    const post = (path: string, messages: { role: string; content: string }[], extra: Record<string, unknown> = {}) =>
      chat.call("POST", `/api/conversations/${id}${path}`, { request: { model: "alpha", messages }, ...extra });
    const turn = (m: ConversationMessage) => ({ role: m.role, content: m.content });
    // An edit of "two" that still carries the old branch's "two" and its answer.
    const stale = await post("/replies", [turn(u1), turn(a1), turn(u2), turn(a2), { role: "user", content: "two, edited" }], { parent_id: a1.id });
    expect(stale.status).toBe(400);
    expect((await stale.json()).error).toMatchObject({ param: "request.messages[3]", message: expect.stringContaining(`differs from message ${a1.id}`) });
    const invented = await post("/replies", [turn(u1), { role: "assistant", content: "not what it said" }, turn(u2), turn(a2), { role: "user", content: "three" }]);
    expect(invented.status).toBe(400);
    expect((await invented.json()).error.param).toBe("request.messages[1]");
    const tooLong = await post("/replies", [{ role: "user", content: "zero" }, { role: "assistant", content: "z" }, turn(u1), turn(a1), turn(u2), turn(a2), { role: "user", content: "three" }]);
    expect((await tooLong.json()).error.message).toContain("has no message for request.messages[1]");
    const wrongRegeneration = await post(`/messages/${a2.id}/regenerate`, [turn(u1), { role: "assistant", content: "x" }, turn(u2)]);
    expect(wrongRegeneration.status).toBe(400);
    expect(chat.model.calls).toHaveLength(2);
    // A window that dropped the oldest turn, and a system prompt from the settings, are fine.
    const windowed = await post("/replies", [{ role: "system", content: "Be brief." }, turn(u2), turn(a2), { role: "user", content: "three" }]);
    expect(windowed.status).toBe(200);
    await windowed.text();
    expect(chat.path(await chat.read(id)).slice(-2)).toEqual(["three", "answer 3 to three"]);
    // A cut-short answer may be on the page with more or less of its text, or not yet (seen still streaming).
    const cut = [{ role: "user" as const, content: "q" }, { role: "assistant" as const, content: "partial answer", status: "interrupted" as const }];
    for (const [index, sent] of [[{ role: "assistant", content: "partial" }], [{ role: "assistant", content: "partial answer, longer" }], []].entries()) {
      const other = chat.store.create({ title: `cut ${index}`, messages: cut }).id;
      const response = await chat.call("POST", `/api/conversations/${other}/replies`, { request: { model: "alpha", messages: [{ role: "user", content: "q" }, ...sent, { role: "user", content: "go on" }] } });
      expect(response.status).toBe(200);
      await response.text();
    }
  });

  it("refuses to branch, regenerate, edit or delete while an answer is being written (409), and allows it once the answer ended", async () => {
    const chat = createChatApp({ stallAfterPieces: 1 });
    const id = await chat.store.create({ title: "t", messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "old" }] }).id;
    const [user, answer] = (await chat.read(id)).messages;
    const client = new AbortController();
    const streaming = await chat.call("POST", `/api/conversations/${id}/messages/${answer.id}/regenerate`, { request: { model: "alpha", stream: true, messages: [{ role: "user", content: "hi" }] } }, client.signal);
    expect(streaming.status).toBe(200);
    const reader = streaming.body!.getReader();
    await reader.read();
    const refused = [
      await chat.call("POST", `/api/conversations/${id}/branch`, { message_id: answer.id }),
      await chat.call("DELETE", `/api/conversations/${id}/messages/${answer.id}`),
      await chat.call("POST", `/api/conversations/${id}/messages/${answer.id}/regenerate`, { request: { model: "alpha", messages: [{ role: "user", content: "hi" }] } }),
      await chat.call("POST", `/api/conversations/${id}/replies`, { request: { model: "alpha", messages: [{ role: "user", content: "edit" }] }, parent_id: null }),
    ];
    expect(refused.map((r) => r.status)).toEqual([409, 409, 409, 409]);
    for (const response of refused) expect((await response.json()).error.code).toBe("conversation_state");
    await reader.cancel();
    client.abort();
    const after = await chat.read(id);
    expect(after.messages[1]).toMatchObject({ status: "interrupted", siblingIds: [answer.id, after.messages[1].id] });
    expect((await chat.call("POST", `/api/conversations/${id}/branch`, { message_id: answer.id })).status).toBe(200);
    expect(chat.path(await chat.read(id))).toEqual([user.content, "old"]);
  });

  it("migrates a linear conversation of an older database into one branch, without loss", () => {
    // Schema 4: the last one before message trees and answer versions.
    const db = databaseAtVersion(4);
    db.prepare(`INSERT INTO conversations (id, title, created_at, updated_at) VALUES ('c1', 'old', 1, 1), ('c2', 'empty', 1, 1)`).run();
    const insert = db.prepare(`INSERT INTO conversation_messages (conversation_id, role, content, created_at) VALUES (?, ?, ?, 1)`);
    for (const [role, content] of [["system", "be brief"], ["user", "q1"], ["assistant", "a1"], ["user", "q2"], ["assistant", "a2"]]) insert.run("c1", role, content);
    migrate(db);
    const store = new ConversationStore(db);
    const old = store.get("c1", everyone)!;
    expect(old.messages.map((m) => m.content)).toEqual(["be brief", "q1", "a1", "q2", "a2"]);
    expect(old.messages.map((m) => m.parentId)).toEqual([null, ...old.messages.slice(0, -1).map((m) => m.id)]);
    expect(old.activeLeafId).toBe(old.messages[4].id);
    expect(old.messages.every((m) => m.siblingIds.length === 1)).toBe(true);
    expect(store.get("c2", everyone)).toMatchObject({ messages: [], activeLeafId: null });
    // New turns go on from the migrated branch's end.
    store.appendMessages("c1", [{ role: "user", content: "q3" }], everyone);
    expect(store.get("c1", everyone)!.messages.at(-1)).toMatchObject({ content: "q3", parentId: old.messages[4].id });
  });

  it("exports the active branch, and says which branch it is", async () => {
    const chat = createChatApp();
    const id = await chat.conversation();
    await chat.say(id, "hi");
    const first = await chat.read(id);
    await chat.regenerate(id, first.messages[1].id).then((r) => r.text());
    const active = { ...(await chat.read(id)), id, system_prompt: null };
    const [record] = io.toShareGpt(active) as { conversations: { from: string; value: string }[]; branch: unknown }[];
    expect(record.conversations).toEqual([
      { from: "human", value: "hi" },
      { from: "gpt", value: "answer 2 to hi" },
    ]);
    expect(record.branch).toEqual({ selection: "active", leaf_message_id: active.messages[1].id, messages: 2, messages_in_all_branches: 3 });
    expect(JSON.parse(io.toOpenAiJsonl(active))).toEqual({ messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "answer 2 to hi" }] });
  });

  it("treats another key's conversation and messages as missing for every message action", async () => {
    const { app } = createTestServer({ keys: { alice: "sk-alice-key", bob: "sk-bob-key-1" } });
    const alice = { authorization: "Bearer sk-alice-key" };
    const bob = { authorization: "Bearer sk-bob-key-1" };
    const created = await postJson(app, "/api/conversations", { title: "t", messages: [{ role: "user", content: "q" }, { role: "assistant", content: "a" }] }, alice);
    const { id, messages } = (await created.json()) as ConversationWithMessages;
    const answer = messages[1].id;
    const tries = [
      await postJson(app, `/api/conversations/${id}/branch`, { message_id: answer }, bob),
      await app.request(`/api/conversations/${id}/messages/${answer}`, { method: "DELETE", headers: bob }),
      await postJson(app, `/api/conversations/${id}/messages/${answer}/regenerate`, { request: { model: "fake", messages: [{ role: "user", content: "q" }] } }, bob),
      await postJson(app, `/api/conversations/${id}/replies`, { request: { model: "fake", messages: [{ role: "user", content: "q2" }] }, parent_id: answer }, bob),
    ];
    expect(tries.map((r) => r.status)).toEqual([404, 404, 404, 404]);
    const mine = (await (await app.request(`/api/conversations/${id}`, { headers: alice })).json()) as ConversationWithMessages;
    expect(mine.messages.map((m) => m.content)).toEqual(["q", "a"]);
  });
});
