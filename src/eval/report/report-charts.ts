import { renderRadarChart } from "../charts/radar-chart.js";
import { renderWinRateBars } from "../charts/win-rate-bars.js";
import type { PairwiseResults } from "./pairwise-results.js";
import type { SingleResults } from "./single-results.js";
import type { VicunaResults } from "./vicuna-results.js";

export interface ChartFile {
  fileName: string;
  svg: string;
}

export function singleCharts(results: SingleResults): ChartFile[] {
  if (results.categories.length < 3) return [];
  return [
    {
      fileName: "category-radar.svg",
      svg: renderRadarChart({
        title: "Score per category",
        axes: results.categories,
        series: results.models.map((m) => ({ name: m.model, values: results.categories.map((c) => m.byCategory[c]?.mean ?? null) })),
        maximum: 10,
      }),
    },
  ];
}

export function pairwiseCharts(results: PairwiseResults): ChartFile[] {
  const charts: ChartFile[] = [
    {
      fileName: "win-rate-bars.svg",
      svg: renderWinRateBars({
        title: results.baseline ? `Against ${results.baseline}` : "Win / tie / loss",
        bars: results.models.map((m) => ({ model: m.model, win: m.win, tie: m.tie + m.inconsistent, loss: m.loss })),
      }),
    },
  ];
  if (results.categories.length >= 3) {
    charts.push({
      fileName: "category-radar.svg",
      svg: renderRadarChart({
        title: "Adjusted win rate per category",
        axes: results.categories,
        series: results.models.map((m) => ({ name: m.model, values: results.categories.map((c) => m.byCategory[c]?.adjustedWinRate ?? null) })),
        maximum: 1,
      }),
    });
  }
  return charts;
}

export function vicunaCharts(results: VicunaResults): ChartFile[] {
  const categories = Object.keys(results.byCategory).sort();
  const charts: ChartFile[] = [
    {
      fileName: "win-rate-bars.svg",
      svg: renderWinRateBars({
        title: `${results.model1} vs ${results.model2}`,
        bars: [{ model: results.model1, win: results.overall.win, tie: results.overall.tie, loss: results.overall.loss }],
      }),
    },
  ];
  if (categories.length >= 3) {
    const average = (total: number, scored: number) => (scored > 0 ? total / scored : null);
    charts.push({
      fileName: "category-radar.svg",
      svg: renderRadarChart({
        title: "Mean review score per category",
        axes: categories,
        series: [
          { name: results.model1, values: categories.map((c) => average(results.byCategory[c].total1, results.byCategory[c].scored)) },
          { name: results.model2, values: categories.map((c) => average(results.byCategory[c].total2, results.byCategory[c].scored)) },
        ],
        maximum: 10,
      }),
    });
  }
  return charts;
}
