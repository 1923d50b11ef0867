import type { PositionVerdict } from "./pairwise-verdict.js";

/** The outcome of a pair judged in both orders, named by model rather than position. */
export type SwappedPairOutcome = "model_1" | "model_2" | "tie" | "inconsistent" | "error";

/**
 * Combines the two orders: game 1 shows model 1 as A, game 2 shows model 2 as A. The same winner
 * (or tie) in both → that verdict; anything else → "inconsistent", which scores as a tie. If either
 * game has no verdict the pair is an error: excluded and counted, since a missing verdict is not
 * evidence of position bias.
 */
export function combineSwappedVerdicts(game1: PositionVerdict, game2: PositionVerdict): SwappedPairOutcome {
  if (game1 === "error" || game2 === "error") return "error";
  const byModel1 = game1 === "A" ? "model_1" : game1 === "B" ? "model_2" : "tie";
  const byModel2 = game2 === "A" ? "model_2" : game2 === "B" ? "model_1" : "tie";
  return byModel1 === byModel2 ? byModel1 : "inconsistent";
}

/** Score of model 1 for win-rate tables: inconsistent pairs count as ties; errors have no score. */
export function model1Score(outcome: SwappedPairOutcome): number | undefined {
  if (outcome === "model_1") return 1;
  if (outcome === "model_2") return 0;
  if (outcome === "error") return undefined;
  return 0.5;
}
