// Issue 19 point 6, server side: the leaderboard route per category and with style control, its
// heat maps and charts, the battle category and the answers' token counts stored and exported.
import { describe, expect, it } from "vitest";
import { fitStyleControlledBradleyTerry, parseBattleRows } from "../../src/eval/ratings/index.js";
import type { toBattleRows } from "../../src/server/arena/arena-exports.js";
import type { ArenaLeaderboardResponse } from "../../src/server/arena/arena-leaderboard.js";
import type { PublicBattleView } from "../../src/server/arena/battle-rules.js";
import { createArenaApp, readEvents } from "./support/arena-app.js";

type App = ReturnType<typeof createArenaApp>;

// Three styles: alpha plain and short, beta all markdown, gamma in between.
const replies: Record<string, (message: string) => string> = {
  alpha: (message) => `alpha: ${message}`,
  beta: (message) => `## Answer\n- one ${message}\n- two\n1. three\n**bold** and **more bold** text, longer than the others by far`,
  gamma: (message) => `# Gamma\n${message} with __some__ emphasis`,
};

function arenaApp() {
  // random 0: the first model of the battle's pool sits at A.
  return createArenaApp({ models: ["alpha", "beta", "gamma"], random: () => 0, reply: (id, message) => replies[id](message) });
}

async function vote(arena: App, models: [string, string], winner: "a" | "b" | "tie" | "bothbad", category?: string) {
  const created = await arena.call("POST", "/api/arena/battles", { message: "Hi", models, ...(category ? { category } : {}) });
  expect(created.status).toBe(201);
  const battle = (await created.json()) as PublicBattleView;
  expect(battle.category).toBe(category ?? null);
  for (const side of ["a", "b"]) await readEvents(await arena.call("POST", `/api/arena/battles/${battle.id}/answers/${side}`, {}));
  arena.clock.now += 60_000;
  expect((await arena.call("POST", `/api/arena/battles/${battle.id}/vote`, { winner })).status).toBe(200);
}

const board = async (arena: App, query = "") => (await (await arena.call("GET", `/api/arena/leaderboard${query}`)).json()) as ArenaLeaderboardResponse;

/** A fixed set of votes: beta beats alpha mostly, gamma in between, two categories. */
async function votedArena() {
  const arena = arenaApp();
  const plan: Array<[[string, string], "a" | "b" | "tie" | "bothbad", string]> = [
    [["beta", "alpha"], "a", "coding"],
    [["beta", "alpha"], "a", "writing"],
    [["alpha", "beta"], "b", "coding"],
    [["alpha", "beta"], "a", "writing"],
    [["gamma", "alpha"], "a", "coding"],
    [["gamma", "alpha"], "tie", "coding"],
    [["beta", "gamma"], "a", "writing"],
    [["gamma", "beta"], "a", "coding"],
    [["gamma", "beta"], "bothbad", "writing"],
    [["alpha", "gamma"], "b", "writing"],
  ];
  for (const [models, winner, category] of plan) await vote(arena, models, winner, category);
  return arena;
}

describe("the arena leaderboard route", () => {
  it("gives FastChat's heat maps (battles without ties, models by rating), the last-updated time and the charts", async () => {
    const arena = await votedArena();
    const result = await board(arena);
    expect(result.votes).toBe(10);
    const order = result.rows.map((row) => row.model);
    expect(result.battle_counts.models).toEqual(order);
    expect(result.win_fraction.models).toEqual(order);
    // Decisive battles per pair, either seat: alpha-beta 4, alpha-gamma 2 (one tie left out), beta-gamma 2.
    const count = (x: string, y: string) => result.battle_counts.values[order.indexOf(x)][order.indexOf(y)];
    expect([count("alpha", "beta"), count("beta", "alpha"), count("alpha", "gamma"), count("beta", "gamma"), count("beta", "beta")]).toEqual([4, 4, 2, 2, 0]);
    const fraction = (x: string, y: string) => result.win_fraction.values[order.indexOf(x)][order.indexOf(y)];
    expect([fraction("beta", "alpha"), fraction("alpha", "beta"), fraction("gamma", "alpha"), fraction("gamma", "beta"), fraction("alpha", "alpha")]).toEqual([0.75, 0.25, 1, 0.5, null]);
    expect(result.last_updated).toBe(Date.UTC(2026, 0, 10, 12, 10, 0) / 1000);
    expect(result.last_updated_iso).toBe("2026-01-10T12:10:00.000Z");
    expect(result.charts.map((chart) => chart.name).sort()).toEqual(["battle-count-heatmap", "elo-bootstrap-intervals", "rating-intervals", "win-fraction-heatmap"]);
    const intervals = result.charts.find((chart) => chart.name === "rating-intervals")!.svg;
    expect(intervals.match(/<circle /g)).toHaveLength(3);

    const svg = await arena.call("GET", "/api/arena/leaderboard/charts/battle-count-heatmap.svg");
    expect(svg.status).toBe(200);
    expect(svg.headers.get("content-type")).toContain("image/svg+xml");
    expect(await svg.text()).toContain("alpha vs beta: 4</title>");
    const missing = await arena.call("GET", "/api/arena/leaderboard/charts/pie.svg");
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.message).toContain('no chart "pie.svg"');
  });

  it("rates one category when asked, lists the categories, and names them for one without battles", async () => {
    const arena = await votedArena();
    const all = await board(arena, "?category=all");
    expect(all.categories).toEqual(["coding", "writing"]);
    expect(all.category).toBeNull();
    const coding = await board(arena, "?category=coding");
    expect(coding.category).toBe("coding");
    expect(coding.votes).toBe(5);
    expect(coding.rows.reduce((sum, row) => sum + row.battles, 0)).toBe(10);
    expect(coding.battle_counts.values.flat().reduce<number>((sum, value) => sum + (value ?? 0), 0)).toBe(2 * 4);
    const missing = await arena.call("GET", "/api/arena/leaderboard?category=poetry");
    expect(missing.status).toBe(400);
    expect((await missing.json()).error.message).toBe('no battles in category "poetry" (categories: coding, writing)');
    // The category is checked where the battle is created.
    const blank = await arena.call("POST", "/api/arena/battles", { message: "Hi", category: "  " });
    expect(blank.status).toBe(400);
    expect((await arena.call("POST", "/api/arena/battles", { message: "Hi", category: "x".repeat(65) })).status).toBe(400);
  });

  it("stores each answer's tokens and exports category and conv_metadata; style control rates those battles as FastChat's fit", async () => {
    const arena = await votedArena();
    const rows = (await (await arena.call("GET", "/api/arena/export/battles.json")).json()) as ReturnType<typeof toBattleRows>;
    expect(rows[0]).toMatchObject({ category: "coding", model_a: "beta", model_b: "alpha" });
    expect(rows[0].conv_metadata).toEqual({
      sum_assistant_a_tokens: replies.beta("Hi").length,
      header_count_a: { h1: 0, h2: 1, h3: 0, h4: 0, h5: 0, h6: 0 },
      list_count_a: { ordered: 1, unordered: 2 },
      bold_count_a: { "**": 2, __: 0 },
      sum_assistant_b_tokens: replies.alpha("Hi").length,
      header_count_b: { h1: 0, h2: 0, h3: 0, h4: 0, h5: 0, h6: 0 },
      list_count_b: { ordered: 0, unordered: 0 },
      bold_count_b: { "**": 0, __: 0 },
    });

    const plain = await board(arena);
    const styled = await board(arena, "?style_control=1");
    expect(plain.rating_system).toBe("bradley-terry");
    expect(plain.style_coefficients).toBeNull();
    expect(styled.rating_system).toBe("style-controlled bradley-terry");
    // The exported rows, read back as a battles file, give the same style-controlled ratings.
    const fit = fitStyleControlledBradleyTerry(parseBattleRows(rows));
    for (const row of styled.rows) expect(row.bradley_terry).toBeCloseTo(fit.ratings.get(row.model)!, 9);
    expect(styled.style_coefficients).toEqual(fit.coefficients);
    expect(styled.rows.map((row) => row.bradley_terry)).not.toEqual(plain.rows.map((row) => row.bradley_terry));
    expect(styled.charts.find((chart) => chart.name === "rating-intervals")!.svg).toContain("Style-controlled Bradley-Terry rating");

    const bad = await arena.call("GET", "/api/arena/leaderboard?style_control=maybe");
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toContain("'style_control' must be 1, 0, true or false");
  });

  it("answers an empty arena with an empty board, and style control there needs no battles", async () => {
    const arena = arenaApp();
    const empty = await board(arena, "?style_control=1");
    expect(empty).toMatchObject({ votes: 0, rows: [], last_updated: null, charts: [], categories: [], rating_system: "style-controlled bradley-terry" });
    expect((await arena.call("GET", "/api/arena/leaderboard/charts/rating-intervals.svg")).status).toBe(404);
  });
});
