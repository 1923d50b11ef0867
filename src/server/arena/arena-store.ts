// SQLite persistence of anonymous battles: which models sit at A and B, every turn's answers, and
// the vote. The rules (who may vote, when) live in battle-rules.ts; this file only stores.
import { randomUUID } from "node:crypto";
import type { BattleWinner } from "../../eval/ratings/index.js";
import type { ServerDatabase } from "../store/database.js";

export type BattleSide = "a" | "b";
export type AnswerStatus = "pending" | "done" | "failed";

export interface BattleAnswer {
  text: string;
  status: AnswerStatus;
  finishReason: string | null;
  /** Completion tokens the model reported (null: unknown, e.g. stopped or failed). */
  tokens?: number | null;
}

export interface BattleTurn {
  turn: number;
  userMessage: string;
  answers: Record<BattleSide, BattleAnswer>;
  createdAt: number;
}

export interface BattleVote {
  winner: BattleWinner;
  client: string;
  createdAt: number;
}

/** The sampling settings both sides of a battle share (validated by the routes). */
export interface BattleSettings {
  systemPrompt?: string;
  temperature?: number;
  topP?: number;
  topK?: number;
  maxTokens?: number;
  seed?: number;
  stop?: string[];
}

export interface BattleRecord {
  id: string;
  client: string;
  models: Record<BattleSide, string>;
  settings: BattleSettings;
  revealedBeforeVote: boolean;
  /** What the battle is about, set when it was started (null: none). */
  category: string | null;
  turns: BattleTurn[];
  vote: BattleVote | null;
  createdAt: number;
  updatedAt: number;
}

/** A battle as the sessions list shows it; the routes decide whether its model names may be seen. */
export interface BattleSummary {
  id: string;
  client: string;
  models: Record<BattleSide, string>;
  firstMessage: string;
  turns: number;
  winner: BattleWinner | null;
  revealedBeforeVote: boolean;
  createdAt: number;
  updatedAt: number;
}

/** A voted battle with both conversations, in vote order: the source of ratings and exports. */
export interface VotedBattle {
  id: string;
  models: Record<BattleSide, string>;
  winner: BattleWinner;
  client: string;
  votedAt: number;
  category: string | null;
  systemPrompt: string | null;
  turns: BattleTurn[];
}

interface BattleRow {
  id: string;
  client: string;
  model_a: string;
  model_b: string;
  settings: string;
  revealed_before_vote: number;
  category: string | null;
  created_at: number;
  updated_at: number;
}

interface TurnRow {
  turn: number;
  user_message: string;
  answer_a: string;
  status_a: AnswerStatus;
  finish_a: string | null;
  answer_b: string;
  status_b: AnswerStatus;
  finish_b: string | null;
  tokens_a: number | null;
  tokens_b: number | null;
  created_at: number;
}

interface VoteRow {
  battle_id: string;
  client: string;
  winner: BattleWinner;
  created_at: number;
}

const toTurn = (row: TurnRow): BattleTurn => ({
  turn: row.turn,
  userMessage: row.user_message,
  answers: {
    a: { text: row.answer_a, status: row.status_a, finishReason: row.finish_a, tokens: row.tokens_a },
    b: { text: row.answer_b, status: row.status_b, finishReason: row.finish_b, tokens: row.tokens_b },
  },
  createdAt: row.created_at,
});

/** Start of the UTC day containing `time` (epoch ms): the vote cap's window. */
export function utcDayStart(time: number): number {
  return Math.floor(time / 86_400_000) * 86_400_000;
}

export class ArenaStore {
  constructor(
    private readonly db: ServerDatabase,
    private readonly now: () => number = Date.now,
  ) {}

  createBattle(fields: { client: string; models: Record<BattleSide, string>; settings: BattleSettings; firstMessage: string; category?: string }): BattleRecord {
    const id = randomUUID();
    const time = this.now();
    this.db.transaction(() => {
      this.db
        .prepare(`INSERT INTO arena_battles (id, client, model_a, model_b, settings, category, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(id, fields.client, fields.models.a, fields.models.b, JSON.stringify(fields.settings), fields.category ?? null, time, time);
      this.db.prepare(`INSERT INTO arena_turns (battle_id, turn, user_message, created_at) VALUES (?, 0, ?, ?)`).run(id, fields.firstMessage, time);
    })();
    return this.get(id)!;
  }

  get(id: string): BattleRecord | undefined {
    const row = this.db.prepare(`SELECT * FROM arena_battles WHERE id = ?`).get(id) as BattleRow | undefined;
    if (!row) return undefined;
    const turns = (this.db.prepare(`SELECT * FROM arena_turns WHERE battle_id = ? ORDER BY turn`).all(id) as TurnRow[]).map(toTurn);
    const vote = this.db.prepare(`SELECT * FROM arena_votes WHERE battle_id = ?`).get(id) as VoteRow | undefined;
    return {
      id: row.id,
      client: row.client,
      models: { a: row.model_a, b: row.model_b },
      settings: JSON.parse(row.settings) as BattleSettings,
      revealedBeforeVote: row.revealed_before_vote === 1,
      category: row.category,
      turns,
      vote: vote ? { winner: vote.winner, client: vote.client, createdAt: vote.created_at } : null,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  addTurn(battleId: string, userMessage: string): void {
    const time = this.now();
    this.db.transaction(() => {
      const next = (this.db.prepare(`SELECT COALESCE(MAX(turn) + 1, 0) AS next FROM arena_turns WHERE battle_id = ?`).get(battleId) as { next: number }).next;
      this.db.prepare(`INSERT INTO arena_turns (battle_id, turn, user_message, created_at) VALUES (?, ?, ?, ?)`).run(battleId, next, userMessage, time);
      this.touch(battleId, time);
    })();
  }

  saveAnswer(battleId: string, turn: number, side: BattleSide, answer: BattleAnswer): void {
    // Column names come from the closed BattleSide union, never from input.
    const column = side === "a" ? "a" : "b";
    this.db
      .prepare(`UPDATE arena_turns SET answer_${column} = ?, status_${column} = ?, finish_${column} = ?, tokens_${column} = ? WHERE battle_id = ? AND turn = ?`)
      .run(answer.text, answer.status, answer.finishReason, answer.tokens ?? null, battleId, turn);
    this.touch(battleId, this.now());
  }

  markRevealedBeforeVote(battleId: string): void {
    this.db.prepare(`UPDATE arena_battles SET revealed_before_vote = 1 WHERE id = ?`).run(battleId);
  }

  recordVote(battleId: string, client: string, winner: BattleWinner): void {
    this.db.prepare(`INSERT INTO arena_votes (battle_id, client, winner, created_at) VALUES (?, ?, ?, ?)`).run(battleId, client, winner, this.now());
  }

  /** Votes `client` cast since the start of the current UTC day. */
  votesToday(client: string): number {
    const since = utcDayStart(this.now());
    return (this.db.prepare(`SELECT COUNT(*) AS count FROM arena_votes WHERE client = ? AND created_at >= ?`).get(client, since) as { count: number }).count;
  }

  /** Every voted battle in vote order (online Elo depends on it), with its conversations. */
  votedBattles(): VotedBattle[] {
    const rows = this.db
      .prepare(
        `SELECT b.*, v.winner, v.client AS voter, v.created_at AS voted_at FROM arena_votes v JOIN arena_battles b ON b.id = v.battle_id
         ORDER BY v.created_at, v.rowid`,
      )
      .all() as (BattleRow & { winner: BattleWinner; voter: string; voted_at: number })[];
    const turnsOf = this.db.prepare(`SELECT * FROM arena_turns WHERE battle_id = ? ORDER BY turn`);
    return rows.map((row) => ({
      id: row.id,
      models: { a: row.model_a, b: row.model_b },
      winner: row.winner,
      client: row.voter,
      votedAt: row.voted_at,
      category: row.category,
      systemPrompt: (JSON.parse(row.settings) as BattleSettings).systemPrompt ?? null,
      turns: (turnsOf.all(row.id) as TurnRow[]).map(toTurn),
    }));
  }

  /** The newest first: `client`'s battles, or every battle when `client` is null (an admin). */
  listBattles(client: string | null, limit: number, offset: number): BattleSummary[] {
    const rows = this.db
      .prepare(
        `SELECT b.*, v.winner, t.user_message AS first_message, (SELECT COUNT(*) FROM arena_turns c WHERE c.battle_id = b.id) AS turn_count
         FROM arena_battles b LEFT JOIN arena_votes v ON v.battle_id = b.id LEFT JOIN arena_turns t ON t.battle_id = b.id AND t.turn = 0
         WHERE (@client IS NULL OR b.client = @client) ORDER BY b.updated_at DESC, b.rowid DESC LIMIT @limit OFFSET @offset`,
      )
      .all({ client, limit, offset }) as (BattleRow & { winner: BattleWinner | null; first_message: string | null; turn_count: number })[];
    return rows.map((row) => ({
      id: row.id,
      client: row.client,
      models: { a: row.model_a, b: row.model_b },
      firstMessage: row.first_message ?? "",
      turns: row.turn_count,
      winner: row.winner,
      revealedBeforeVote: row.revealed_before_vote === 1,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    }));
  }

  /** Removes the battle with its turns and its vote (which then no longer counts on the leaderboard). */
  deleteBattle(battleId: string): boolean {
    return this.db.prepare(`DELETE FROM arena_battles WHERE id = ?`).run(battleId).changes > 0;
  }

  private touch(battleId: string, time: number): void {
    this.db.prepare(`UPDATE arena_battles SET updated_at = ? WHERE id = ?`).run(time, battleId);
  }
}
