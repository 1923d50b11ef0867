// Voted battles as data others consume: FastChat-style battle rows (for ratings elsewhere) and
// preference pairs (prompt, chosen, rejected) for DPO-style training.
import type { Battle, StyleCounts } from "../../eval/ratings/index.js";
import { countMarkdownElements, styleOfAnswers } from "../../eval/ratings/index.js";
import type { ImageReference } from "../images/image-store.js";
import type { BattleSide, BattleTurn, VotedBattle } from "./arena-store.js";

/**
 * An exported message. `images` (camelid's extension: FastChat's exports have no image field, their
 * content is the text alone) is on a user message that came with images: their references in the order
 * sent ({sha256, mime_type, size}; GET /api/images/<sha256> serves the bytes), never the bytes.
 */
type Message = { role: "system" | "user" | "assistant"; content: string; images?: ImageReference[] };

/** A turn's images when it has any (absent otherwise, so a text-only export is unchanged). */
const imagesOf = (turn: BattleTurn): { images?: ImageReference[] } => (turn.images && turn.images.length > 0 ? { images: turn.images } : {});

/** One side's conversation as OpenAI messages: the system prompt, then every turn (with its images) and this side's answer. */
export function conversationOf(battle: { systemPrompt: string | null; turns: readonly BattleTurn[] }, side: BattleSide): Message[] {
  const messages: Message[] = battle.systemPrompt ? [{ role: "system", content: battle.systemPrompt }] : [];
  for (const turn of battle.turns) messages.push({ role: "user", content: turn.userMessage, ...imagesOf(turn) }, { role: "assistant", content: turn.answers[side].text });
  return messages;
}

const answersOf = (battle: VotedBattle, side: BattleSide) => battle.turns.map((turn) => turn.answers[side].text);

/** A side's completion tokens over all turns; undefined when any turn's count is unknown. */
function tokensOf(battle: VotedBattle, side: BattleSide): number | undefined {
  let total = 0;
  for (const turn of battle.turns) {
    const tokens = turn.answers[side].tokens;
    if (tokens === null || tokens === undefined) return undefined;
    total += tokens;
  }
  return total;
}

function styleOf(battle: VotedBattle, side: BattleSide): StyleCounts | undefined {
  const tokens = tokensOf(battle, side);
  return tokens === undefined ? undefined : styleOfAnswers(tokens, answersOf(battle, side));
}

/** The ratings input: position A/B, the winner, the vote time, the category and both sides' style, in vote order. */
export function toRatingBattles(battles: readonly VotedBattle[]): Battle[] {
  return battles.map((battle) => {
    const a = styleOf(battle, "a");
    const b = styleOf(battle, "b");
    return {
      modelA: battle.models.a,
      modelB: battle.models.b,
      winner: battle.winner,
      tstamp: battle.votedAt / 1000,
      ...(battle.category !== null ? { category: battle.category } : {}),
      ...(a && b ? { style: { a, b } } : {}),
    };
  });
}

/**
 * FastChat's conv_metadata for style control: the model-reported completion tokens per side (where
 * every turn's count is known) and add_markdown_info.py's header, list and bold counts.
 */
function convMetadataOf(battle: VotedBattle) {
  const side = (key: BattleSide) => {
    const markdown = countMarkdownElements(answersOf(battle, key));
    const tokens = tokensOf(battle, key);
    return {
      ...(tokens !== undefined ? { [`sum_assistant_${key}_tokens`]: tokens } : {}),
      [`header_count_${key}`]: markdown.header_count,
      [`list_count_${key}`]: markdown.list_count,
      [`bold_count_${key}`]: markdown.bold_count,
    };
  };
  return { ...side("a"), ...side("b") };
}

/**
 * FastChat's clean_battle_data shape (model_a, model_b, winner, judge, turn, anony, tstamp, category,
 * conv_metadata, conversations), plus `compared_versions`. The conversations are the answers the vote
 * compared: a regenerated side's conversation holds the version on screen at the vote.
 */
export function toBattleRows(battles: readonly VotedBattle[]) {
  return battles.map((battle) => ({
    battle_id: battle.id,
    model_a: battle.models.a,
    model_b: battle.models.b,
    winner: battle.winner,
    judge: battle.client,
    turn: battle.turns.length,
    anony: true,
    tstamp: battle.votedAt / 1000,
    ...(battle.category !== null ? { category: battle.category } : {}),
    conv_metadata: convMetadataOf(battle),
    conversation_a: conversationOf(battle, "a"),
    conversation_b: conversationOf(battle, "b"),
    // Which of each side's answers the vote compared, per turn (0: the first, n: the n-th regeneration).
    compared_versions: battle.compared,
  }));
}

/**
 * One pair per decisive vote (ties say nothing about preference): the last user message is the
 * prompt, the winner's last answer is chosen; earlier turns go in `history` as the winner saw them.
 * A battle with images adds `prompt_images` (the last turn's) and `history_images` (one list per
 * `history` entry, in its order): references, never bytes.
 */
export function toPreferencePairs(battles: readonly VotedBattle[]) {
  const pairs = [];
  for (const battle of battles) {
    if (battle.winner !== "model_a" && battle.winner !== "model_b") continue;
    const chosen: BattleSide = battle.winner === "model_a" ? "a" : "b";
    const rejected: BattleSide = chosen === "a" ? "b" : "a";
    const last = battle.turns[battle.turns.length - 1] as BattleTurn;
    pairs.push({
      prompt: last.userMessage,
      chosen: last.answers[chosen].text,
      rejected: last.answers[rejected].text,
      system: battle.systemPrompt ?? "",
      history: battle.turns.slice(0, -1).map((turn) => [turn.userMessage, turn.answers[chosen].text]),
      chosen_model: battle.models[chosen],
      rejected_model: battle.models[rejected],
      battle_id: battle.id,
      chosen_version: last.answers[chosen].version,
      rejected_version: last.answers[rejected].version,
      ...(battle.turns.some((turn) => (turn.images ?? []).length > 0)
        ? { prompt_images: last.images ?? [], history_images: battle.turns.slice(0, -1).map((turn) => turn.images ?? []) }
        : {}),
    });
  }
  return pairs;
}
