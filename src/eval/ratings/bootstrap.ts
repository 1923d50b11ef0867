import type { Battle } from "./battles.js";
import { modelsIn, scoreForModelA } from "./battles.js";
import type { BradleyTerryOptions, PairCounts } from "./bradley-terry.js";
import { fitBradleyTerryCounts } from "./bradley-terry.js";
import type { EloParameters } from "./online-elo.js";
import { computeOnlineElo } from "./online-elo.js";
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
  return intervalsOf(samples, confidence);
}

/** Median and two-sided quantiles of each model's ratings over the rounds it appeared in. */
export function intervalsOf(samples: Map<string, number[]>, confidence: number): Map<string, RatingInterval> {
  const tail = (1 - confidence) / 2;
  const intervals = new Map<string, RatingInterval>();
  for (const [model, values] of samples) {
    intervals.set(model, { lower: quantile(values, tail), median: median(values), upper: quantile(values, 1 - tail), rounds: values.length });
  }
  return intervals;
}

export interface EloBootstrapOptions {
  rounds?: number;
  seed?: number;
  confidence?: number;
  elo?: Partial<EloParameters>;
}

/**
 * FastChat's `get_bootstrap_result(battles, compute_elo, num_round)`: each round draws
 * `len(battles)` battles with replacement (`battles.sample(frac=1.0, replace=True)`), replays them
 * through online Elo in the order drawn, and the result per model is the median (and quantiles) over
 * the rounds, a model missing from a round being left out of that round as pandas skips NaN. The
 * draws come from the seeded generator, so a seed gives the same figures everywhere.
 */
export function bootstrapOnlineElo(battles: readonly Battle[], options: EloBootstrapOptions = {}): Map<string, RatingInterval> {
  const rounds = options.rounds ?? 1000;
  const random = createSeededRandom(options.seed ?? 0);
  const samples = new Map<string, number[]>(modelsIn(battles).map((model) => [model, []]));
  const resample = new Array<Battle>(battles.length);
  for (let round = 0; round < rounds; round++) {
    for (let draw = 0; draw < battles.length; draw++) resample[draw] = battles[Math.floor(random() * battles.length)];
    for (const [model, rating] of computeOnlineElo(resample, options.elo)) samples.get(model)!.push(rating);
  }
  return intervalsOf(samples, options.confidence ?? 0.95);
}

/**
 * Seeded percentile bootstrap of a proportion (a violation or refusal rate): `rounds` resamples of
 * the outcomes with replacement, the interval read off the quantiles of the resampled rates.
 * Undefined for no outcomes (a rate of nothing has no interval).
 */
export function bootstrapProportion(outcomes: readonly boolean[], options: { rounds?: number; seed?: number; confidence?: number } = {}): { lower: number; upper: number } | undefined {
  if (outcomes.length === 0) return undefined;
  const rounds = options.rounds ?? 1000;
  const tail = (1 - (options.confidence ?? 0.95)) / 2;
  const random = createSeededRandom(options.seed ?? 0);
  const rates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let hits = 0;
    for (let draw = 0; draw < outcomes.length; draw++) if (outcomes[Math.floor(random() * outcomes.length)]) hits++;
    rates.push(hits / outcomes.length);
  }
  const rate = outcomes.filter(Boolean).length / outcomes.length;
  return rounds === 0 ? { lower: rate, upper: rate } : { lower: quantile(rates, tail), upper: quantile(rates, 1 - tail) };
}
