import type { Battle } from "./battles.js";
import { modelsIn, scoreForModelA } from "./battles.js";
import type { BradleyTerryOptions, PairCounts } from "./bradley-terry.js";
import { fitBradleyTerryCounts } from "./bradley-terry.js";
import { createSeededRandom } from "./seeded-random.js";
import { median, quantile } from "./statistics.js";

export interface BootstrapOptions {
  rounds?: number;
  seed?: number;
  /** Two-sided coverage of the interval (0.95 → the 2.5% and 97.5% quantiles). */
  confidence?: number;
  bradleyTerry?: BradleyTerryOptions;
}

export interface RatingInterval {
  lower: number;
  median: number;
  upper: number;
  /** Rounds in which the model appeared (a resample can miss a model with few battles). */
  rounds: number;
}

/**
 * Seeded bootstrap of the Bradley-Terry ratings, as FastChat's `get_bootstrap_result`: resample the
 * battles with replacement, refit, and read the interval off the quantiles of each model's ratings.
 */
export function bootstrapBradleyTerry(battles: readonly Battle[], options: BootstrapOptions = {}): Map<string, RatingInterval> {
  const rounds = options.rounds ?? 1000;
  const confidence = options.confidence ?? 0.95;
  const random = createSeededRandom(options.seed ?? 0);
  const models = modelsIn(battles);
  const index = new Map(models.map((model, i) => [model, i]));
  // Battles as flat arrays: a resample then only adds numbers into the pair tables.
  const first = Int32Array.from(battles, (b) => index.get(b.modelA)!);
  const second = Int32Array.from(battles, (b) => index.get(b.modelB)!);
  const scoreA = Float64Array.from(battles, (b) => scoreForModelA(b.winner));
  const samples = new Map<string, number[]>(models.map((model) => [model, []]));
  for (let round = 0; round < rounds; round++) {
    const games = models.map(() => new Array<number>(models.length).fill(0));
    const score = models.map(() => new Array<number>(models.length).fill(0));
    for (let draw = 0; draw < battles.length; draw++) {
      const i = Math.floor(random() * battles.length);
      const a = first[i];
      const b = second[i];
      games[a][b] += 1;
      games[b][a] += 1;
      score[a][b] += scoreA[i];
      score[b][a] += 1 - scoreA[i];
    }
    // A model the resample missed has no rating in this round (rather than a made-up one).
    const present = models.map((_, m) => games[m].some((count) => count > 0));
    const kept = models.map((_, m) => m).filter((m) => present[m]);
    const counts: PairCounts = {
      models: kept.map((m) => models[m]),
      games: kept.map((m) => kept.map((n) => games[m][n])),
      score: kept.map((m) => kept.map((n) => score[m][n])),
    };
    const fit = fitBradleyTerryCounts(counts, { ...options.bradleyTerry, maxIterations: options.bradleyTerry?.maxIterations ?? 10_000 });
    for (const [model, rating] of fit.ratings) samples.get(model)!.push(rating);
  }
  const tail = (1 - confidence) / 2;
  const intervals = new Map<string, RatingInterval>();
  for (const [model, values] of samples) {
    intervals.set(model, { lower: quantile(values, tail), median: median(values), upper: quantile(values, 1 - tail), rounds: values.length });
  }
  return intervals;
}
