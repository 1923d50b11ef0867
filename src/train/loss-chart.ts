// loss.svg, drawn by the playground's own chart renderer (web/js/chart-svg.js, a pure module that Node
// and the browser both import) from the chart definitions the Train tab uses (web/js/training-charts.js):
// the file and the live charts are the same SVG for the same metrics.
import { chartHeight, chartWidth, svgMarkup } from "../../web/js/chart-svg.js";
import { chartApplies, seriesPoints, trainingChart, trainingCharts } from "../../web/js/training-charts.js";
import type { MetricRecord } from "./metrics-log.js";

export { niceTicks } from "../../web/js/chart-svg.js";

/**
 * The loss curve as a standalone SVG: training loss per step (line), validation loss (dots), axes
 * with round ticks. A DPO run's log (trl's rewards/… per step) adds two charts below: the reward
 * accuracy, and the chosen and rejected rewards with their margin. Non-finite values are left out so
 * that a diverged run still draws what came before.
 */
export function lossChartSvg(records: readonly MetricRecord[]): string {
  const charts = trainingCharts.filter((chart) => chart.inFile && chartApplies(chart, records));
  const height = chartHeight * charts.length;
  return svgMarkup({
    tag: "svg",
    attributes: { xmlns: "http://www.w3.org/2000/svg", width: String(chartWidth), height: String(height), viewBox: `0 0 ${chartWidth} ${height}` },
    children: charts.map((chart, index) => ({
      tag: "g",
      attributes: { transform: `translate(0 ${index * chartHeight})` },
      children: [trainingChart(chart, (series) => seriesPoints(series, records))],
    })),
  });
}
