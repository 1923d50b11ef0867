import type { Battle } from "./battles.js";
import { countPairs } from "./bradley-terry.js";

/** matrix[row][column] over `models` (the order given), as FastChat's arena heat maps show them. */
export interface PairMatrix {
  models: string[];
  /** null where the value does not exist (the diagonal of the win fraction, pairs that never met). */
  values: Array<Array<number | null>>;
}

/** FastChat's heat maps are drawn from the battles without ties (`battles_no_ties`). */
export function decisiveBattles(battles: readonly Battle[]): Battle[] {
  return battles.filter((battle) => battle.winner === "model_a" || battle.winner === "model_b");
}

/**
 * FastChat's `compute_pairwise_win_fraction` on the decisive battles: the share of the battles
 * between row and column (in either seat) that the row model won. Ties are left out, not halved
 * (unlike the leaderboard's win-rate table); the diagonal and pairs that never met are empty.
 */
export function pairwiseWinFraction(battles: readonly Battle[], models: readonly string[]): PairMatrix {
  // Without ties a model's score against another is its number of wins.
  const { score: wins, games } = countPairs(decisiveBattles(battles), [...models]);
  return {
    models: [...models],
    values: models.map((_, i) => models.map((__, j) => (i !== j && games[i][j] > 0 ? wins[i][j] / games[i][j] : null))),
  };
}

/** FastChat's `visualize_battle_count`: decisive battles per pair, either seat (`ptbl + ptbl.T`). */
export function battleCounts(battles: readonly Battle[], models: readonly string[]): PairMatrix {
  const { games } = countPairs(decisiveBattles(battles), [...models]);
  return { models: [...models], values: games.map((row) => [...row]) };
}
