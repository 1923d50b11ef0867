// GET /api/arena/leaderboard and its charts: the voted battles rated as FastChat's elo_analysis.py
// rates them (Bradley-Terry with bootstrap intervals, optionally style-controlled, per category),
// with its figures: the interval plot and the battle-count and win-fraction heat maps.
import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import type { Battle, Leaderboard } from "../../eval/ratings/index.js";
import { battleCounts, buildLeaderboard, categoriesOf, pairwiseWinFraction } from "../../eval/ratings/index.js";
import { CHART_MODEL_LIMIT, ratingsCharts } from "../../eval/report/ratings-charts.js";
import { integerQuery } from "../routes/query.js";

/** The query every leaderboard route reads: `?category=coding&style_control=1&bootstrap=200`. */
export interface LeaderboardQuery {
  category?: string;
  styleControl: boolean;
  bootstrapRounds: number;
}

const flagSchema = z.enum(["0", "1", "true", "false"]);

export function parseLeaderboardQuery(query: (name: string) => string | undefined, defaultRounds: number): LeaderboardQuery {
  const bootstrapRounds = integerQuery(query("bootstrap"), "bootstrap", { min: 0, max: 5000, fallback: defaultRounds });
  const rawFlag = query("style_control");
  const flag = rawFlag === undefined ? "0" : flagSchema.safeParse(rawFlag).data;
  if (flag === undefined) throw new InvalidArgumentError("style_control", `'style_control' must be 1, 0, true or false, got ${JSON.stringify(rawFlag)}`);
  const category = query("category");
  // "all" (the picker's default) and an empty value both mean every battle.
  return { bootstrapRounds, styleControl: flag === "1" || flag === "true", ...(category && category !== "all" ? { category } : {}) };
}

/** A pair matrix as the heat maps draw it: rows and columns in `models` order, null where empty. */
export interface PairMatrixView {
  models: string[];
  values: Array<Array<number | null>>;
}

/** The leaderboard route's body (the playground reads it; `rows` best first). */
export interface ArenaLeaderboardResponse {
  object: "arena.leaderboard";
  votes: number;
  bootstrap_rounds: number;
  rating_system: "bradley-terry" | "style-controlled bradley-terry";
  style_control: boolean;
  /** null: all battles. */
  category: string | null;
  categories: string[];
  /** The newest vote, FastChat's last_updated_tstamp (seconds) and as ISO 8601; null when there is none. */
  last_updated: number | null;
  last_updated_iso: string | null;
  rows: Array<{
    model: string;
    rank: number;
    /** 1 + the number of models whose interval's lower bound exceeds this model's upper bound. */
    statistical_rank: number;
    elo: number;
    bradley_terry: number;
    interval: { lower: number; upper: number } | null;
    battles: number;
    wins: number;
    ties: number;
    losses: number;
  }>;
  /** Standardised style coefficients (style control only). */
  style_coefficients: Record<string, number> | null;
  win_rates: { models: string[]; cells: Array<Array<{ games: number; win_rate: number | null }>> };
  /** FastChat's heat maps over the battles without ties, the best 25 models by rating. */
  battle_counts: PairMatrixView;
  win_fraction: PairMatrixView;
  /** The charts as SVG documents: rating-intervals, win-fraction-heatmap, battle-count-heatmap (and elo-bootstrap-intervals). */
  charts: Array<{ name: string; svg: string }>;
  warnings: string[];
}

const emptyMatrix: PairMatrixView = { models: [], values: [] };

/** The board for one query over the voted battles (a typed 400 for an unknown category or no styled battles). */
function leaderboardFor(battles: readonly Battle[], query: LeaderboardQuery): Leaderboard {
  return buildLeaderboard(battles, {
    bootstrapRounds: query.bootstrapRounds,
    seed: 0,
    ...(query.styleControl ? { styleControl: true } : {}),
    ...(query.category !== undefined ? { category: query.category } : {}),
  });
}

/** One chart of the board as an SVG document, for `/api/arena/leaderboard/charts/<name>.svg`. */
export function leaderboardChart(battles: readonly Battle[], query: LeaderboardQuery, name: string): string | undefined {
  if (battles.length === 0) return undefined;
  return ratingsCharts(leaderboardFor(battles, query), battles).find((chart) => chart.fileName === `${name}.svg`)?.svg;
}

export function leaderboardResponse(battles: readonly Battle[], query: LeaderboardQuery): ArenaLeaderboardResponse {
  const base = {
    object: "arena.leaderboard" as const,
    bootstrap_rounds: query.bootstrapRounds,
    style_control: query.styleControl,
    category: query.category ?? null,
    categories: categoriesOf(battles),
  };
  if (battles.length === 0) {
    if (query.category !== undefined) throw new InvalidArgumentError("category", `no battles in category "${query.category}" (categories: none)`);
    return {
      ...base,
      votes: 0,
      rating_system: query.styleControl ? "style-controlled bradley-terry" : "bradley-terry",
      last_updated: null,
      last_updated_iso: null,
      rows: [],
      style_coefficients: null,
      win_rates: { models: [], cells: [] },
      battle_counts: emptyMatrix,
      win_fraction: emptyMatrix,
      charts: [],
      warnings: [],
    };
  }
  const board = leaderboardFor(battles, query);
  const shown = board.category === undefined ? battles : battles.filter((battle) => battle.category === board.category);
  const order = board.rows.slice(0, CHART_MODEL_LIMIT).map((row) => row.model);
  return {
    ...base,
    votes: board.battles,
    rating_system: board.ratingSystem,
    last_updated: board.lastUpdated ?? null,
    last_updated_iso: board.lastUpdated === undefined ? null : new Date(board.lastUpdated * 1000).toISOString(),
    rows: board.rows.map((row) => ({
      model: row.model,
      rank: row.rank,
      statistical_rank: row.statisticalRank,
      elo: row.onlineElo,
      bradley_terry: row.bradleyTerry,
      interval: row.interval ? { lower: row.interval.lower, upper: row.interval.upper } : null,
      battles: row.battles,
      wins: row.wins,
      ties: row.ties,
      losses: row.losses,
    })),
    style_coefficients: board.styleCoefficients ?? null,
    win_rates: {
      models: board.winRates.models,
      cells: board.winRates.cells.map((row) => row.map((cell) => ({ games: cell.games, win_rate: cell.winRate }))),
    },
    battle_counts: battleCounts(shown, order),
    win_fraction: pairwiseWinFraction(shown, order),
    charts: ratingsCharts(board, battles).map((chart) => ({ name: chart.fileName.replace(/\.svg$/, ""), svg: chart.svg })),
    warnings: board.warnings,
  };
}
