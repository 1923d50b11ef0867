// Issue 19 point 6 in headless Chromium, at both playground viewports: the leaderboard's interval
// chart (one mark per model), heat maps whose cells equal the route's counts, the category picker,
// the style-control toggle and the statistical-rank explanation. Battles are seeded through the HTTP
// API; the test waits for the page's markers, never for a time.
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ArenaLeaderboardResponse } from "../../src/server/arena/arena-leaderboard.js";
import type { PublicBattleView } from "../../src/server/arena/battle-rules.js";
import { playgroundViewports, saveScreenshot } from "./support/screenshots.js";
import { hasChromium, scriptedBrowser, slow } from "./support/scripted-browser.js";
import type { ScriptedServerModel } from "./support/scripted-playground-server.js";

const browser = scriptedBrowser("camelid-web-leaderboard-");

// Three answer styles, so style control has something to account for.
const models: Record<string, ScriptedServerModel> = {
  plain: { reply: () => "A short plain answer." },
  fancy: { reply: () => "## Answer\n- first point\n- second point\n1. a step\n**bold** and **more bold**, and a much longer text than the others" },
  middle: { reply: () => "# Heading\nSome text with __emphasis__ here." },
};

const plan: Array<{ pool: [string, string]; winner: "a" | "b" | "tie" | "bothbad"; category: string }> = [
  { pool: ["plain", "fancy"], winner: "a", category: "coding" },
  { pool: ["plain", "fancy"], winner: "b", category: "writing" },
  { pool: ["fancy", "middle"], winner: "a", category: "coding" },
  { pool: ["plain", "middle"], winner: "tie", category: "coding" },
  { pool: ["plain", "middle"], winner: "b", category: "writing" },
  { pool: ["fancy", "middle"], winner: "b", category: "writing" },
  { pool: ["plain", "fancy"], winner: "a", category: "coding" },
  { pool: ["fancy", "middle"], winner: "a", category: "writing" },
];

async function call(url: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, { method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response;
}

async function seedVotes(url: string) {
  for (const { pool, winner, category } of plan) {
    const battle = (await (await call(url, "POST", "/api/arena/battles", { message: "Hi", models: pool, category })).json()) as PublicBattleView;
    for (const side of ["a", "b"]) await (await call(url, "POST", `/api/arena/battles/${battle.id}/answers/${side}`, {})).text();
    await call(url, "POST", `/api/arena/battles/${battle.id}/vote`, { winner });
  }
}

const routeBoard = async (url: string, query: string) => (await (await call(url, "GET", `/api/arena/leaderboard?${query}`)).json()) as ArenaLeaderboardResponse;

/** The heat map's cells as drawn: "row|column" → the number written in it. */
const drawnCells = (page: Page, figure: string) =>
  page.locator(`${figure} svg rect title`).evaluateAll((titles) =>
    Object.fromEntries(titles.map((title) => /^(.+) vs (.+): (.+)$/.exec(title.textContent ?? "")!).map((m) => [`${m[1]}|${m[2]}`, Number(m[3])])),
  );

/** The route's matrix in the same shape (empty cells are not drawn). */
const routeCells = (matrix: ArenaLeaderboardResponse["battle_counts"], digits?: number) =>
  Object.fromEntries(
    matrix.models.flatMap((row, i) =>
      matrix.models.flatMap((column, j) => {
        const value = matrix.values[i][j];
        return value === null ? [] : [[`${row}|${column}`, digits === undefined ? value : Number(value.toFixed(digits))]];
      }),
    ),
  );

const tableRatings = (page: Page) =>
  page.locator("#leaderboard-table tbody tr").evaluateAll((rows) => rows.map((row) => [row.getAttribute("data-model"), row.querySelector(".rating")?.textContent]));

describe.skipIf(!hasChromium)("the leaderboard tab in headless Chromium", () => {
  beforeAll(() => browser.launch(), 60_000);
  afterEach(() => browser.cleanUp());
  afterAll(() => browser.close());

  for (const viewport of playgroundViewports) {
    it(`draws the interval chart and heat maps, filters by category and toggles style control (${viewport.name})`, async () => {
      const { server, page, pageErrors } = await browser.open(models, "leaderboard", { width: viewport.width, height: viewport.height });
      await seedVotes(server.url);
      await page.locator("#leaderboard-refresh").click();
      await expect.poll(() => page.locator("#leaderboard-table tbody tr").count(), slow).toBe(3);
      await page.locator('#view-leaderboard[data-state="ready"]').waitFor(slow);

      const all = await routeBoard(server.url, "category=all&style_control=0");
      // One mark (point with its whisker) per model in the interval chart, a text alternative naming each.
      expect(await page.locator("#chart-rating-intervals svg circle").count()).toBe(all.rows.length);
      const label = (await page.locator("#chart-rating-intervals svg").getAttribute("aria-label")) ?? "";
      for (const row of all.rows) expect(label).toContain(row.model);
      expect(await page.locator("#chart-rating-intervals svg").getAttribute("role")).toBe("img");
      // Heat map cells equal the route's counts and fractions.
      expect(await drawnCells(page, "#chart-battle-count")).toEqual(routeCells(all.battle_counts));
      expect(await drawnCells(page, "#chart-win-fraction")).toEqual(routeCells(all.win_fraction, 2));
      expect(await page.locator("#chart-battle-count-table tbody td").count()).toBe(all.rows.length ** 2);
      // The rank explanation, tied to the table for screen readers; the last-updated time.
      expect(await page.locator("#rank-explanation").textContent()).toContain("lower bound exceeds its upper bound");
      expect(await page.locator("#leaderboard-table table").getAttribute("aria-describedby")).toBe("rank-explanation");
      expect(await page.locator("#leaderboard-updated time").getAttribute("datetime")).toBe(all.last_updated_iso);
      await saveScreenshot(page, "leaderboard");

      // The category picker lists the battles' categories and filters the board.
      expect(await page.locator("#leaderboard-category option").allTextContents()).toEqual(["all", "coding", "writing"]);
      await page.locator("#leaderboard-category").selectOption("writing");
      await page.locator("#leaderboard-summary", { hasText: 'category "writing"' }).waitFor(slow);
      const writing = await routeBoard(server.url, "category=writing&style_control=0");
      expect(writing.votes).toBe(plan.filter((battle) => battle.category === "writing").length);
      expect(await drawnCells(page, "#chart-battle-count")).toEqual(routeCells(writing.battle_counts));
      const plainRatings = await tableRatings(page);
      expect(plainRatings).toEqual(writing.rows.map((row) => [row.model, row.bradley_terry.toFixed(0)]));

      // Style control changes the table to FastChat's style-controlled ratings and shows the coefficients.
      await page.locator("#leaderboard-style-control").check();
      await page.locator("#leaderboard-table caption", { hasText: "Style-controlled Bradley-Terry" }).waitFor(slow);
      await page.locator('#view-leaderboard[data-state="ready"]').waitFor(slow);
      const styled = await routeBoard(server.url, "category=writing&style_control=1");
      const styledRatings = await tableRatings(page);
      expect(styledRatings).toEqual(styled.rows.map((row) => [row.model, row.bradley_terry.toFixed(0)]));
      expect(styledRatings).not.toEqual(plainRatings);
      expect(await page.locator("#style-coefficients tbody tr").count()).toBe(4);
      await saveScreenshot(page, "leaderboard-style-control");
      expect(pageErrors).toEqual([]);
    }, 120_000);
  }
});
