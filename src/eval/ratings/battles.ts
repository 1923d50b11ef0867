import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";

/** The outcome of one battle, from model A's side. "tie (bothbad)" is the arena's vote that both failed. */
export type BattleWinner = "model_a" | "model_b" | "tie" | "tie (bothbad)";

/** One comparison between two models: an arena vote or a (position-consistent) pairwise judgment. */
export interface Battle {
  modelA: string;
  modelB: string;
  winner: BattleWinner;
  /** When the vote was cast (arena logs, judgment rows): online Elo replays battles in this order. */
  tstamp?: number;
}

/** A battles row as FastChat's arena logs and our playground write it (snake_case on disk). */
export const battleRowSchema = z.object({
  model_a: z.string().min(1),
  model_b: z.string().min(1),
  winner: z.enum(["model_a", "model_b", "tie", "tie (bothbad)"]),
  tstamp: z.number().finite().optional(),
});

/** Score of model A in a battle: 1 win, 0 loss, 0.5 for either kind of tie. */
export function scoreForModelA(winner: BattleWinner): number {
  if (winner === "model_a") return 1;
  if (winner === "model_b") return 0;
  return 0.5;
}

/** Validates raw rows (already JSON-parsed); the error names the row and the field that is wrong. */
export function parseBattleRows(rows: unknown[], source = "battles"): Battle[] {
  return rows.map((row, index) => {
    const parsed = battleRowSchema.safeParse(row);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InvalidArgumentError(
        `${source}[${index}]${issue.path.length ? `.${issue.path.join(".")}` : ""}`,
        `${source} row ${index + 1}: ${issue.message}`,
      );
    }
    if (parsed.data.model_a === parsed.data.model_b) {
      throw new InvalidArgumentError(`${source}[${index}]`, `${source} row ${index + 1}: a model cannot battle itself ("${parsed.data.model_a}")`);
    }
    const { model_a: modelA, model_b: modelB, winner, tstamp } = parsed.data;
    return { modelA, modelB, winner, ...(tstamp !== undefined ? { tstamp } : {}) };
  });
}

/** Every model that appears in the battles, sorted by name so results never depend on row order. */
export function modelsIn(battles: readonly Battle[]): string[] {
  const names = new Set<string>();
  for (const battle of battles) {
    names.add(battle.modelA);
    names.add(battle.modelB);
  }
  return [...names].sort();
}
