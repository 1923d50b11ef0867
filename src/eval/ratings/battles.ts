import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import type { BattleStyle, StyleCounts } from "./style-features.js";
import { styleOfAnswers, sumCounts } from "./style-features.js";

/** The outcome of one battle, from model A's side. "tie (bothbad)" is the arena's vote that both failed. */
export type BattleWinner = "model_a" | "model_b" | "tie" | "tie (bothbad)";

/** One comparison between two models: an arena vote or a (position-consistent) pairwise judgment. */
export interface Battle {
  modelA: string;
  modelB: string;
  winner: BattleWinner;
  /** When the vote was cast (arena logs, judgment rows): online Elo replays battles in this order. */
  tstamp?: number;
  /** What the battle was about ("coding", "writing"…), set by whoever started it; leaderboards can be per category. */
  category?: string;
  /** Length and markdown of both sides' answers: the covariates of the style-controlled ratings. */
  style?: BattleStyle;
}

const markdownCount = z.union([z.number().int().min(0), z.record(z.string(), z.number().int().min(0))]);
/** FastChat's conv_metadata: the answers' token counts and (after add_markdown_info.py) their markdown counts. */
const convMetadataSchema = z
  .object({
    sum_assistant_a_tokens: z.number().int().min(0).optional(),
    sum_assistant_b_tokens: z.number().int().min(0).optional(),
    header_count_a: markdownCount.optional(),
    header_count_b: markdownCount.optional(),
    list_count_a: markdownCount.optional(),
    list_count_b: markdownCount.optional(),
    bold_count_a: markdownCount.optional(),
    bold_count_b: markdownCount.optional(),
  })
  .passthrough();
const conversationSchema = z.array(z.object({ role: z.string(), content: z.unknown() }).passthrough());

/** A battles row as FastChat's arena logs and our playground write it (snake_case on disk). */
export const battleRowSchema = z.object({
  model_a: z.string().min(1),
  model_b: z.string().min(1),
  winner: z.enum(["model_a", "model_b", "tie", "tie (bothbad)"]),
  tstamp: z.number().finite().optional(),
  category: z.string().min(1).optional(),
  conv_metadata: convMetadataSchema.optional(),
  conversation_a: conversationSchema.optional(),
  conversation_b: conversationSchema.optional(),
});

type BattleRow = z.infer<typeof battleRowSchema>;

/**
 * One side's style from a row: the token count from conv_metadata, the markdown counts from
 * conv_metadata when add_markdown_info.py put them there, else counted from that side's assistant
 * turns as it would. No token count, no style (length is the main covariate).
 */
function sideStyle(row: BattleRow, side: "a" | "b"): StyleCounts | undefined {
  const meta = row.conv_metadata;
  const tokens = meta?.[`sum_assistant_${side}_tokens`];
  if (tokens === undefined) return undefined;
  const headers = meta?.[`header_count_${side}`];
  const lists = meta?.[`list_count_${side}`];
  const bold = meta?.[`bold_count_${side}`];
  if (headers !== undefined && lists !== undefined && bold !== undefined) return { tokens, headers: sumCounts(headers), lists: sumCounts(lists), bold: sumCounts(bold) };
  const conversation = row[`conversation_${side}`];
  if (!conversation) return undefined;
  const answers = conversation.filter((turn) => turn.role === "assistant" && typeof turn.content === "string").map((turn) => turn.content as string);
  return styleOfAnswers(tokens, answers);
}

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
    const { model_a: modelA, model_b: modelB, winner, tstamp, category } = parsed.data;
    const a = sideStyle(parsed.data, "a");
    const b = sideStyle(parsed.data, "b");
    return {
      modelA,
      modelB,
      winner,
      ...(tstamp !== undefined ? { tstamp } : {}),
      ...(category !== undefined ? { category } : {}),
      ...(a && b ? { style: { a, b } } : {}),
    };
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
