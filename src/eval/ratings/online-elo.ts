import type { Battle } from "./battles.js";
import { scoreForModelA } from "./battles.js";

export interface EloParameters {
  /** Step size per battle (FastChat: 4). */
  k: number;
  /** Rating difference that multiplies the odds by `base` (400). */
  scale: number;
  base: number;
  /** Rating every model starts from (1000). */
  initialRating: number;
}

export const defaultEloParameters: EloParameters = { k: 4, scale: 400, base: 10, initialRating: 1000 };

/**
 * Online Elo exactly as FastChat's `compute_elo`: battles are applied in order, both expectations
 * computed from the ratings before the update. Order matters by construction; that is why the
 * Bradley-Terry fit exists beside it.
 */
export function computeOnlineElo(battles: readonly Battle[], parameters: Partial<EloParameters> = {}): Map<string, number> {
  const { k, scale, base, initialRating } = { ...defaultEloParameters, ...parameters };
  const ratings = new Map<string, number>();
  const ratingOf = (model: string) => ratings.get(model) ?? initialRating;
  for (const battle of battles) {
    const ratingA = ratingOf(battle.modelA);
    const ratingB = ratingOf(battle.modelB);
    const expectedA = 1 / (1 + base ** ((ratingB - ratingA) / scale));
    const expectedB = 1 / (1 + base ** ((ratingA - ratingB) / scale));
    const scoreA = scoreForModelA(battle.winner);
    ratings.set(battle.modelA, ratingA + k * (scoreA - expectedA));
    ratings.set(battle.modelB, ratingB + k * (1 - scoreA - expectedB));
  }
  return ratings;
}

export interface BattleOrder {
  battles: Battle[];
  /** In words, for the report: which order online Elo replayed the battles in. */
  description: string;
  warnings: string[];
}

/**
 * The order FastChat's elo_analysis replays battles in: sorted by `tstamp` (ascending, rows without
 * one last, as pandas puts NaN), or the file's order when no battle has a timestamp. Equal
 * timestamps keep their file order (a stable sort; pandas' default quicksort does not promise one).
 */
export function chronologicalOrder(battles: readonly Battle[]): BattleOrder {
  const stamped = battles.filter((battle) => battle.tstamp !== undefined).length;
  if (stamped === 0) return { battles: [...battles], description: "in file order (the battles carry no tstamp)", warnings: [] };
  const sorted = [...battles].sort((a, b) => (a.tstamp ?? Number.POSITIVE_INFINITY) - (b.tstamp ?? Number.POSITIVE_INFINITY) || 0);
  const warnings =
    stamped < battles.length ? [`${battles.length - stamped} of ${battles.length} battles have no tstamp; online Elo replays them after the timed ones, in file order`] : [];
  return { battles: sorted, description: "in tstamp order (as FastChat)", warnings };
}
