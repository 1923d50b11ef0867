// Point 6 of issue 13: online Elo in tstamp order, the Elo bootstrap beside Bradley-Terry, and the
// arena charts, checked against an independent transliteration of FastChat's elo_analysis.py.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createSeededRandom } from "../../src/eval/ratings/seeded-random.js";
import { directoryPerTest, evalCli } from "./eval-cli.js";
import { fastChatPairJudgment } from "./fastchat-rows.js";

const directory = directoryPerTest();


type Row = { model_a: string; model_b: string; winner: string; tstamp?: number };

// ---- FastChat's functions, transliterated line by line (the reference, not our code) ----

/** fastchat/serve/monitor/elo_analysis.py compute_elo. */
function computeElo(battles: Row[], K = 4, SCALE = 400, BASE = 10, INIT_RATING = 1000): Record<string, number> {
  const rating: Record<string, number> = {};
  const get = (m: string) => (m in rating ? rating[m] : INIT_RATING);
  for (const { model_a, model_b, winner } of battles) {
    const ra = get(model_a);
    const rb = get(model_b);
    const ea = 1 / (1 + BASE ** ((rb - ra) / SCALE));
    const eb = 1 / (1 + BASE ** ((ra - rb) / SCALE));
    let sa: number;
    if (winner === "model_a") sa = 1;
    else if (winner === "model_b") sa = 0;
    else if (winner === "tie" || winner === "tie (bothbad)") sa = 0.5;
    else throw new Error(`unexpected vote ${winner}`);
    rating[model_a] = ra + K * (sa - ea);
    rating[model_b] = rb + K * (1 - sa - eb);
  }
  return rating;
}

/** battles.sort_values(ascending=True, by=["tstamp"]). */
const sortByTstamp = (battles: Row[]) => [...battles].sort((a, b) => a.tstamp! - b.tstamp!);

/** get_bootstrap_result: `battles.sample(frac=1.0, replace=True)` per round, drawing with `draw`. */
function getBootstrapResult(battles: Row[], numRound: number, draw: (n: number) => number): Array<Record<string, number>> {
  const rows: Array<Record<string, number>> = [];
  for (let i = 0; i < numRound; i++) {
    const sample = Array.from({ length: battles.length }, () => battles[draw(battles.length)]);
    rows.push(computeElo(sample));
  }
  return rows;
}

/** DataFrame.quantile (linear interpolation), skipping NaN (a model absent from a round). */
function pandasQuantile(rows: Array<Record<string, number>>, model: string, q: number): number {
  const values = rows.map((r) => r[model]).filter((v) => v !== undefined).sort((a, b) => a - b);
  const position = (values.length - 1) * q;
  const lo = Math.floor(position);
  const hi = Math.ceil(position);
  return values[lo] + (values[hi] - values[lo]) * (position - lo);
}

/** compute_pairwise_win_fraction over battles_no_ties, via its three pivot tables. */
function computePairwiseWinFraction(battles: Row[], modelOrder: string[]): Array<Array<number | null>> {
  const noTies = battles.filter((b) => !b.winner.includes("tie"));
  const pivot = (rows: Row[]) => {
    const table = new Map<string, number>();
    for (const r of rows) table.set(`${r.model_a}|${r.model_b}`, (table.get(`${r.model_a}|${r.model_b}`) ?? 0) + 1);
    return (a: string, b: string) => table.get(`${a}|${b}`) ?? 0;
  };
  const aWin = pivot(noTies.filter((b) => b.winner === "model_a"));
  const bWin = pivot(noTies.filter((b) => b.winner === "model_b"));
  const num = pivot(noTies);
  return modelOrder.map((a) =>
    modelOrder.map((b) => {
      const total = num(a, b) + num(b, a);
      return total === 0 ? null : (aWin(a, b) + bWin(b, a)) / total;
    }),
  );
}

/** visualize_battle_count: ptbl + ptbl.T over battles_no_ties. */
function battleCountTable(battles: Row[], modelOrder: string[]): number[][] {
  const noTies = battles.filter((b) => !b.winner.includes("tie"));
  return modelOrder.map((a) => modelOrder.map((b) => noTies.filter((r) => (r.model_a === a && r.model_b === b) || (r.model_a === b && r.model_b === a)).length));
}

// ---- a battle file: four models, ties of both kinds, timestamps not in file order ----

function arenaBattles(): Row[] {
  const strength: Record<string, number> = { vicuna: 0.75, koala: 0.55, alpaca: 0.45, llama: 0.25 };
  const models = Object.keys(strength);
  const random = createSeededRandom(2024);
  const rows: Row[] = [];
  for (let i = 0; i < 60; i++) {
    const a = models[Math.floor(random() * 4)];
    let b = models[Math.floor(random() * 4)];
    if (a === b) b = models[(models.indexOf(a) + 1) % 4];
    const u = random();
    const pa = strength[a] / (strength[a] + strength[b]);
    const winner = u < 0.12 ? "tie" : u < 0.18 ? "tie (bothbad)" : random() < pa ? "model_a" : "model_b";
    // Distinct timestamps, scrambled relative to the file order.
    rows.push({ model_a: a, model_b: b, winner, tstamp: 1_700_000_000 + ((i * 37) % 60) * 11.5 });
  }
  return rows;
}

describe("online Elo as FastChat's compute_elo", () => {
  it("replays the battles in tstamp order (hand-computed on two battles)", async () => {
    const path = join(directory.path, "two.jsonl");
    // File order: a beats b (later), then b beats c (earlier).
    writeFileSync(path, [{ model_a: "a", model_b: "b", winner: "model_a", tstamp: 20 }, { model_a: "b", model_b: "c", winner: "model_a", tstamp: 10 }].map((r) => JSON.stringify(r)).join("\n"));
    const result = await evalCli(["ratings", "--battles", path, "--rounds", "0", "--output-format", "json"]);
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout);
    const elo = Object.fromEntries(parsed.results.rows.map((r: { model: string; onlineElo: number }) => [r.model, r.onlineElo]));
    // b beats c at even ratings: b 1002, c 998. Then a (1000) beats b (1002): E_a = 1/(1+10^(2/400)).
    const expectedA = 1 / (1 + 10 ** (2 / 400));
    expect(elo.c).toBeCloseTo(998, 10);
    expect(elo.a).toBeCloseTo(1000 + 4 * (1 - expectedA), 10);
    expect(elo.b).toBeCloseTo(1002 - 4 * (1 - expectedA), 10);
    expect(elo.a).toBeCloseTo(1002.0115, 4);
    expect(parsed.notes.join("\n")).toContain("in tstamp order (as FastChat)");
  });

  it("keeps the file order when there is no tstamp, and warns when only some battles have one", async () => {
    const path = join(directory.path, "mixed.jsonl");
    writeFileSync(path, [{ model_a: "a", model_b: "b", winner: "model_a" }, { model_a: "b", model_b: "c", winner: "model_a", tstamp: 10 }].map((r) => JSON.stringify(r)).join("\n"));
    const parsed = JSON.parse((await evalCli(["ratings", "--battles", path, "--rounds", "0", "--output-format", "json"])).stdout);
    expect(parsed.warnings.join("\n")).toMatch(/1 of 2 battles have no tstamp/);
    const elo = Object.fromEntries(parsed.results.rows.map((r: { model: string; onlineElo: number }) => [r.model, r.onlineElo]));
    expect(elo.c).toBeCloseTo(998, 10); // the timed battle first
    writeFileSync(path, [{ model_a: "a", model_b: "b", winner: "model_a" }, { model_a: "b", model_b: "c", winner: "model_a" }].map((r) => JSON.stringify(r)).join("\n"));
    const untimed = JSON.parse((await evalCli(["ratings", "--battles", path, "--rounds", "0", "--output-format", "json"])).stdout);
    expect(untimed.notes.join("\n")).toContain("in file order");
    expect(Object.fromEntries(untimed.results.rows.map((r: { model: string; onlineElo: number }) => [r.model, r.onlineElo])).a).toBeCloseTo(1002, 10);
  });
});

describe("battles from a FastChat pairwise judgment file", () => {
  it("carry the rows' tstamp, so online Elo replays them in time order", async () => {
    const judgment = (model_1: string, model_2: string, tstamp: number) =>
      fastChatPairJudgment({ question_id: 81, model_1, model_2, g1_winner: "model_1", g2_winner: "model_1", tstamp });
    const path = join(directory.path, "gpt-4_pair.jsonl");
    writeFileSync(path, [judgment("a", "b", 20), judgment("b", "c", 10)].map((r) => JSON.stringify(r)).join("\n"));
    const parsed = JSON.parse((await evalCli(["ratings", "--battles", path, "--rounds", "0", "--output-format", "json"])).stdout);
    const elo = Object.fromEntries(parsed.results.rows.map((r: { model: string; onlineElo: number }) => [r.model, r.onlineElo]));
    expect(elo.c).toBeCloseTo(998, 10);
    expect(elo.a).toBeCloseTo(1000 + 4 * (1 - 1 / (1 + 10 ** (2 / 400))), 10);
  });
});

describe("Elo bootstrap and arena charts against the FastChat reference", () => {
  it("reports online Elo, the bootstrap median and interval beside Bradley-Terry, and draws the charts", async () => {
    const battles = arenaBattles();
    const path = join(directory.path, "battles.jsonl");
    writeFileSync(path, battles.map((r) => JSON.stringify(r)).join("\n"));
    const charts = join(directory.path, "charts");
    const rounds = 200;
    const result = await evalCli(["ratings", "--battles", path, "--rounds", String(rounds), "--seed", "7", "--output-format", "json", "--charts", charts]);
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout);
    type Out = { model: string; bradleyTerry: number; onlineElo: number; interval: { lower: number; upper: number }; eloBootstrap: { lower: number; median: number; upper: number; rounds: number } };
    const rows: Out[] = parsed.results.rows;

    const sorted = sortByTstamp(battles);
    const online = computeElo(sorted);
    const random = createSeededRandom(7);
    const bootstrap = getBootstrapResult(sorted, rounds, (n) => Math.floor(random() * n));
    for (const row of rows) {
      expect(row.onlineElo).toBeCloseTo(online[row.model], 9);
      expect(row.eloBootstrap.median).toBeCloseTo(pandasQuantile(bootstrap, row.model, 0.5), 9);
      expect(row.eloBootstrap.lower).toBeCloseTo(pandasQuantile(bootstrap, row.model, 0.025), 9);
      expect(row.eloBootstrap.upper).toBeCloseTo(pandasQuantile(bootstrap, row.model, 0.975), 9);
      expect(row.eloBootstrap.rounds).toBe(rounds);
    }
    // File order would give different online ratings: the order really is tstamp's.
    expect(Math.abs(computeElo(battles).vicuna - online.vicuna)).toBeGreaterThan(0.01);

    const markdown = (await evalCli(["ratings", "--battles", path, "--rounds", "20", "--output-format", "markdown"])).stdout;
    expect(markdown).toContain("| rank | model | Bradley-Terry | 95% interval | online Elo | Elo bootstrap median | 95% interval |");

    const order = rows.map((r) => r.model);
    for (const name of ["rating-intervals", "elo-bootstrap-intervals", "win-fraction-heatmap", "battle-count-heatmap"]) {
      expect(existsSync(join(charts, `${name}.svg`))).toBe(true);
      expect(readFileSync(join(charts, `${name}.png`)).subarray(1, 4).toString("latin1")).toBe("PNG");
    }
    // Interval plot: models left to right by rating, each with its rating and interval.
    const intervals = readFileSync(join(charts, "rating-intervals.svg"), "utf8");
    const titles = [...intervals.matchAll(/<title>([^<]+): ([\d.]+) \(95% interval ([\d.]+) – ([\d.]+)\)<\/title>/g)];
    expect(titles.map((m) => m[1])).toEqual(order);
    titles.forEach((m, i) => {
      expect(Number(m[2])).toBeCloseTo(rows[i].bradleyTerry, 1);
      expect(Number(m[3])).toBeCloseTo(rows[i].interval.lower, 1);
      expect(Number(m[4])).toBeCloseTo(rows[i].interval.upper, 1);
    });
    const eloTitles = [...readFileSync(join(charts, "elo-bootstrap-intervals.svg"), "utf8").matchAll(/<title>([^<]+): ([\d.]+) \(95% interval/g)];
    const byMedian = [...rows].sort((a, b) => b.eloBootstrap.median - a.eloBootstrap.median);
    expect(eloTitles.map((m) => m[1])).toEqual(byMedian.map((r) => r.model));

    // Heat maps: every cell equals FastChat's pivot-table computation (ties excluded).
    const cells = (file: string) => new Map([...readFileSync(join(charts, file), "utf8").matchAll(/<title>([^<]+) vs ([^<]+): ([\d.]+)<\/title>/g)].map((m) => [`${m[1]}|${m[2]}`, m[3]]));
    const fraction = computePairwiseWinFraction(battles, order);
    const fractionCells = cells("win-fraction-heatmap.svg");
    const counts = battleCountTable(battles, order);
    const countCells = cells("battle-count-heatmap.svg");
    order.forEach((a, i) =>
      order.forEach((b, j) => {
        expect(fractionCells.get(`${a}|${b}`)).toBe(fraction[i][j] === null ? undefined : fraction[i][j]!.toFixed(2));
        expect(countCells.get(`${a}|${b}`)).toBe(String(counts[i][j]));
      }),
    );
    expect(battles.some((b) => b.winner.includes("tie"))).toBe(true);
    expect(counts.flat().reduce((s, v) => s + v, 0)).toBe(2 * battles.filter((b) => !b.winner.includes("tie")).length);
  });
});
