import { describe, expect, it } from "vitest";
import { createServerApp } from "../../src/server/app.js";
import { ArenaStore } from "../../src/server/arena/arena-store.js";
import type { VoteResponse } from "../../src/server/arena/arena-routes.js";
import { drawBattleModels, type PublicBattleView } from "../../src/server/arena/battle-rules.js";
import { ModelRegistry, type ModelSpec } from "../../src/server/model-registry.js";
import { openServerDatabase } from "../../src/server/store/database.js";
import type { LanguageModel } from "../../src/spec/index.js";
import { scriptedModel } from "../support/scripted-model.js";
import { createArenaApp, readEvents } from "./support/arena-app.js";

type App = ReturnType<typeof createArenaApp>;

async function startBattle(arena: App, message = "Hi", key?: string) {
  const response = await arena.call("POST", "/api/arena/battles", { message, settings: { max_tokens: 32, temperature: 0 } }, key);
  expect(response.status).toBe(201);
  return (await response.json()) as PublicBattleView;
}

async function answerBoth(arena: App, id: string, key?: string) {
  const texts: Record<string, string> = {};
  for (const side of ["a", "b"]) {
    const response = await arena.call("POST", `/api/arena/battles/${id}/answers/${side}`, {}, key);
    expect(response.status).toBe(200);
    const events = await readEvents(response);
    expect(events.at(-1)).toMatchObject({ type: "done", finish_reason: "stop" });
    texts[side] = events.filter((e) => e.type === "delta").map((e) => e.text).join("");
  }
  return texts;
}

async function battleVoted(arena: App, winner: string, key?: string) {
  const battle = await startBattle(arena, "Hi", key);
  await answerBoth(arena, battle.id, key);
  const response = await arena.call("POST", `/api/arena/battles/${battle.id}/vote`, { winner }, key);
  return { battle, response };
}

describe("anonymous battles", () => {
  it("draws two different models in a random order and never shows their names before the vote", async () => {
    // The draw: every ordered pair of 3 models about equally often (600 draws, 6 pairs).
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const counts = new Map<string, number>();
    for (let i = 0; i < 600; i++) {
      const { a, b } = drawBattleModels(["x", "y", "z"], random);
      expect(a).not.toBe(b);
      counts.set(`${a}-${b}`, (counts.get(`${a}-${b}`) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(["x-y", "x-z", "y-x", "y-z", "z-x", "z-y"]);
    for (const count of counts.values()) expect(count).toBeGreaterThan(60);
    expect(drawBattleModels(["x", "y"], () => 0)).toEqual({ a: "x", b: "y" });
    expect(drawBattleModels(["x", "y"], () => 0.99)).toEqual({ a: "y", b: "x" });

    // Through the routes, the injected draw decides positions and the view hides them.
    const arena = createArenaApp({ random: () => 0.99 });
    const battle = await startBattle(arena);
    expect(battle.models).toBeNull();
    expect(JSON.stringify(battle)).not.toMatch(/alpha|beta/);
    const texts = await answerBoth(arena, battle.id);
    expect(texts).toEqual({ a: "beta says: Hi", b: "alpha says: Hi" });
    const view = await (await arena.call("GET", `/api/arena/battles/${battle.id}`)).json();
    expect(view).toMatchObject({ can_vote: true, models: null, vote: null });
  });

  it("opens voting only once both answers finished, reveals names after the vote, and closes the battle", async () => {
    const arena = createArenaApp({ random: () => 0 });
    const battle = await startBattle(arena);
    const early = await arena.call("POST", `/api/arena/battles/${battle.id}/vote`, { winner: "a" });
    expect(early.status).toBe(409);
    expect((await early.json()).error.message).toMatch(/both answers/);
    await readEvents(await arena.call("POST", `/api/arena/battles/${battle.id}/answers/a`));
    expect((await arena.call("POST", `/api/arena/battles/${battle.id}/vote`, { winner: "a" })).status).toBe(409);
    await readEvents(await arena.call("POST", `/api/arena/battles/${battle.id}/answers/b`));

    const voted = await arena.call("POST", `/api/arena/battles/${battle.id}/vote`, { winner: "a" });
    expect(voted.status).toBe(200);
    expect(await voted.json()).toMatchObject({ models: { a: "alpha", b: "beta" }, vote: { winner: "model_a" }, can_vote: false, votes_left_today: 99 });
    expect((await arena.call("POST", `/api/arena/battles/${battle.id}/vote`, { winner: "b" })).status).toBe(409);
    expect((await arena.call("POST", `/api/arena/battles/${battle.id}/turns`, { message: "more" })).status).toBe(409);
    expect((await arena.call("POST", `/api/arena/battles/${battle.id}/answers/a`)).status).toBe(409);
  });

  it("rejects the vote of a battle whose names were revealed first, and it never reaches the leaderboard", async () => {
    const arena = createArenaApp();
    const battle = await startBattle(arena);
    await answerBoth(arena, battle.id);
    const revealed = await (await arena.call("POST", `/api/arena/battles/${battle.id}/reveal`)).json();
    expect(revealed.models).not.toBeNull();
    expect(revealed).toMatchObject({ revealed_before_vote: true, can_vote: false });
    const vote = await arena.call("POST", `/api/arena/battles/${battle.id}/vote`, { winner: "a" });
    expect(vote.status).toBe(403);
    expect((await vote.json()).error.message).toMatch(/revealed before the vote/);
    expect((await (await arena.call("GET", "/api/arena/leaderboard")).json()).votes).toBe(0);
  });

  it("caps votes per user per UTC day, separately for each API key", async () => {
    const arena = createArenaApp({ votesPerDay: 2, keys: { ann: "key-ann", bob: "key-bob" } });
    expect((await battleVoted(arena, "a", "key-ann")).response.status).toBe(200);
    expect((await battleVoted(arena, "tie", "key-ann")).response.status).toBe(200);
    const third = await battleVoted(arena, "b", "key-ann");
    expect(third.response.status).toBe(429);
    expect((await third.response.json()).error.message).toMatch(/daily vote limit \(2 per user\)/);
    expect((await battleVoted(arena, "b", "key-bob")).response.status).toBe(200);
    // Bob may not vote on (or even read) Ann's battle.
    expect((await arena.call("POST", `/api/arena/battles/${third.battle.id}/vote`, { winner: "a" }, "key-bob")).status).toBe(403);
    expect((await arena.call("GET", `/api/arena/battles/${third.battle.id}`, undefined, "key-bob")).status).toBe(403);
    // The next UTC day Ann's pending battle can be voted on.
    arena.clock.now += 24 * 3600 * 1000;
    expect((await arena.call("POST", `/api/arena/battles/${third.battle.id}/vote`, { winner: "b" }, "key-ann")).status).toBe(200);
    expect((await arena.call("GET", "/api/arena/leaderboard")).status).toBe(401);
    expect((await (await arena.call("GET", "/api/arena/leaderboard", undefined, "key-ann")).json()).votes).toBe(4);
  });

  it("sends each side its own earlier answers in a multi-turn battle", async () => {
    const arena = createArenaApp({ random: () => 0 });
    const battle = await startBattle(arena, "first");
    await answerBoth(arena, battle.id);
    const turn = await arena.call("POST", `/api/arena/battles/${battle.id}/turns`, { message: "second" });
    expect(turn.status).toBe(201);
    const texts = await answerBoth(arena, battle.id);
    expect(texts).toEqual({ a: "alpha says: second", b: "beta says: second" });
    const sent = arena.models.beta.calls.at(-1)!;
    expect(sent.messages).toEqual([
      { role: "user", content: "first" },
      { role: "assistant", content: "beta says: first" },
      { role: "user", content: "second" },
    ]);
    expect(sent).toMatchObject({ maxTokens: 32, temperature: 0 });
  });

  it("a stopped answer counts as finished with finish_reason abort; a side cannot stream twice at once", async () => {
    const arena = createArenaApp({ delayMs: 20 });
    const battle = await startBattle(arena, "a fairly long message so the answer takes many pieces");
    const response = await arena.call("POST", `/api/arena/battles/${battle.id}/answers/a`);
    const reader = response.body!.getReader();
    await reader.read();
    expect((await arena.call("POST", `/api/arena/battles/${battle.id}/answers/a`)).status).toBe(409);
    expect((await arena.call("POST", `/api/arena/battles/${battle.id}/turns`, { message: "x" })).status).toBe(409);
    await reader.cancel();
    const view = await (await arena.call("GET", `/api/arena/battles/${battle.id}`)).json();
    expect(view.turns[0].answers.a).toMatchObject({ status: "done", finish_reason: "abort" });
    expect(view.turns[0].answers.a.text.length).toBeLessThan(20);
  });

  it("answers bad input with a clear 4xx naming the problem", async () => {
    const arena = createArenaApp();
    const one = createArenaApp({ models: ["solo"] });
    const single = await one.call("POST", "/api/arena/battles", { message: "Hi" });
    expect(single.status).toBe(400);
    expect((await single.json()).error.message).toMatch(/at least two models; only "solo"/);
    const empty = await arena.call("POST", "/api/arena/battles", { message: "  " });
    expect((await empty.json()).error).toMatchObject({ param: "message" });
    const unknownSetting = await arena.call("POST", "/api/arena/battles", { message: "x", settings: { temprature: 1 } });
    expect(unknownSetting.status).toBe(400);
    const unknownModel = await arena.call("POST", "/api/arena/battles", { message: "x", models: ["alpha", "gamma"] });
    expect(unknownModel.status).toBe(404);
    expect((await arena.call("GET", "/api/arena/battles/nope")).status).toBe(404);
    const battle = await startBattle(arena);
    expect((await arena.call("POST", `/api/arena/battles/${battle.id}/answers/c`)).status).toBe(404);
    const badVote = await arena.call("POST", `/api/arena/battles/${battle.id}/vote`, { winner: "c" });
    expect((await badVote.json()).error).toMatchObject({ param: "winner" });
    expect((await arena.call("GET", "/api/arena/leaderboard?bootstrap=-1")).status).toBe(400);
  });

  it("never draws a model that failed to load, whether it failed before or while the battle was drawn", async () => {
    // "broken" sits first, and the draw always picks the first candidate: it is drawn until it is known to fail.
    const arena = createArenaApp({ models: ["broken", "alpha", "beta"], failingLoads: ["broken"], random: () => 0 });
    for (let round = 0; round < 3; round++) {
      const battle = await startBattle(arena);
      await answerBoth(arena, battle.id);
      const revealed = await (await arena.call("POST", `/api/arena/battles/${battle.id}/reveal`)).json();
      expect(revealed.models).toEqual({ a: "alpha", b: "beta" });
    }
    // Tried once, while the first battle was drawn; afterwards the registry's record of the failure keeps it out.
    expect(arena.loads.broken).toBe(1);

    // Too few models that load: a 503 naming the failures, and no battle.
    const pair = await arena.call("POST", "/api/arena/battles", { message: "Hi", models: ["broken", "alpha"] });
    expect(pair.status).toBe(503);
    expect((await pair.json()).error.message).toMatch(/two models that load.*broken: .*broken\.gguf is corrupt/);
  });
});

describe("leaderboard and exports", () => {
  it("computes online Elo, Bradley-Terry intervals, counts and win rates from the stored votes", async () => {
    const arena = createArenaApp({ random: () => 0 }); // alpha is always A
    expect((await (await arena.call("GET", "/api/arena/leaderboard")).json()).rows).toEqual([]);
    await battleVoted(arena, "a");
    let board = await (await arena.call("GET", "/api/arena/leaderboard")).json();
    // One win from 1000/1000 with K=4: expected score 0.5, so ±2.
    expect(board.rows.map((row: { model: string; elo: number }) => [row.model, row.elo])).toEqual([
      ["alpha", 1002],
      ["beta", 998],
    ]);
    await battleVoted(arena, "a");
    await battleVoted(arena, "b");
    await battleVoted(arena, "tie");
    board = await (await arena.call("GET", "/api/arena/leaderboard?bootstrap=100")).json();
    // By hand: 1002/998; E=1/(1+10^(-4/400))=0.505756 → 1003.97698/996.02302; then a loss for alpha:
    // E=1/(1+10^(-7.95395/400))=0.511445 → 1001.93120/998.06880; a tie: E=0.505558 → 1001.90896/998.09104.
    const alpha = board.rows.find((row: { model: string }) => row.model === "alpha");
    const beta = board.rows.find((row: { model: string }) => row.model === "beta");
    expect(alpha.elo).toBeCloseTo(1001.90896, 4);
    expect(beta.elo).toBeCloseTo(998.09104, 4);
    expect(alpha).toMatchObject({ battles: 4, wins: 2, ties: 1, losses: 1 });
    expect(beta).toMatchObject({ battles: 4, wins: 1, ties: 1, losses: 2 });
    // Bradley-Terry: alpha scored 2.5 of 4 → its rating is above beta's, with intervals around it.
    expect(alpha.bradley_terry).toBeGreaterThan(beta.bradley_terry);
    expect(alpha.interval.lower).toBeLessThanOrEqual(alpha.bradley_terry);
    expect(alpha.interval.upper).toBeGreaterThanOrEqual(alpha.bradley_terry);
    expect(board.bootstrap_rounds).toBe(100);
    expect(board.win_rates).toEqual({
      models: ["alpha", "beta"],
      cells: [
        [{ games: 0, win_rate: null }, { games: 4, win_rate: 0.625 }],
        [{ games: 4, win_rate: 0.375 }, { games: 0, win_rate: null }],
      ],
    });
  });

  it("exports voted battles as FastChat rows and decisive votes as DPO pairs", async () => {
    const arena = createArenaApp({ random: () => 0 });
    await battleVoted(arena, "b");
    await battleVoted(arena, "bothbad");
    const rows = await (await arena.call("GET", "/api/arena/export/battles.json")).json();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      model_a: "alpha",
      model_b: "beta",
      winner: "model_b",
      turn: 1,
      anony: true,
      conversation_a: [{ role: "user", content: "Hi" }, { role: "assistant", content: "alpha says: Hi" }],
    });
    expect(rows[1].winner).toBe("tie (bothbad)");
    const jsonl = await (await arena.call("GET", "/api/arena/export/preferences.jsonl")).text();
    const pairs = jsonl.trim().split("\n").map((line) => JSON.parse(line));
    expect(pairs).toEqual([
      expect.objectContaining({ prompt: "Hi", chosen: "beta says: Hi", rejected: "alpha says: Hi", chosen_model: "beta", rejected_model: "alpha", history: [] }),
    ]);
  });
});

describe("the playground's static files", () => {
  it("serves web/ at / with a same-origin-only policy, without a key, and nothing outside web/", async () => {
    const arena = createArenaApp({ keys: { ann: "key-ann" } });
    const index = await arena.call("GET", "/");
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toContain("text/html");
    expect(index.headers.get("content-security-policy")).toContain("connect-src 'self'");
    expect(await index.text()).toContain('<script type="module" src="/js/app.js">');
    const script = await arena.call("GET", "/js/app.js");
    expect(script.headers.get("content-type")).toContain("text/javascript");
    expect((await arena.call("GET", "/styles.css")).status).toBe(200);
    for (const path of ["/../package.json", "/%2e%2e/package.json", "/js/../../package.json", "/src/server/app.ts"]) {
      expect((await arena.call("GET", path, undefined, "key-ann")).status).toBe(404);
    }
    expect((await arena.call("GET", "/v1/models")).status).toBe(401);
    expect((await arena.call("POST", "/js/app.js")).status).toBe(401);
  });

  it("serves the Markdown libraries from node_modules under /vendor/, a fixed list, without a key", async () => {
    const arena = createArenaApp({ keys: { ann: "key-ann" } });
    for (const path of ["/vendor/markdown-it/markdown-it.js", "/vendor/dompurify/purify.js", "/vendor/katex/katex.js", "/vendor/highlight.js/highlight.js", "/vendor/highlight.js/languages/python.js"]) {
      const response = await arena.call("GET", path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type"), path).toContain("text/javascript");
      expect(response.headers.get("x-content-type-options"), path).toBe("nosniff");
    }
    // highlight.js's CommonJS core arrives as one ES module with its languages registered.
    const highlight = await (await arena.call("GET", "/vendor/highlight.js/highlight.js")).text();
    expect(highlight).toContain('import language0 from "./languages/bash.js";');
    expect(highlight).toContain('highlightJs.registerLanguage("python", ');
    expect(highlight.trimEnd().endsWith("export default highlightJs;")).toBe(true);
    expect((await arena.call("GET", "/vendor/highlight.js/github.css")).headers.get("content-type")).toContain("text/css");
    for (const path of ["/vendor/katex/package.json", "/vendor/dompurify/../../package.json", "/vendor/highlight.js/languages/brainfuck.js", "/vendor/markdown-it/index.js", "/node_modules/katex/dist/katex.mjs"]) {
      expect((await arena.call("GET", path, undefined, "key-ann")).status, path).toBe(404);
    }
    expect(await (await arena.call("GET", "/")).text()).toContain('href="/vendor/highlight.js/github.css"');
  });
});

describe("models that failed to load", () => {
  it("are never drawn into a battle", async () => {
    const model = (id: string) => scriptedModel({ modelId: id, reply: () => `${id} answers` });
    const spec = (id: string, load: () => Promise<LanguageModel>): ModelSpec => ({ id, kind: "local", ownedBy: "camelid", capacity: 2, maxQueue: 4, load });
    const registry = new ModelRegistry([
      spec("alpha", async () => model("alpha")),
      spec("broken", async () => {
        throw new Error("no such file: broken.gguf");
      }),
      spec("beta", async () => model("beta")),
    ]);
    expect((await registry.loadAll()).map((failure) => failure.id)).toEqual(["broken"]);
    expect(registry.get("broken").status().state).toBe("failed");
    const db = openServerDatabase(":memory:");
    // Every draw position is tried: with "broken" in the pool some of these would pick it.
    const draws = [0, 0.2, 0.4, 0.6, 0.8, 0.99];
    let next = 0;
    const { app } = createServerApp({ registry, arena: { store: new ArenaStore(db), random: () => draws[next++ % draws.length] } });
    const drawn = new Set<string>();
    for (let battle = 0; battle < draws.length; battle++) {
      const created = await app.request("/api/arena/battles", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ message: "Hi" }) });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as PublicBattleView;
      for (const side of ["a", "b"]) await readEvents(await app.request(`/api/arena/battles/${id}/answers/${side}`, { method: "POST" }));
      const voted = await app.request(`/api/arena/battles/${id}/vote`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ winner: "tie" }) });
      // A broken side's answer fails, so its battle could not even be voted on.
      expect(voted.status).toBe(200);
      const { models } = (await voted.json()) as VoteResponse;
      drawn.add(models!.a).add(models!.b);
    }
    expect([...drawn].sort()).toEqual(["alpha", "beta"]);
    db.close();
  });
});
