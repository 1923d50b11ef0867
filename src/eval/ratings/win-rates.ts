import type { Battle } from "./battles.js";
import { modelsIn } from "./battles.js";
import { countPairs } from "./bradley-terry.js";

export interface WinRateCell {
  games: number;
  wins: number;
  ties: number;
  losses: number;
  /** (wins + ties / 2) / games; null when the pair never met. */
  winRate: number | null;
}

/** matrix[row][column]: how the row model fared against the column model. */
export interface WinRateMatrix {
  models: string[];
  cells: WinRateCell[][];
}

export function computeWinRateMatrix(battles: readonly Battle[], models: string[] = modelsIn(battles)): WinRateMatrix {
  const { games, score } = countPairs(battles, models);
  const index = new Map(models.map((model, i) => [model, i]));
  const ties = models.map(() => models.map(() => 0));
  for (const battle of battles) {
    const a = index.get(battle.modelA);
    const b = index.get(battle.modelB);
    if (a === undefined || b === undefined || (battle.winner !== "tie" && battle.winner !== "tie (bothbad)")) continue;
    ties[a][b] += 1;
    ties[b][a] += 1;
  }
  const cells = models.map((_, i) =>
    models.map((__, j) => {
      const wins = score[i][j] - ties[i][j] / 2;
      return {
        games: games[i][j],
        wins,
        ties: ties[i][j],
        losses: games[i][j] - wins - ties[i][j],
        winRate: games[i][j] > 0 ? score[i][j] / games[i][j] : null,
      };
    }),
  );
  return { models, cells };
}
