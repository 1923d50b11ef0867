import { renderHeatMap } from "../charts/heat-map.js";
import { renderIntervalPlot } from "../charts/interval-plot.js";
import type { Battle } from "../ratings/battles.js";
import type { RatingInterval } from "../ratings/bootstrap.js";
import type { Leaderboard } from "../ratings/leaderboard.js";
import { battleCounts, pairwiseWinFraction } from "../ratings/win-fraction.js";
import type { ChartFile } from "./report-charts.js";

/** FastChat's arena plots show the best `int(25 * scale)` models (scale 1). */
export const CHART_MODEL_LIMIT = 25;

/**
 * The arena leaderboard's figures from FastChat's elo_analysis: bootstrap confidence intervals
 * (Bradley-Terry, and the online-Elo bootstrap beside it), the pairwise win-fraction heat map and the
 * battle-count heat map, both over the battles without ties, models ordered by rating.
 */
export function ratingsCharts(board: Leaderboard, allBattles: readonly Battle[]): ChartFile[] {
  // The board's own battles: a per-category board draws its category only.
  const battles = board.category === undefined ? allBattles : allBattles.filter((battle) => battle.category === board.category);
  const shown = board.rows.slice(0, CHART_MODEL_LIMIT);
  const order = shown.map((row) => row.model);
  const charts: ChartFile[] = [];
  // A model no resample contained has no interval (NaN); then the plot is left out rather than drawn wrong.
  const drawable = (interval: RatingInterval | undefined) => interval !== undefined && [interval.lower, interval.median, interval.upper].every(Number.isFinite);
  if (shown.every((row) => drawable(row.interval))) {
    charts.push({
      fileName: "rating-intervals.svg",
      svg: renderIntervalPlot({
        title: `${board.ratingSystem === "style-controlled bradley-terry" ? "Style-controlled Bradley-Terry" : "Bradley-Terry"} rating, 95% bootstrap interval (${board.bootstrapRounds} rounds)`,
        points: shown.map((row) => ({ label: row.model, value: row.bradleyTerry, lower: row.interval!.lower, upper: row.interval!.upper })),
      }),
    });
  }
  if (shown.every((row) => drawable(row.eloBootstrap))) {
    const byMedian = [...shown].sort((a, b) => b.eloBootstrap!.median - a.eloBootstrap!.median || a.model.localeCompare(b.model));
    charts.push({
      fileName: "elo-bootstrap-intervals.svg",
      svg: renderIntervalPlot({
        title: `Online Elo, bootstrap median and 95% interval (${board.bootstrapRounds} rounds)`,
        points: byMedian.map((row) => ({ label: row.model, value: row.eloBootstrap!.median, lower: row.eloBootstrap!.lower, upper: row.eloBootstrap!.upper })),
      }),
    });
  }
  const fraction = pairwiseWinFraction(battles, order);
  charts.push({
    fileName: "win-fraction-heatmap.svg",
    svg: renderHeatMap({
      title: "Fraction of model A wins for all non-tied A vs. B battles",
      labels: order,
      values: fraction.values,
      format: (value) => value.toFixed(2),
      range: [0, 1],
      scale: "diverging",
    }),
  });
  const counts = battleCounts(battles, order);
  charts.push({
    fileName: "battle-count-heatmap.svg",
    svg: renderHeatMap({
      title: "Battle count for each combination of models (without ties)",
      labels: order,
      values: counts.values,
      format: (value) => String(value),
      scale: "sequential",
    }),
  });
  return charts;
}
