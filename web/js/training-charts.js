// @ts-check
// The charts of a training run's metrics.jsonl, defined once: which records and figures each series
// draws. The playground's Train tab shows them all as the run goes; `camelid train` writes those marked
// `inFile` into loss.svg. Both draw them with chart-svg.js.
import { chartColors, lineChart } from "./chart-svg.js";

/**
 * @typedef {import("../../src/train/metrics-log.js").MetricRecord} MetricRecord
 * @typedef {import("./chart-svg.js").ChartPoint} ChartPoint
 * @typedef {{ name: string, label: string, color: string, dots?: boolean, type: MetricRecord["type"], figure: (record: MetricRecord) => number | undefined }} MetricSeries
 * @typedef {{ id: string, title: string, yLabel: string, empty: string, inFile: boolean, onlyWith?: keyof MetricRecord, series: MetricSeries[] }} TrainingChart
 */

/** @type {readonly TrainingChart[]} */
export const trainingCharts = [
  {
    id: "train-loss-chart",
    title: "Training loss",
    yLabel: "loss",
    empty: "no finite loss recorded yet",
    inFile: true,
    series: [
      { name: "train", label: "training loss", color: chartColors.blue, type: "train", figure: (record) => record.loss },
      { name: "validation", label: "validation loss", color: chartColors.vermillion, dots: true, type: "validation", figure: (record) => record.loss },
    ],
  },
  {
    id: "train-lr-chart",
    title: "Learning rate",
    yLabel: "learning rate",
    empty: "no learning rate recorded yet",
    inFile: false,
    series: [{ name: "lr", label: "learning rate", color: chartColors.blue, type: "train", figure: (record) => (record.type === "train" ? record.learningRate : undefined) }],
  },
  // a DPO run's per-step metrics, named as trl logs them (charted once the run's log has them)
  {
    id: "train-accuracy-chart",
    title: "DPO reward accuracy",
    yLabel: "rewards/accuracies",
    empty: "no reward accuracy recorded yet",
    inFile: true,
    onlyWith: "rewards/accuracies",
    series: [
      { name: "train", label: "training", color: chartColors.blue, type: "train", figure: (record) => record["rewards/accuracies"] },
      { name: "validation", label: "validation", color: chartColors.vermillion, dots: true, type: "validation", figure: (record) => record["rewards/accuracies"] },
    ],
  },
  {
    id: "train-rewards-chart",
    title: "DPO rewards",
    yLabel: "reward",
    empty: "no rewards recorded yet",
    inFile: true,
    onlyWith: "rewards/accuracies",
    series: [
      { name: "rewards/chosen", label: "chosen", color: chartColors.green, type: "train", figure: (record) => record["rewards/chosen"] },
      { name: "rewards/rejected", label: "rejected", color: chartColors.purple, type: "train", figure: (record) => record["rewards/rejected"] },
      { name: "rewards/margins", label: "margin", color: chartColors.blue, type: "train", figure: (record) => record["rewards/margins"] },
    ],
  },
];

/**
 * Whether the records call for the chart (a DPO chart for a log with trl's rewards).
 * @param {TrainingChart} chart @param {readonly MetricRecord[]} records
 */
export const chartApplies = (chart, records) => chart.onlyWith === undefined || records.some((record) => record[/** @type {keyof MetricRecord} */ (chart.onlyWith)] !== undefined);

/**
 * A series' points among the records (records of another type or without the figure are left out).
 * @param {MetricSeries} series @param {readonly MetricRecord[]} records
 * @returns {ChartPoint[]}
 */
export function seriesPoints(series, records) {
  /** @type {ChartPoint[]} */
  const points = [];
  for (const record of records) {
    const value = record.type === series.type ? series.figure(record) : undefined;
    if (value !== undefined) points.push({ x: record.step, y: value });
  }
  return points;
}

/**
 * The chart drawn from each series' points so far.
 * @param {TrainingChart} chart @param {(series: MetricSeries) => readonly ChartPoint[]} pointsOf
 */
export const trainingChart = (chart, pointsOf) => lineChart({ ...chart, series: chart.series.map((series) => ({ ...series, points: pointsOf(series) })) });
