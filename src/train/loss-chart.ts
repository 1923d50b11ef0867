import type { MetricRecord } from "./metrics-log.js";

const WIDTH = 720, PANEL_HEIGHT = 400;
const MARGIN = { left: 64, right: 24, top: 36, bottom: 48 };

const escapeXml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const fixed = (value: number) => (Math.round(value * 100) / 100).toString();

/** About five round tick values covering [low, high]. */
export function niceTicks(low: number, high: number, count = 5): number[] {
  if (!(high > low)) return [low];
  const raw = (high - low) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= raw) ?? raw;
  const ticks: number[] = [];
  for (let value = Math.ceil(low / step) * step; value <= high + step * 1e-9 && ticks.length < 50; value += step) ticks.push(Number(value.toPrecision(12)));
  return ticks;
}

interface Point {
  step: number;
  value: number;
}

/** One series of a panel: a line (training steps) or dots with a tooltip each (validation runs). */
interface Series {
  label: string;
  color: string;
  points: Point[];
  dots: boolean;
}

/** One chart with its title and y axis, drawn `top` pixels down the SVG; non-finite values are left out. */
function panel(parts: string[], top: number, title: string, yLabel: string, series: Series[], empty: string): void {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right, plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const shown = series.map((s) => ({ ...s, points: s.points.filter((p) => Number.isFinite(p.value)) }));
  const all = shown.flatMap((s) => s.points);
  parts.push(`<text x="${WIDTH / 2}" y="${top + 22}" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`);
  if (all.length === 0) {
    parts.push(`<text x="${WIDTH / 2}" y="${top + PANEL_HEIGHT / 2}" text-anchor="middle">${escapeXml(empty)}</text>`);
    return;
  }
  const steps = all.map((p) => p.step), values = all.map((p) => p.value);
  const minStep = Math.min(...steps), maxStep = Math.max(...steps, minStep + 1);
  let minValue = Math.min(...values), maxValue = Math.max(...values);
  if (maxValue - minValue < 1e-6) [minValue, maxValue] = [minValue - 0.5, maxValue + 0.5];
  const x = (step: number) => MARGIN.left + ((step - minStep) / (maxStep - minStep)) * plotWidth;
  const y = (value: number) => top + MARGIN.top + (1 - (value - minValue) / (maxValue - minValue)) * plotHeight;
  const plotTop = top + MARGIN.top, bottom = plotTop + plotHeight;
  parts.push(`<line x1="${MARGIN.left}" y1="${bottom}" x2="${MARGIN.left + plotWidth}" y2="${bottom}" stroke="#333"/>`);
  parts.push(`<line x1="${MARGIN.left}" y1="${plotTop}" x2="${MARGIN.left}" y2="${bottom}" stroke="#333"/>`);
  for (const tick of niceTicks(minValue, maxValue)) {
    parts.push(`<line x1="${MARGIN.left}" y1="${fixed(y(tick))}" x2="${MARGIN.left + plotWidth}" y2="${fixed(y(tick))}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${fixed(y(tick) + 4)}" text-anchor="end">${tick}</text>`);
  }
  for (const tick of niceTicks(minStep, maxStep).filter(Number.isInteger)) {
    parts.push(`<text x="${fixed(x(tick))}" y="${bottom + 18}" text-anchor="middle">${tick}</text>`);
  }
  parts.push(`<text x="${MARGIN.left + plotWidth / 2}" y="${top + PANEL_HEIGHT - 10}" text-anchor="middle">optimizer step</text>`);
  const middle = plotTop + plotHeight / 2;
  parts.push(`<text x="16" y="${middle}" text-anchor="middle" transform="rotate(-90 16 ${middle})">${escapeXml(yLabel)}</text>`);
  const legendX = MARGIN.left + plotWidth - 150;
  shown.forEach((s, index) => {
    const legendY = plotTop + 8 + index * 18;
    if (s.dots) {
      for (const p of s.points) parts.push(`<circle cx="${fixed(x(p.step))}" cy="${fixed(y(p.value))}" r="3.5" fill="${s.color}"><title>${escapeXml(s.label)} ${p.value.toFixed(4)} at step ${p.step}</title></circle>`);
      parts.push(`<circle cx="${legendX + 10}" cy="${legendY}" r="3.5" fill="${s.color}"/><text x="${legendX + 26}" y="${legendY + 4}">${escapeXml(s.label)}</text>`);
    } else {
      if (s.points.length > 0) parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${s.points.map((p) => `${fixed(x(p.step))},${fixed(y(p.value))}`).join(" ")}"/>`);
      parts.push(`<line x1="${legendX}" y1="${legendY}" x2="${legendX + 20}" y2="${legendY}" stroke="${s.color}" stroke-width="2"/><text x="${legendX + 26}" y="${legendY + 4}">${escapeXml(s.label)}</text>`);
    }
  });
}

const colors = { blue: "#0072B2", vermillion: "#D55E00", green: "#009E73", purple: "#CC79A7" };

/** A figure of the records of one type, as chart points (records without it are left out). */
function pointsOf(records: readonly MetricRecord[], type: MetricRecord["type"], figure: (record: MetricRecord) => number | undefined): Point[] {
  return records.filter((r) => r.type === type && figure(r) !== undefined).map((r) => ({ step: r.step, value: figure(r)! }));
}

/**
 * The loss curve as a standalone SVG: training loss per step (line), validation loss (dots), axes
 * with round ticks. A DPO run's log (trl's rewards/… per step) adds two panels below: the reward
 * accuracy, and the chosen and rejected rewards with their margin. Non-finite values are left out so
 * that a diverged run still draws what came before.
 */
export function lossChartSvg(records: readonly MetricRecord[], title = "Training loss"): string {
  const preference = records.some((r) => r["rewards/accuracies"] !== undefined);
  const height = PANEL_HEIGHT * (preference ? 3 : 1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
  ];
  panel(
    parts,
    0,
    title,
    "loss",
    [
      { label: "train loss", color: colors.blue, points: pointsOf(records, "train", (r) => r.loss), dots: false },
      { label: "validation loss", color: colors.vermillion, points: pointsOf(records, "validation", (r) => r.loss), dots: true },
    ],
    "no finite loss recorded yet",
  );
  if (preference) {
    panel(
      parts,
      PANEL_HEIGHT,
      "DPO reward accuracy",
      "rewards/accuracies",
      [
        { label: "train", color: colors.blue, points: pointsOf(records, "train", (r) => r["rewards/accuracies"]), dots: false },
        { label: "validation", color: colors.vermillion, points: pointsOf(records, "validation", (r) => r["rewards/accuracies"]), dots: true },
      ],
      "no reward accuracy recorded yet",
    );
    panel(
      parts,
      2 * PANEL_HEIGHT,
      "DPO rewards",
      "reward",
      [
        { label: "chosen", color: colors.green, points: pointsOf(records, "train", (r) => r["rewards/chosen"]), dots: false },
        { label: "rejected", color: colors.purple, points: pointsOf(records, "train", (r) => r["rewards/rejected"]), dots: false },
        { label: "margin", color: colors.blue, points: pointsOf(records, "train", (r) => r["rewards/margins"]), dots: false },
      ],
      "no rewards recorded yet",
    );
  }
  parts.push("</svg>");
  return parts.join("\n");
}
