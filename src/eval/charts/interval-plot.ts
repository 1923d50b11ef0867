import { InvalidArgumentError } from "../../errors/index.js";
import { chartTitle, escapeXml, round, svgDocument } from "./svg.js";

export interface IntervalPoint {
  label: string;
  value: number;
  lower: number;
  upper: number;
}

/**
 * FastChat's `visualize_bootstrap_elo_rating`: one point per model at its rating, an error bar from
 * the 2.5% to the 97.5% bootstrap quantile, the rounded rating written beside it, models left to
 * right in the order given (best first).
 */
export function renderIntervalPlot(options: { title: string; points: IntervalPoint[]; yLabel?: string; width?: number; height?: number }): string {
  const { points } = options;
  if (points.length === 0) throw new InvalidArgumentError("points", "an interval plot needs at least one point");
  // Wide enough for the title (about 10 px per character at 16 px bold) and 60 px per model.
  const width = options.width ?? Math.max(10 * options.title.length + 40, 110 + 60 * points.length);
  const height = options.height ?? 520;
  const left = 70;
  const right = 20;
  const top = 50;
  // Room for model names written at 45 degrees under the axis.
  const bottom = 150;
  const low = Math.min(...points.map((p) => Math.min(p.lower, p.value)));
  const high = Math.max(...points.map((p) => Math.max(p.upper, p.value)));
  const pad = Math.max(1, (high - low) * 0.08);
  const [yMin, yMax] = [low - pad, high + pad];
  const plotHeight = height - top - bottom;
  const step = (width - left - right) / points.length;
  const x = (i: number) => left + step * (i + 0.5);
  const y = (value: number) => top + plotHeight * (1 - (value - yMin) / (yMax - yMin));

  const parts: string[] = [chartTitle(width / 2, options.title)];
  for (const tick of niceTicks(yMin, yMax, 6)) {
    parts.push(`<line x1="${left}" y1="${round(y(tick))}" x2="${width - right}" y2="${round(y(tick))}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 6}" y="${round(y(tick))}" text-anchor="end" dominant-baseline="middle" font-size="11" fill="#555">${round(tick)}</text>`);
  }
  parts.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotHeight}" stroke="#888"/>`);
  parts.push(`<line x1="${left}" y1="${top + plotHeight}" x2="${width - right}" y2="${top + plotHeight}" stroke="#888"/>`);
  parts.push(`<text x="16" y="${top + plotHeight / 2}" transform="rotate(-90 16 ${top + plotHeight / 2})" text-anchor="middle" font-size="12">${escapeXml(options.yLabel ?? "Rating")}</text>`);
  points.forEach((point, i) => {
    const cx = round(x(i));
    parts.push(
      `<g><title>${escapeXml(point.label)}: ${point.value.toFixed(1)} (95% interval ${point.lower.toFixed(1)} – ${point.upper.toFixed(1)})</title>` +
        `<line x1="${cx}" y1="${round(y(point.upper))}" x2="${cx}" y2="${round(y(point.lower))}" stroke="#0072B2" stroke-width="1.5"/>` +
        `<line x1="${round(x(i) - 6)}" y1="${round(y(point.upper))}" x2="${round(x(i) + 6)}" y2="${round(y(point.upper))}" stroke="#0072B2" stroke-width="1.5"/>` +
        `<line x1="${round(x(i) - 6)}" y1="${round(y(point.lower))}" x2="${round(x(i) + 6)}" y2="${round(y(point.lower))}" stroke="#0072B2" stroke-width="1.5"/>` +
        `<circle cx="${cx}" cy="${round(y(point.value))}" r="4" fill="#0072B2"/></g>`,
    );
    parts.push(`<text x="${round(x(i) + 9)}" y="${round(y(point.value))}" dominant-baseline="middle" font-size="11">${Math.round(point.value)}</text>`);
    const labelY = top + plotHeight + 14;
    parts.push(`<text x="${cx}" y="${labelY}" transform="rotate(-45 ${cx} ${labelY})" text-anchor="end" font-size="12">${escapeXml(point.label)}</text>`);
  });
  return svgDocument(width, height, parts);
}

/** Round tick values (1, 2 or 5 times a power of ten apart) covering [min, max]. */
export function niceTicks(min: number, max: number, count: number): number[] {
  const raw = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let tick = Math.ceil(min / step) * step; tick <= max + step * 1e-9; tick += step) ticks.push(Math.round(tick / step) * step);
  return ticks;
}
