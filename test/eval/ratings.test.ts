import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors/index.js";
import {
  type Battle,
  type BattleWinner,
  bootstrapBradleyTerry,
  buildLeaderboard,
  computeOnlineElo,
  computeWinRateMatrix,
  createSeededRandom,
  expectedWinProbability,
  fitBradleyTerry,
  parseBattleRows,
  quantile,
} from "../../src/eval/ratings/index.js";

const battle = (modelA: string, modelB: string, winner: BattleWinner): Battle => ({ modelA, modelB, winner });
const repeat = (count: number, value: Battle) => Array.from({ length: count }, () => value);

/** A fixed set whose reference ratings came from an independent numpy Newton solve of FastChat's duplicated-battle logistic regression. */
const referenceBattles: Battle[] = [
  ...repeat(7, battle("alpaca", "llama", "model_a")),
  ...repeat(3, battle("alpaca", "llama", "model_b")),
  ...repeat(2, battle("alpaca", "llama", "tie")),
  ...repeat(6, battle("vicuna", "alpaca", "model_a")),
  ...repeat(2, battle("vicuna", "alpaca", "model_b")),
  ...repeat(1, battle("vicuna", "alpaca", "tie (bothbad)")),
  ...repeat(5, battle("vicuna", "llama", "model_a")),
  ...repeat(1, battle("llama", "vicuna", "model_a")),
  ...repeat(4, battle("gpt", "vicuna", "model_a")),
  ...repeat(2, battle("gpt", "vicuna", "model_b")),
  ...repeat(3, battle("gpt", "llama", "model_a")),
  ...repeat(1, battle("llama", "gpt", "tie")),
];

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = createSeededRandom(seed);
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

describe("online Elo (FastChat compute_elo)", () => {
  it("matches hand-computed updates with K=4, scale 400, base 10, init 1000", () => {
    const two = computeOnlineElo([battle("A", "B", "model_a"), battle("A", "B", "model_a")]);
    // First battle: both expect 0.5, so ±2. Second: A expects 1/(1+10^(-4/400)) = 0.505756.
    expect(two.get("A")).toBeCloseTo(1003.9769751663554, 10);
    expect(two.get("B")).toBeCloseTo(996.0230248336446, 10);
    const three = computeOnlineElo([battle("A", "B", "model_a"), battle("B", "C", "tie"), battle("C", "A", "model_b")]);
    expect(three.get("A")).toBeCloseTo(1003.9884209309151, 10);
    expect(three.get("B")).toBeCloseTo(998.0115127982992, 10);
    expect(three.get("C")).toBeCloseTo(998.0000662707856, 10);
  });

  it("depends on battle order", () => {
    const forward = computeOnlineElo([battle("A", "B", "model_a"), battle("A", "B", "model_b")]);
    const backward = computeOnlineElo([battle("A", "B", "model_b"), battle("A", "B", "model_a")]);
    expect(forward.get("A")).not.toBeCloseTo(backward.get("A")!, 6);
    const reordered = computeOnlineElo(shuffled(referenceBattles, 7));
    expect(reordered.get("gpt")).not.toBeCloseTo(computeOnlineElo(referenceBattles).get("gpt")!, 6);
  });
});

describe("Bradley-Terry maximum likelihood", () => {
  it("solves two-model cases by hand: odds 3:1 is 400·log10(3) apart around 1000", () => {
    const fit = fitBradleyTerry([...repeat(3, battle("A", "B", "model_a")), battle("A", "B", "model_b")]);
    expect(fit.converged).toBe(true);
    expect(fit.ratings.get("A")).toBeCloseTo(1000 + 95.42425094393249, 8);
    expect(fit.ratings.get("B")).toBeCloseTo(1000 - 95.42425094393249, 8);
  });

  it("counts ties as half wins", () => {
    // A: 1 win + 2 ties = 2 points of 3; odds 2:1.
    const fit = fitBradleyTerry([battle("A", "B", "model_a"), battle("A", "B", "tie"), battle("B", "A", "tie (bothbad)")]);
    expect(fit.ratings.get("A")! - fit.ratings.get("B")!).toBeCloseTo(400 * Math.log10(2), 8);
  });

  it("gives a perfect cycle equal ratings", () => {
    const fit = fitBradleyTerry([battle("A", "B", "model_a"), battle("B", "C", "model_a"), battle("C", "A", "model_a")]);
    for (const model of ["A", "B", "C"]) expect(fit.ratings.get(model)).toBeCloseTo(1000, 8);
  });

  it("matches FastChat's logistic-regression formulation (independent numpy Newton solve)", () => {
    const fit = fitBradleyTerry(referenceBattles);
    expect(fit.ratings.get("alpaca")).toBeCloseTo(922.5973126826685, 6);
    expect(fit.ratings.get("gpt")).toBeCloseTo(1188.9209367114418, 6);
    expect(fit.ratings.get("llama")).toBeCloseTo(807.0541909050853, 6);
    expect(fit.ratings.get("vicuna")).toBeCloseTo(1081.4275597008045, 6);
  });

  it("satisfies the likelihood equations: expected score equals actual score for every model", () => {
    const random = createSeededRandom(42);
    const models = ["m0", "m1", "m2", "m3", "m4"];
    const winners: BattleWinner[] = ["model_a", "model_b", "tie"];
    const battles = Array.from({ length: 300 }, () => {
      const a = Math.floor(random() * 5);
      const b = (a + 1 + Math.floor(random() * 4)) % 5;
      return battle(models[a], models[b], winners[Math.floor(random() * 3)]);
    });
    const fit = fitBradleyTerry(battles);
    for (const model of models) {
      let actual = 0;
      let expected = 0;
      for (const b of battles) {
        if (b.modelA !== model && b.modelB !== model) continue;
        const other = b.modelA === model ? b.modelB : b.modelA;
        const score = b.winner === "model_a" ? 1 : b.winner === "model_b" ? 0 : 0.5;
        actual += b.modelA === model ? score : 1 - score;
        expected += expectedWinProbability(fit.ratings.get(model)!, fit.ratings.get(other)!);
      }
      expect(expected).toBeCloseTo(actual, 6);
    }
    const meanRating = models.reduce((sum, model) => sum + fit.ratings.get(model)!, 0) / models.length;
    expect(meanRating).toBeCloseTo(1000, 8);
  });

  it("does not depend on battle order", () => {
    const original = fitBradleyTerry(referenceBattles);
    for (const seed of [1, 2, 3]) {
      const reordered = fitBradleyTerry(shuffled(referenceBattles, seed));
      for (const [model, rating] of original.ratings) expect(reordered.ratings.get(model)).toBeCloseTo(rating, 8);
    }
  });

  it("anchors a chosen model without changing differences", () => {
    const fit = fitBradleyTerry(referenceBattles, { anchor: { model: "vicuna", rating: 1114 } });
    expect(fit.ratings.get("vicuna")).toBeCloseTo(1114, 8);
    expect(fit.ratings.get("gpt")! - fit.ratings.get("llama")!).toBeCloseTo(1188.9209367114418 - 807.0541909050853, 6);
  });

  it("stays finite and warns when a model never scores", () => {
    const fit = fitBradleyTerry([...repeat(4, battle("A", "B", "model_a")), battle("B", "C", "model_a"), battle("C", "B", "model_a")]);
    expect(fit.pseudoTiesPerPair).toBeGreaterThan(0);
    expect(fit.warnings.join(" ")).toMatch(/no finite maximum-likelihood/);
    for (const rating of fit.ratings.values()) expect(Number.isFinite(rating)).toBe(true);
    expect(fit.ratings.get("A")!).toBeGreaterThan(fit.ratings.get("B")! + 500);
  });
});

describe("bootstrap, ranks and win rates", () => {
  it("is reproducible from its seed and brackets the point estimate", () => {
    const first = bootstrapBradleyTerry(referenceBattles, { rounds: 100, seed: 5 });
    const again = bootstrapBradleyTerry(referenceBattles, { rounds: 100, seed: 5 });
    const other = bootstrapBradleyTerry(referenceBattles, { rounds: 100, seed: 6 });
    expect(again).toEqual(first);
    expect(other.get("gpt")!.lower).not.toBe(first.get("gpt")!.lower);
    const fit = fitBradleyTerry(referenceBattles);
    for (const [model, interval] of first) {
      expect(interval.lower).toBeLessThan(fit.ratings.get(model)!);
      expect(interval.upper).toBeGreaterThan(fit.ratings.get(model)!);
    }
  });

  it("computes quantiles by linear interpolation", () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10, 0, 20], 0.25)).toBe(5);
  });

  it("builds a win-rate matrix with ties as half", () => {
    const matrix = computeWinRateMatrix(referenceBattles);
    const alpaca = matrix.models.indexOf("alpaca");
    const llama = matrix.models.indexOf("llama");
    expect(matrix.cells[alpaca][llama]).toEqual({ games: 12, wins: 7, ties: 2, losses: 3, winRate: 8 / 12 });
    expect(matrix.cells[llama][alpaca].winRate).toBeCloseTo(4 / 12, 12);
    expect(matrix.cells[alpaca][alpaca].winRate).toBeNull();
  });

  it("ranks by rating and shares statistical ranks where intervals overlap", () => {
    const board = buildLeaderboard(referenceBattles, { bootstrapRounds: 200, seed: 1 });
    expect(board.rows.map((row) => row.model)).toEqual(["gpt", "vicuna", "alpaca", "llama"]);
    expect(board.rows.map((row) => row.rank)).toEqual([1, 2, 3, 4]);
    expect(board.rows[0].statisticalRank).toBe(1);
    expect(board.rows[1].statisticalRank).toBe(1); // gpt vs vicuna: 10 games, intervals overlap
    expect(board.rows[3].statisticalRank).toBeGreaterThan(1);
    const alpacaRow = board.rows.find((row) => row.model === "alpaca")!;
    expect(alpacaRow).toMatchObject({ battles: 21, wins: 9, ties: 3, losses: 9 });
  });
});

describe("battle rows", () => {
  it("rejects malformed rows with the row and field named", () => {
    expect(() => parseBattleRows([{ model_a: "x", model_b: "y", winner: "model_a" }, { model_a: "x", model_b: "y", winner: "draw" }])).toThrow(
      /battles row 2/,
    );
    let caught: unknown;
    try {
      parseBattleRows([{ model_a: "x", winner: "tie" }]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect((caught as InvalidArgumentError).parameter).toBe("battles[0].model_b");
    expect(() => parseBattleRows([{ model_a: "x", model_b: "x", winner: "tie" }])).toThrow(/cannot battle itself/);
  });
});
