// Issue 19 point 1, battle side: one side's answer is sampled again (FastChat's "Regenerate", per
// side), the earlier answer is kept and can be put back on screen, and a vote records which answers
// it compared; the exports carry those answers. The battle stays anonymous throughout.
import { describe, expect, it } from "vitest";
import { createServerApp } from "../../src/server/app.js";
import type { OpenAIErrorBody } from "../../src/errors/index.js";
import { toBattleRows, toRatingBattles } from "../../src/server/arena/arena-exports.js";
import { ArenaStore } from "../../src/server/arena/arena-store.js";
import { ModelRegistry } from "../../src/server/model-registry.js";
import type { RequestLogList } from "../../src/server/routes/observability.js";
import type { ArenaState } from "../../src/server/routes/playground-session-schemas.js";
import type { PlaygroundSessionExport, PlaygroundSessionView } from "../../src/server/routes/playground-sessions.js";
import { migrate, openServerDatabase } from "../../src/server/store/database.js";
import { RequestLog } from "../../src/server/store/request-log.js";
import { databaseAtVersion } from "./support/older-database.js";
import { scriptedModel } from "../support/scripted-model.js";
import { createArenaApp, readEvents } from "./support/arena-app.js";

type App = ReturnType<typeof createArenaApp>;
interface AnswerView {
  text: string;
  status: string;
  version: number;
  versions: number;
}
interface BattleView {
  id: string;
  models: null | { a: string; b: string };
  can_vote: boolean;
  turns: { answers: { a: AnswerView; b: AnswerView } }[];
  vote: null | { compared: { turn: number; a: number; b: number }[] };
}

async function stream(arena: App, id: string, side: string) {
  const response = await arena.call("POST", `/api/arena/battles/${id}/answers/${side}`, {});
  expect(response.status).toBe(200);
  return (await readEvents(response)).filter((e) => e.type === "delta").map((e) => e.text).join("");
}

async function answeredBattle(arena: App) {
  const battle = (await (await arena.call("POST", "/api/arena/battles", { message: "Hi" })).json()) as BattleView;
  await stream(arena, battle.id, "a");
  await stream(arena, battle.id, "b");
  return battle.id;
}

const read = async (arena: App, id: string) => (await (await arena.call("GET", `/api/arena/battles/${id}`)).json()) as BattleView;

describe("regenerating one side of a battle", () => {
  it("keeps the earlier answer as a version, browses between them, and the vote and exports use the answers compared", async () => {
    // Each answer ends with " #<n>", n counting the model's answers, so a regenerated answer differs.
    const answers = new Map<string, number>();
    const numbered = (id: string, message: string) => `${id} says: ${message} #${answers.set(id, (answers.get(id) ?? 0) + 1).get(id)}`;
    const arena = createArenaApp({ random: () => 0, reply: numbered });
    const id = await answeredBattle(arena);
    expect((await read(arena, id)).turns[0].answers.a).toMatchObject({ text: "alpha says: Hi #1", version: 0, versions: 1 });

    const regenerating = await arena.call("POST", `/api/arena/battles/${id}/answers/a/regenerate`);
    expect(regenerating.status).toBe(200);
    const pending = (await regenerating.json()) as BattleView;
    expect(pending.turns[0].answers.a).toMatchObject({ text: "", status: "pending", version: 1, versions: 2 });
    expect(pending.can_vote).toBe(false);
    expect(pending.models).toBeNull();
    expect(await stream(arena, id, "a")).toBe("alpha says: Hi #2");
    const regenerated = await read(arena, id);
    expect(regenerated.turns[0].answers.a).toMatchObject({ text: "alpha says: Hi #2", status: "done", version: 1, versions: 2 });
    expect(regenerated.turns[0].answers.b).toMatchObject({ text: "beta says: Hi #1", version: 0, versions: 1 });
    expect(regenerated.can_vote).toBe(true);

    // Browse back to the first answer and forth again; a version that does not exist is a 404 naming it.
    const first = (await (await arena.call("POST", `/api/arena/battles/${id}/answers/a/select`, { version: 0 })).json()) as BattleView;
    expect(first.turns[0].answers.a).toMatchObject({ text: "alpha says: Hi #1", version: 0, versions: 2 });
    const missing = await arena.call("POST", `/api/arena/battles/${id}/answers/a/select`, { version: 7 });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.message).toContain("no version 7");
    await arena.call("POST", `/api/arena/battles/${id}/answers/a/select`, { version: 1 });

    const voted = await arena.call("POST", `/api/arena/battles/${id}/vote`, { winner: "a" });
    expect(voted.status).toBe(200);
    expect(((await voted.json()) as BattleView).vote!.compared).toEqual([{ turn: 0, a: 1, b: 0 }]);

    const rows = (await (await arena.call("GET", "/api/arena/export/battles.json")).json()) as Record<string, unknown>[];
    expect(rows[0]).toMatchObject({
      compared_versions: [{ turn: 0, a: 1, b: 0 }],
      conversation_a: [{ role: "user", content: "Hi" }, { role: "assistant", content: "alpha says: Hi #2" }],
      conversation_b: [{ role: "user", content: "Hi" }, { role: "assistant", content: "beta says: Hi #1" }],
    });
    const pairs = (await (await arena.call("GET", "/api/arena/export/preferences.jsonl")).text()).trim().split("\n").map((line) => JSON.parse(line));
    expect(pairs).toEqual([expect.objectContaining({ chosen: "alpha says: Hi #2", rejected: "beta says: Hi #1", chosen_version: 1, rejected_version: 0 })]);
  });

  it("refuses a regeneration once the battle is voted or revealed, while the side streams, for an older turn, a bad side or another user", async () => {
    const arena = createArenaApp({ random: () => 0, keys: { ann: "key-ann", bob: "key-bob" } });
    const call = (path: string, body?: unknown, key = "key-ann") => arena.call("POST", path, body, key);
    const battle = (await (await call("/api/arena/battles", { message: "Hi" })).json()) as BattleView;
    for (const side of ["a", "b"]) await (await call(`/api/arena/battles/${battle.id}/answers/${side}`, {})).text();
    await (await call(`/api/arena/battles/${battle.id}/turns`, { message: "More" })).text();
    for (const side of ["a", "b"]) await (await call(`/api/arena/battles/${battle.id}/answers/${side}`, {})).text();

    const older = await call(`/api/arena/battles/${battle.id}/answers/a/regenerate`, { turn: 0 });
    expect(older.status).toBe(409);
    expect((await older.json()).error.message).toContain("only the latest turn (1)");
    expect((await call(`/api/arena/battles/${battle.id}/answers/c/regenerate`)).status).toBe(404);
    expect((await call(`/api/arena/battles/${battle.id}/answers/a/regenerate`, undefined, "key-bob")).status).toBe(403);
    expect((await call(`/api/arena/battles/${battle.id}/answers/a/select`, { version: -1 })).status).toBe(400);
    expect((await call(`/api/arena/battles/nope/answers/a/regenerate`)).status).toBe(404);

    await call(`/api/arena/battles/${battle.id}/vote`, { winner: "tie" });
    const closed = await call(`/api/arena/battles/${battle.id}/answers/b/regenerate`);
    expect(closed.status).toBe(409);
    expect((await closed.json()).error.code).toBe("battle_state");
    expect((await call(`/api/arena/battles/${battle.id}/answers/b/select`, { version: 0 })).status).toBe(409);

    const revealed = (await (await call("/api/arena/battles", { message: "Hi" })).json()) as BattleView;
    await call(`/api/arena/battles/${revealed.id}/reveal`);
    expect((await call(`/api/arena/battles/${revealed.id}/answers/a/regenerate`)).status).toBe(409);
  });

  it("refuses a regeneration of a side that is streaming (409)", async () => {
    const arena = createArenaApp({ random: () => 0, delayMs: 5 });
    const battle = (await (await arena.call("POST", "/api/arena/battles", { message: "a long question" })).json()) as BattleView;
    const streaming = await arena.call("POST", `/api/arena/battles/${battle.id}/answers/a`, {});
    const reader = streaming.body!.getReader();
    await reader.read();
    const refused = await arena.call("POST", `/api/arena/battles/${battle.id}/answers/a/regenerate`);
    expect(refused.status).toBe(409);
    expect((await refused.json()).error.message).toContain("still streaming");
    await reader.cancel();
  });

  it("keeps a regenerated answer's request-log row anonymous until the vote", async () => {
    const db = openServerDatabase(":memory:");
    const models = ["llama-secret", "mistral-secret"];
    const registry = new ModelRegistry(models.map((id) => ({ id, kind: "local" as const, ownedBy: "camelid", capacity: 2, maxQueue: 4, load: async () => scriptedModel({ modelId: id, reply: () => "an answer" }) })));
    const { app } = createServerApp({ registry, requestLog: new RequestLog(db), arena: { store: new ArenaStore(db), random: () => 0 } });
    const call = (method: string, path: string, body?: unknown) => app.request(path, { method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    const battle = (await (await call("POST", "/api/arena/battles", { message: "Hello" })).json()) as BattleView;
    for (const side of ["a", "b"]) await (await call("POST", `/api/arena/battles/${battle.id}/answers/${side}`, {})).text();
    await call("POST", `/api/arena/battles/${battle.id}/answers/b/regenerate`);
    await (await call("POST", `/api/arena/battles/${battle.id}/answers/b`, {})).text();
    const rows = ((await (await call("GET", "/api/requests")).json()) as RequestLogList).data;
    expect(rows).toHaveLength(3);
    expect(rows.map((row) => row.id)).toContain(`arena-${battle.id}-0-b-r1`);
    expect(JSON.stringify(rows)).not.toMatch(/llama-secret|mistral-secret/);
    expect(JSON.stringify(await (await call("GET", `/api/arena/battles/${battle.id}`)).json())).not.toMatch(/secret/);
  });

  it("migrates battles of an older database: every answer becomes version 0 and old votes compared those", () => {
    // Schema 4: the last one before message trees and answer versions.
    const db = databaseAtVersion(4);
    db.prepare(`INSERT INTO arena_battles (id, client, model_a, model_b, created_at, updated_at) VALUES ('00000000-0000-0000-0000-000000000001', 'me', 'x', 'y', 1, 1)`).run();
    db.prepare(`INSERT INTO arena_turns (battle_id, turn, user_message, answer_a, status_a, finish_a, answer_b, status_b, finish_b, created_at) VALUES ('00000000-0000-0000-0000-000000000001', 0, 'q', 'ax', 'done', 'stop', 'by', 'done', 'stop', 1)`).run();
    db.prepare(`INSERT INTO arena_votes (battle_id, client, winner, created_at) VALUES ('00000000-0000-0000-0000-000000000001', 'me', 'model_b', 2)`).run();
    migrate(db);
    const store = new ArenaStore(db);
    const battle = store.get("00000000-0000-0000-0000-000000000001")!;
    expect(battle.turns[0].answers.a).toMatchObject({ text: "ax", version: 0, versionCount: 1 });
    expect(battle.vote!.compared).toEqual([{ turn: 0, a: 0, b: 0 }]);
    expect(store.votedBattles()[0].turns[0].answers.b.text).toBe("by");
    // The migrated versions are real rows: a regeneration is version 1 and version 0 can come back.
    expect(store.startRegeneration(battle.id, 0, "a")).toBe(1);
    expect(store.selectVersion(battle.id, 0, "a", 0)).toBe(true);
    expect(store.get(battle.id)!.turns[0].answers.a).toMatchObject({ text: "ax", status: "done", version: 0, versionCount: 2 });
  });
  it("keeps each version's own token count: a regenerated then put-back answer exports and rates with its own tokens", async () => {
    // Each of alpha's answers is longer than the one before (the scripted model counts a token per character).
    let count = 0;
    const arena = createArenaApp({ random: () => 0, reply: (id, message) => (id === "alpha" ? `alpha: ${message}${"!".repeat(++count * 10)}` : `beta: ${message}`) });
    const id = await answeredBattle(arena);
    const first = (await read(arena, id)).turns[0].answers.a.text;
    expect(arena.store.get(id)!.turns[0].answers.a.tokens).toBe(first.length);

    await arena.call("POST", `/api/arena/battles/${id}/answers/a/regenerate`);
    expect(arena.store.get(id)!.turns[0].answers.a.tokens).toBeNull(); // pending: no count yet
    const second = await stream(arena, id, "a");
    expect(arena.store.get(id)!.turns[0].answers.a.tokens).toBe(second.length);
    expect(second.length).toBeGreaterThan(first.length);

    await arena.call("POST", `/api/arena/battles/${id}/answers/a/select`, { version: 0 });
    expect(arena.store.get(id)!.turns[0].answers.a).toMatchObject({ text: first, tokens: first.length, version: 0 });
    expect((await arena.call("POST", `/api/arena/battles/${id}/vote`, { winner: "a" })).status).toBe(200);

    const rows = (await (await arena.call("GET", "/api/arena/export/battles.json")).json()) as ReturnType<typeof toBattleRows>;
    expect(rows[0].conv_metadata).toMatchObject({ sum_assistant_a_tokens: first.length, sum_assistant_b_tokens: "beta: Hi".length });
    const [battle] = toRatingBattles(arena.store.votedBattles());
    expect(battle.style?.a.tokens).toBe(first.length);
  });

  it("migrates answer tokens into version 0, so putting a first answer back restores its count, and counts logged requests as attempts", () => {
    // Schema 5: answers with tokens, before answer versions.
    const db = databaseAtVersion(5);
    db.prepare(`INSERT INTO arena_battles (id, client, model_a, model_b, created_at, updated_at) VALUES ('00000000-0000-0000-0000-000000000002', 'me', 'x', 'y', 1, 1)`).run();
    db.prepare(`INSERT INTO arena_turns (battle_id, turn, user_message, answer_a, status_a, finish_a, tokens_a, answer_b, status_b, finish_b, tokens_b, created_at) VALUES ('00000000-0000-0000-0000-000000000002', 0, 'q', 'ax', 'done', 'stop', 7, 'by', 'done', 'stop', 9, 1)`).run();
    // Only A's request reached the request log: a retry of A needs a new id, B's first request does not.
    db.prepare(`INSERT INTO request_log (id, created_at, endpoint, model, stream, status, parameters) VALUES ('arena-00000000-0000-0000-0000-000000000002-0-a', 1, 'chat.completions', 'x', 1, 'completed', '{}')`).run();
    migrate(db);
    const store = new ArenaStore(db);
    const id = "00000000-0000-0000-0000-000000000002";
    expect(store.startAttempt(id, 0, "a")).toEqual({ version: 0, attempt: 2 });
    expect(store.startAttempt(id, 0, "b")).toEqual({ version: 0, attempt: 1 });
    expect(store.startRegeneration(id, 0, "b")).toBe(1);
    expect(store.get(id)!.turns[0].answers.b.tokens).toBeNull();
    expect(store.selectVersion(id, 0, "b", 0)).toBe(true);
    expect(store.get(id)!.turns[0].answers).toMatchObject({ a: { tokens: 7, version: 0 }, b: { text: "by", tokens: 9, version: 0 } });
  });
});

describe("regenerated answers in a saved Arena session", () => {
  const done = (model: string, text: string) => ({ model, text, status: "done", finish_reason: "stop" });
  const sessionWith = (alpha: object) => ({ kind: "arena", state: { models: ["alpha", "beta"], settings: {}, turns: [{ user_message: "Hi", answers: [alpha, done("beta", "b1")] }] } });

  it("keeps every version and the one chosen, and exports the column's conversation with the chosen one", async () => {
    const arena = createArenaApp();
    const alpha = { ...done("alpha", "a1"), versions: [done("alpha", "a1"), done("alpha", "a2")], version: 0 };
    const created = await arena.call("POST", "/api/sessions", sessionWith(alpha));
    expect(created.status, await created.clone().text()).toBe(201);
    const { id } = (await created.json()) as PlaygroundSessionView;
    const reopened = (await (await arena.call("GET", `/api/sessions/${id}`)).json()) as PlaygroundSessionView & { state: ArenaState };
    expect(reopened.state.turns[0].answers[0]).toEqual(alpha);
    const exported = (await (await arena.call("GET", `/api/sessions/${id}/export`)).json()) as PlaygroundSessionExport;
    expect(exported.conversations?.[0].messages.map((message) => message.content)).toEqual(["Hi", "a1"]);
  });

  it("refuses a chosen version that names none of the answer's versions (400 naming the field)", async () => {
    const arena = createArenaApp();
    for (const alpha of [{ ...done("alpha", "a1"), version: 0 }, { ...done("alpha", "a1"), versions: [done("alpha", "a1")], version: 1 }, { ...done("alpha", "a1"), versions: [] }]) {
      const response = await arena.call("POST", "/api/sessions", sessionWith(alpha));
      expect(response.status).toBe(400);
      expect(((await response.json()) as OpenAIErrorBody).error.param).toMatch(/^state\.turns\[0\]\.answers\[0\]\.versions?$/);
    }
  });
});
