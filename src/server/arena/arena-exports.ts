// Voted battles as data others consume: FastChat-style battle rows (for ratings elsewhere) and
// preference pairs (prompt, chosen, rejected) for DPO-style training.
import type { Battle } from "../../eval/ratings/index.js";
import type { BattleSide, BattleTurn, VotedBattle } from "./arena-store.js";

type Message = { role: "system" | "user" | "assistant"; content: string };

function conversationOf(battle: VotedBattle, side: BattleSide): Message[] {
  const messages: Message[] = battle.systemPrompt ? [{ role: "system", content: battle.systemPrompt }] : [];
  for (const turn of battle.turns) messages.push({ role: "user", content: turn.userMessage }, { role: "assistant", content: turn.answers[side].text });
  return messages;
}

/** The ratings input: position A/B and the winner, in vote order. */
export function toRatingBattles(battles: readonly VotedBattle[]): Battle[] {
  return battles.map((battle) => ({ modelA: battle.models.a, modelB: battle.models.b, winner: battle.winner }));
}

/**
 * FastChat's clean_battle_data shape (model_a, model_b, winner, judge, turn, anony, tstamp,
 * conversations), plus `compared_versions`. The conversations are the answers the vote compared: a
 * regenerated side's conversation holds the version on screen at the vote.
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
    conversation_a: conversationOf(battle, "a"),
    conversation_b: conversationOf(battle, "b"),
    // Which of each side's answers the vote compared, per turn (0: the first, n: the n-th regeneration).
    compared_versions: battle.compared,
  }));
}

/**
 * One pair per decisive vote (ties say nothing about preference): the last user message is the
 * prompt, the winner's last answer is chosen; earlier turns go in `history` as the winner saw them.
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
    });
  }
  return pairs;
}
