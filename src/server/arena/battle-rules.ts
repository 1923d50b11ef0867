// The anonymous-battle rules, as pure functions over a BattleRecord, so the routes only wire them up
// and tests can check each rule on its own. The server alone decides; the browser is never trusted.
import { InvalidArgumentError, PermissionDeniedError, RateLimitError } from "../../errors/index.js";
import type { BattleWinner } from "../../eval/ratings/index.js";
import type { BattleRecord, BattleSide, BattleSummary, BattleTurn, ShownAnswer } from "./arena-store.js";
import { BattleStateError } from "./arena-errors.js";

/** What the voter clicks, mapped to FastChat's battle outcome from position A's side. */
export const voteChoices = { a: "model_a", b: "model_b", tie: "tie", bothbad: "tie (bothbad)" } as const satisfies Record<string, BattleWinner>;
export type VoteChoice = keyof typeof voteChoices;

/**
 * Two different models drawn uniformly, in a uniformly random order: drawing the ordered pair
 * directly makes the position of each model random too.
 */
export function drawBattleModels(candidates: readonly string[], random: () => number): Record<BattleSide, string> {
  const unique = [...new Set(candidates)];
  if (unique.length < 2) {
    throw new InvalidArgumentError("models", `an anonymous battle needs at least two models; ${unique.length === 0 ? "none are" : `only "${unique[0]}" is`} available`);
  }
  const first = Math.min(unique.length - 1, Math.floor(random() * unique.length));
  let second = Math.min(unique.length - 2, Math.floor(random() * (unique.length - 1)));
  if (second >= first) second += 1;
  return { a: unique[first], b: unique[second] };
}

export function assertOwner(battle: BattleRecord, client: string): void {
  if (battle.client !== client) throw new PermissionDeniedError(`battle "${battle.id}" belongs to another user`);
}

const latestTurn = (battle: BattleRecord): BattleTurn => battle.turns[battle.turns.length - 1];
const turnFinished = (turn: BattleTurn) => turn.answers.a.status === "done" && turn.answers.b.status === "done";

/** A side may (re)generate the latest turn's answer while the battle is open and that answer is not done. */
export function assertCanAnswer(battle: BattleRecord, turn: number, side: BattleSide, streaming: boolean): BattleTurn {
  if (battle.vote) throw new BattleStateError(`battle "${battle.id}" is closed: it has been voted on`);
  const latest = latestTurn(battle);
  if (turn !== latest.turn) throw new BattleStateError(`only the latest turn (${latest.turn}) can be answered, not turn ${turn}`);
  if (streaming) throw new BattleStateError(`answer ${side.toUpperCase()} of turn ${turn} is already streaming`);
  if (latest.answers[side].status === "done") throw new BattleStateError(`answer ${side.toUpperCase()} of turn ${turn} is already finished`);
  return latest;
}

/**
 * A side's latest answer may be sampled again (FastChat's "Regenerate", here per side) while the
 * battle is open and neither the answer is streaming; the earlier answer is kept as a version.
 * The same holds for putting another version back on screen.
 */
export function assertCanRegenerate(battle: BattleRecord, turn: number, side: BattleSide, streaming: boolean): BattleTurn {
  if (battle.vote) throw new BattleStateError(`battle "${battle.id}" is closed: it has been voted on`);
  if (battle.revealedBeforeVote) throw new BattleStateError(`battle "${battle.id}" is closed: its model names were revealed`);
  const latest = latestTurn(battle);
  if (turn !== latest.turn) throw new BattleStateError(`only the latest turn (${latest.turn}) can be regenerated, not turn ${turn}`);
  if (streaming) throw new BattleStateError(`answer ${side.toUpperCase()} of turn ${turn} is still streaming`);
  return latest;
}

/** Another user turn only after both answers to the previous one finished, and never after the vote. */
export function assertCanAddTurn(battle: BattleRecord): void {
  if (battle.vote) throw new BattleStateError(`battle "${battle.id}" is closed: it has been voted on`);
  if (battle.revealedBeforeVote) throw new BattleStateError(`battle "${battle.id}" is closed: its model names were revealed`);
  if (!turnFinished(latestTurn(battle))) throw new BattleStateError("both answers must finish before the next message");
}

/** The vote rules, checked in the order a user would want to hear about them. */
export function assertCanVote(battle: BattleRecord, client: string, votesToday: number, votesPerDay: number, streamingSides: number): void {
  assertOwner(battle, client);
  if (battle.vote) throw new BattleStateError(`battle "${battle.id}" has already been voted on`);
  if (battle.revealedBeforeVote) {
    throw new PermissionDeniedError(`battle "${battle.id}" had its model names revealed before the vote; its vote cannot count`);
  }
  if (streamingSides > 0 || !battle.turns.every(turnFinished)) {
    throw new BattleStateError("voting opens once both answers have finished");
  }
  if (votesToday >= votesPerDay) {
    throw new RateLimitError(`the daily vote limit (${votesPerDay} per user) is reached; votes open again at 00:00 UTC`);
  }
}

/** A battle as the browser sees it (GET /api/arena/battles/:id and the other battle routes). */
export type PublicBattleView = ReturnType<typeof publicBattleView>;
/** One side's answer as the browser sees it: its text and which of the side's answers to the turn it is. */
const answerView = (answer: ShownAnswer) => ({
  text: answer.text,
  status: answer.status,
  finish_reason: answer.finishReason,
  version: answer.version,
  versions: answer.versionCount,
});

/** The model names may be shown once they can no longer influence a vote: after it, or after a reveal that forfeited it. */
const namesVisible = (battle: { revealedBeforeVote: boolean }, voted: boolean) => voted || battle.revealedBeforeVote;

/** A battle in the sessions list: its first message as the title, "anonymous" (null models) until the names may be seen. */
export function publicBattleSummary(battle: BattleSummary) {
  return {
    id: battle.id,
    object: "arena.battle.summary",
    title: battle.firstMessage.trim().split("\n")[0].slice(0, 80) || "Battle",
    turns: battle.turns,
    voted: battle.winner !== null,
    revealed_before_vote: battle.revealedBeforeVote,
    models: namesVisible(battle, battle.winner !== null) ? { a: battle.models.a, b: battle.models.b } : null,
    created_at: battle.createdAt,
    updated_at: battle.updatedAt,
  };
}

/** What the browser may see: the model names only once they can no longer influence a vote. */
export function publicBattleView(battle: BattleRecord, streaming: (side: BattleSide) => boolean) {
  const votable = battle.vote === null && !battle.revealedBeforeVote && battle.turns.every(turnFinished) && !streaming("a") && !streaming("b");
  return {
    id: battle.id,
    object: "arena.battle",
    created_at: battle.createdAt,
    settings: battle.settings,
    turns: battle.turns.map((turn) => ({
      turn: turn.turn,
      user_message: turn.userMessage,
      /** The message's images, by hash (GET /api/images/<sha256> serves them). */
      images: turn.images ?? [],
      answers: {
        a: answerView(turn.answers.a),
        b: answerView(turn.answers.b),
      },
    })),
    can_vote: votable,
    revealed_before_vote: battle.revealedBeforeVote,
    category: battle.category,
    vote: battle.vote ? { winner: battle.vote.winner, created_at: battle.vote.createdAt, compared: battle.vote.compared } : null,
    models: namesVisible(battle, battle.vote !== null) ? { a: battle.models.a, b: battle.models.b } : null,
  };
}
