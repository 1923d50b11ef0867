// Issue 19, point 5: Arena (side by side) and Collaborate sessions under /api/sessions, and the
// battles' list, export and delete under /api/arena/battles: validated, owned per key, typed errors.
import { describe, expect, it } from "vitest";
import type { PublicBattleView } from "../../src/server/arena/battle-rules.js";
import { createArenaApp, readEvents } from "./support/arena-app.js";

type App = ReturnType<typeof createArenaApp>;

const answer = (model: string, text: string, status = "done") => ({ model, text, status, finish_reason: status === "done" ? "stop" : null });
const arenaState = (turns: { user_message: string; answers: ReturnType<typeof answer>[] }[] = []) => ({
  models: ["alpha", "beta"],
  settings: { system_prompt: "Be brief.", temperature: 0.5 },
  turns,
});
const collaborateState = () => ({
  models: ["alpha", "beta"],
  aggregator: "alpha",
  merge_prompt: "Merge {answers} for {question}",
  settings: { max_tokens: 64 },
  runs: [{ question: "Why?", models: ["alpha", "beta"], aggregator: "alpha", merge_prompt: "Merge", answers: [answer("alpha", "A"), answer("beta", "B")], filled_prompt: "Merge A B", merged: answer("alpha", "AB") }],
});

async function json(response: Response, status: number) {
  expect(response.status, await response.clone().text()).toBe(status);
  return response.json();
}

async function createSession(arena: App, body: unknown, key?: string) {
  return json(await arena.call("POST", "/api/sessions", body, key), 201);
}

describe("/api/sessions", () => {
  it("creates, lists, reopens, replaces, exports and deletes an Arena session", async () => {
    const arena = createArenaApp();
    const created = await createSession(arena, { kind: "arena", state: arenaState([{ user_message: "Hello there\nsecond line", answers: [answer("alpha", "", "pending"), answer("beta", "", "pending")] }]) });
    expect(created).toMatchObject({ object: "playground.session", kind: "arena", title: "Hello there", models: ["alpha", "beta"] });

    const list = await json(await arena.call("GET", "/api/sessions?kind=arena"), 200);
    expect(list.data).toEqual([expect.objectContaining({ id: created.id, title: "Hello there", models: ["alpha", "beta"], created_at: arena.clock.now })]);
    expect(list.data[0].state).toBeUndefined();
    expect((await json(await arena.call("GET", "/api/sessions?kind=collaborate"), 200)).data).toEqual([]);

    arena.clock.now += 1000;
    const finished = arenaState([{ user_message: "Hello there\nsecond line", answers: [answer("alpha", "hi"), answer("beta", "hey")] }]);
    const replaced = await json(await arena.call("PUT", `/api/sessions/${created.id}`, { state: finished }), 200);
    expect(replaced.updated_at).toBe(created.created_at + 1000);
    expect((await json(await arena.call("GET", `/api/sessions/${created.id}`), 200)).state).toEqual(finished);

    const exported = await arena.call("GET", `/api/sessions/${created.id}/export`);
    expect(exported.headers.get("content-disposition")).toBe('attachment; filename="arena-Hello_there.json"');
    expect(await exported.json()).toMatchObject({
      format: "camelid-playground-session",
      state: finished,
      conversations: [
        { model: "alpha", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello there\nsecond line" }, { role: "assistant", content: "hi" }] },
        { model: "beta", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello there\nsecond line" }, { role: "assistant", content: "hey" }] },
      ],
    });

    expect(await json(await arena.call("DELETE", `/api/sessions/${created.id}`), 200)).toMatchObject({ deleted: true });
    expect((await json(await arena.call("GET", `/api/sessions/${created.id}`), 404)).error).toMatchObject({ type: "not_found_error", code: "not_found" });
    expect((await json(await arena.call("GET", "/api/sessions?kind=arena"), 200)).data).toEqual([]);
  });

  it("keeps a Collaborate session's settings and results, titled by its first question", async () => {
    const arena = createArenaApp();
    const created = await createSession(arena, { kind: "collaborate", state: collaborateState() });
    expect(created).toMatchObject({ kind: "collaborate", title: "Why?", models: ["alpha", "beta"] });
    expect((await json(await arena.call("GET", `/api/sessions/${created.id}`), 200)).state).toEqual(collaborateState());
  });

  it("refuses bad input with a 400 naming the field, and unknown sessions with a 404", async () => {
    const arena = createArenaApp();
    const bad = async (method: string, path: string, body?: unknown) => (await json(await arena.call(method, path, body), 400)).error;
    expect(await bad("GET", "/api/sessions")).toMatchObject({ type: "invalid_request_error", param: "kind" });
    expect(await bad("GET", "/api/sessions?kind=battle")).toMatchObject({ param: "kind" });
    expect(await bad("GET", "/api/sessions?kind=arena&limit=0")).toMatchObject({ param: "limit" });
    expect(await bad("POST", "/api/sessions", { kind: "chat", state: {} })).toMatchObject({ param: "kind" });
    expect(await bad("POST", "/api/sessions", { kind: "arena", state: { ...arenaState(), models: [] } })).toMatchObject({ param: "state.models" });
    expect(await bad("POST", "/api/sessions", { kind: "arena", state: arenaState([{ user_message: "x", answers: [{ ...answer("alpha", "y"), status: "bogus" }] }]) })).toMatchObject({
      param: "state.turns[0].answers[0].status",
    });
    expect(await bad("POST", "/api/sessions", { kind: "arena", state: { ...arenaState(), settings: { temperature: 5 } } })).toMatchObject({ param: "state.settings.temperature" });
    const session = await createSession(arena, { kind: "arena", state: arenaState() });
    // A session keeps its kind: a Collaborate document cannot replace an Arena one.
    expect(await bad("PUT", `/api/sessions/${session.id}`, { state: collaborateState() })).toMatchObject({ param: expect.stringMatching(/^state\./) });
    for (const [method, path] of [["GET", "/api/sessions/nope"], ["PUT", "/api/sessions/nope"], ["DELETE", "/api/sessions/nope"], ["GET", "/api/sessions/nope/export"]]) {
      const response = await arena.call(method, path, method === "PUT" ? { state: arenaState() } : undefined);
      expect((await json(response, 404)).error).toMatchObject({ type: "not_found_error" });
    }
  });

  it("shows each API key only its own sessions; an admin key sees all", async () => {
    const arena = createArenaApp({ keys: { ann: "key-ann", bob: "key-bob" }, adminKeys: { root: "key-root" } });
    const mine = await createSession(arena, { kind: "arena", state: arenaState() }, "key-ann");
    expect((await json(await arena.call("GET", "/api/sessions?kind=arena", undefined, "key-bob"), 200)).data).toEqual([]);
    for (const [method, path] of [["GET", `/api/sessions/${mine.id}`], ["GET", `/api/sessions/${mine.id}/export`], ["DELETE", `/api/sessions/${mine.id}`]]) {
      expect((await arena.call(method, path, undefined, "key-bob")).status).toBe(404);
    }
    expect((await arena.call("PUT", `/api/sessions/${mine.id}`, { state: arenaState() }, "key-bob")).status).toBe(404);
    expect((await json(await arena.call("GET", "/api/sessions?kind=arena", undefined, "key-root"), 200)).data).toHaveLength(1);
    expect((await arena.call("GET", `/api/sessions/${mine.id}`, undefined, "key-ann")).status).toBe(200);
  });
});

describe("battles in the sessions list", () => {
  async function playedBattle(arena: App, message: string, key?: string) {
    const battle = await json(await arena.call("POST", "/api/arena/battles", { message }, key), 201);
    for (const side of ["a", "b"]) await readEvents(await arena.call("POST", `/api/arena/battles/${battle.id}/answers/${side}`, {}, key));
    return battle as PublicBattleView;
  }

  it("lists the caller's battles newest first, exports one and deletes it with its vote", async () => {
    const arena = createArenaApp({ keys: { ann: "key-ann", bob: "key-bob" } });
    const first = await playedBattle(arena, "First question", "key-ann");
    arena.clock.now += 1000;
    const second = await playedBattle(arena, "Second question", "key-ann");
    await playedBattle(arena, "Bob's", "key-bob");
    const list = await json(await arena.call("GET", "/api/arena/battles", undefined, "key-ann"), 200);
    expect(list.data.map((battle: { title: string }) => battle.title)).toEqual(["Second question", "First question"]);
    expect(list.data[0]).toMatchObject({ id: second.id, object: "arena.battle.summary", turns: 1, voted: false, models: null });

    expect(await json(await arena.call("POST", `/api/arena/battles/${first.id}/vote`, { winner: "a" }, "key-ann"), 200)).toMatchObject({ models: { a: expect.any(String) } });
    expect((await json(await arena.call("GET", "/api/arena/leaderboard", undefined, "key-ann"), 200)).votes).toBe(1);
    const exported = await arena.call("GET", `/api/arena/battles/${first.id}/export`, undefined, "key-ann");
    expect(exported.headers.get("content-disposition")).toBe(`attachment; filename="battle-${first.id}.json"`);
    const file = await exported.json();
    expect(file).toMatchObject({ format: "camelid-arena-battle", id: first.id, vote: { winner: "model_a" }, conversations: { a: [{ role: "user", content: "First question" }, { role: "assistant" }] } });

    // Another key's battle is not theirs to export or delete.
    expect((await arena.call("GET", `/api/arena/battles/${first.id}/export`, undefined, "key-bob")).status).toBe(403);
    expect((await arena.call("DELETE", `/api/arena/battles/${first.id}`, undefined, "key-bob")).status).toBe(403);

    expect(await json(await arena.call("DELETE", `/api/arena/battles/${first.id}`, undefined, "key-ann"), 200)).toMatchObject({ deleted: true });
    expect((await arena.call("GET", `/api/arena/battles/${first.id}`, undefined, "key-ann")).status).toBe(404);
    expect((await json(await arena.call("GET", "/api/arena/battles", undefined, "key-ann"), 200)).data.map((battle: { id: string }) => battle.id)).toEqual([second.id]);
    expect((await json(await arena.call("GET", "/api/arena/leaderboard", undefined, "key-ann"), 200)).votes).toBe(0);
    expect((await json(await arena.call("DELETE", `/api/arena/battles/${first.id}`, undefined, "key-ann"), 404)).error).toMatchObject({ type: "not_found_error" });
    expect((await json(await arena.call("GET", "/api/arena/battles?limit=x", undefined, "key-ann"), 400)).error).toMatchObject({ param: "limit" });
  });
});
