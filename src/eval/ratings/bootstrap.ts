import type { Battle } from "./battles.js";
import { modelsIn } from "./battles.js";
import type { BradleyTerryOptions } from "./bradley-terry.js";
import { fitBradleyTerry } from "./bradley-terry.js";
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
  const samples = new Map<string, number[]>(modelsIn(battles).map((model) => [model, []]));
  const resample: Battle[] = new Array(battles.length);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < battles.length; i++) resample[i] = battles[Math.floor(random() * battles.length)];
    const fit = fitBradleyTerry(resample, { ...options.bradleyTerry, models: undefined, maxIterations: options.bradleyTerry?.maxIterations ?? 10_000 });
    for (const [model, rating] of fit.ratings) samples.get(model)!.push(rating);
  }
  const tail = (1 - confidence) / 2;
  const intervals = new Map<string, RatingInterval>();
  for (const [model, values] of samples) {
    intervals.set(model, { lower: quantile(values, tail), median: median(values), upper: quantile(values, 1 - tail), rounds: values.length });
  }
  return intervals;
}
