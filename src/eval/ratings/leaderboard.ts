import type { Battle } from "./battles.js";
import { modelsIn } from "./battles.js";
import type { RatingInterval } from "./bootstrap.js";
import { bootstrapBradleyTerry, bootstrapOnlineElo } from "./bootstrap.js";
import type { BradleyTerryOptions } from "./bradley-terry.js";
import { fitBradleyTerry } from "./bradley-terry.js";
import type { EloParameters } from "./online-elo.js";
import { chronologicalOrder, computeOnlineElo } from "./online-elo.js";
import type { StyleControlOptions, StyleCovariate } from "./style-control.js";
import { bootstrapStyleControlled, fitStyleControlledBradleyTerry } from "./style-control.js";
import { InvalidArgumentError } from "../../errors/index.js";
import type { WinRateMatrix } from "./win-rates.js";
import { computeWinRateMatrix } from "./win-rates.js";

export interface LeaderboardOptions {
  elo?: Partial<EloParameters>;
  bradleyTerry?: BradleyTerryOptions;
  /** 0 disables the bootstrap (no intervals, ranks from point ratings only). */
  bootstrapRounds?: number;
  seed?: number;
  /** FastChat's --style-control: rate with the length and markdown covariates fitted jointly (off by default). */
  styleControl?: boolean | StyleControlOptions;
  /** Only the battles of this category (FastChat's per-category leaderboards); undefined: all. */
  category?: string;
}

export interface LeaderboardRow {
  model: string;
  /** 1 = best, by Bradley-Terry rating (style-controlled when the board is). */
  rank: number;
  /**
   * LMSYS-style rank: 1 + number of models whose interval lies entirely above this one's. Models
   * whose intervals overlap share a rank, so the table does not claim a precision it lacks.
   */
  statisticalRank: number;
  /** The Bradley-Terry rating, style-controlled when `Leaderboard.ratingSystem` says so. */
  bradleyTerry: number;
  interval?: RatingInterval;
  /** Online Elo over the battles in tstamp order (FastChat's elo_rating_online). */
  onlineElo: number;
  /** FastChat's Elo bootstrap: median and 95% interval of online Elo over resampled battles. */
  eloBootstrap?: RatingInterval;
  battles: number;
  wins: number;
  ties: number;
  losses: number;
}

export interface Leaderboard {
  rows: LeaderboardRow[];
  winRates: WinRateMatrix;
  battles: number;
  bootstrapRounds: number;
  seed: number;
  /** The order online Elo replayed the battles in, in words. */
  onlineEloOrder: string;
  ratingSystem: "bradley-terry" | "style-controlled bradley-terry";
  /** The style coefficients of the style-controlled fit (standardised covariates), FastChat's coef_final. */
  styleCoefficients?: Record<StyleCovariate, number>;
  /** The category shown (undefined: all battles) and every category the battles carry, sorted. */
  category?: string;
  categories: string[];
  /** The newest battle's tstamp (seconds), FastChat's last_updated_tstamp; undefined when none has one. */
  lastUpdated?: number;
  warnings: string[];
}

/** Every category the battles carry, sorted. */
export function categoriesOf(battles: readonly Battle[]): string[] {
  return [...new Set(battles.flatMap((battle) => (battle.category === undefined ? [] : [battle.category])))].sort();
}

/** Everything the ratings table needs from one battles list: BT with intervals, Elo, ranks, win rates. */
export function buildLeaderboard(allBattles: readonly Battle[], options: LeaderboardOptions = {}): Leaderboard {
  const categories = categoriesOf(allBattles);
  const battles = options.category === undefined ? allBattles : allBattles.filter((battle) => battle.category === options.category);
  if (options.category !== undefined && battles.length === 0) {
    throw new InvalidArgumentError("category", `no battles in category "${options.category}" (categories: ${categories.join(", ") || "none"})`);
  }
  const models = modelsIn(battles);
  const seed = options.seed ?? 0;
  const bootstrapRounds = options.bootstrapRounds ?? 1000;
  const styleOptions = options.styleControl === true ? {} : options.styleControl || undefined;
  const styled = styleOptions
    ? fitStyleControlledBradleyTerry(battles, { ...styleOptions, ...(options.bradleyTerry?.anchor ? { anchor: options.bradleyTerry.anchor } : {}) })
    : undefined;
  const fit = styled ?? fitBradleyTerry(battles, options.bradleyTerry);
  // FastChat sorts the battles by tstamp once and everything works on that order; with one seed both
  // bootstraps then draw the same resamples.
  const order = chronologicalOrder(battles);
  const elo = computeOnlineElo(order.battles, options.elo);
  const intervals =
    bootstrapRounds === 0
      ? undefined
      : styleOptions
        ? bootstrapStyleControlled(order.battles, { rounds: bootstrapRounds, seed, styleControl: { ...styleOptions, ...(options.bradleyTerry?.anchor ? { anchor: options.bradleyTerry.anchor } : {}) } })
        : bootstrapBradleyTerry(order.battles, { rounds: bootstrapRounds, seed, bradleyTerry: options.bradleyTerry });
  const eloIntervals = bootstrapRounds > 0 ? bootstrapOnlineElo(order.battles, { rounds: bootstrapRounds, seed, ...(options.elo ? { elo: options.elo } : {}) }) : undefined;
  const winRates = computeWinRateMatrix(battles, models);

  // Style control leaves out battles without style: a model only in those has no rating and no row.
  const rated = models.filter((model) => fit.ratings.has(model));
  const ordered = [...rated].sort((a, b) => fit.ratings.get(b)! - fit.ratings.get(a)! || a.localeCompare(b));
  const rows = ordered.map((model, position): LeaderboardRow => {
    const i = models.indexOf(model);
    const totals = winRates.cells[i].reduce(
      (sum, cell) => ({ games: sum.games + cell.games, wins: sum.wins + cell.wins, ties: sum.ties + cell.ties, losses: sum.losses + cell.losses }),
      { games: 0, wins: 0, ties: 0, losses: 0 },
    );
    const interval = intervals?.get(model);
    const upper = interval?.upper ?? fit.ratings.get(model)!;
    const clearlyBetter = rated.filter((other) => {
      if (other === model) return false;
      const otherLower = intervals?.get(other)?.lower ?? fit.ratings.get(other)!;
      return otherLower > upper;
    }).length;
    return {
      model,
      rank: position + 1,
      statisticalRank: clearlyBetter + 1,
      bradleyTerry: fit.ratings.get(model)!,
      ...(interval ? { interval } : {}),
      onlineElo: elo.get(model)!,
      ...(eloIntervals?.get(model) ? { eloBootstrap: eloIntervals.get(model)! } : {}),
      battles: totals.games,
      wins: totals.wins,
      ties: totals.ties,
      losses: totals.losses,
    };
  });
  const stamps = battles.flatMap((battle) => (battle.tstamp === undefined ? [] : [battle.tstamp]));
  return {
    rows,
    winRates,
    battles: battles.length,
    bootstrapRounds,
    seed,
    onlineEloOrder: order.description,
    ratingSystem: styled ? "style-controlled bradley-terry" : "bradley-terry",
    ...(styled ? { styleCoefficients: styled.coefficients } : {}),
    ...(options.category !== undefined ? { category: options.category } : {}),
    categories,
    ...(stamps.length > 0 ? { lastUpdated: stamps.reduce((newest, stamp) => Math.max(newest, stamp)) } : {}),
    warnings: [...fit.warnings, ...order.warnings],
  };
}
