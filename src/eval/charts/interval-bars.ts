import { InvalidArgumentError } from "../../errors/index.js";
import { niceTicks } from "./interval-plot.js";
import { chartTitle, escapeXml, round, seriesColors, svgDocument } from "./svg.js";

export interface IntervalBar {
  /** The series (model) this bar belongs to. */
  series: string;
  /** In percent; null draws no bar (no outcomes). */
  value: number | null;
  lower: number | null;
  upper: number | null;
}

export interface IntervalBarGroup {
  label: string;
  bars: IntervalBar[];
}

/**
 * Grouped vertical bars with a 95% interval whisker each, one colour per series: LLaMA-2's safety
 * figures (violation % per model, and per risk category and model). Percent axis from 0 to 100.
 */
export function renderIntervalBars(options: { title: string; groups: IntervalBarGroup[]; series: string[]; yLabel: string }): string {
  const { groups, series } = options;
  if (groups.length === 0 || series.length === 0) throw new InvalidArgumentError("groups", "an interval bar chart needs at least one group and one series");
  const barWidth = 28;
  const groupWidth = barWidth * series.length + 30;
  const left = 70;
  const right = 20;
  const top = 50;
  const bottom = 120 + 20 * Math.ceil(series.length / 3);
  const width = Math.max(10 * options.title.length + 40, left + right + groupWidth * groups.length);
  const plotHeight = 320;
  const height = top + plotHeight + bottom;
  const y = (percent: number) => top + plotHeight * (1 - percent / 100);
  const parts: string[] = [chartTitle(width / 2, options.title)];
  for (const tick of niceTicks(0, 100, 5)) {
    parts.push(`<line x1="${left}" y1="${round(y(tick))}" x2="${width - right}" y2="${round(y(tick))}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 6}" y="${round(y(tick))}" text-anchor="end" dominant-baseline="middle" font-size="11" fill="#555">${tick}%</text>`);
  }
  parts.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotHeight}" stroke="#888"/>`);
  parts.push(`<line x1="${left}" y1="${top + plotHeight}" x2="${width - right}" y2="${top + plotHeight}" stroke="#888"/>`);
  parts.push(`<text x="16" y="${top + plotHeight / 2}" transform="rotate(-90 16 ${top + plotHeight / 2})" text-anchor="middle" font-size="12">${escapeXml(options.yLabel)}</text>`);
  groups.forEach((group, g) => {
    const groupLeft = left + 15 + g * groupWidth;
    for (const bar of group.bars) {
      const s = series.indexOf(bar.series);
      const x = groupLeft + s * barWidth;
      const color = seriesColors[s % seriesColors.length];
      if (bar.value === null) {
        parts.push(`<text x="${round(x + barWidth / 2)}" y="${round(y(0) - 6)}" text-anchor="middle" font-size="10" fill="#888">n/a</text>`);
        continue;
      }
      const interval = bar.lower !== null && bar.upper !== null ? ` (95% interval ${bar.lower.toFixed(1)} – ${bar.upper.toFixed(1)})` : "";
      parts.push(
        `<g><title>${escapeXml(`${group.label}, ${bar.series}: ${bar.value.toFixed(1)}%${interval}`)}</title>` +
          `<rect x="${round(x + 2)}" y="${round(y(bar.value))}" width="${barWidth - 4}" height="${round(y(0) - y(bar.value))}" fill="${color}"/>` +
          (bar.lower !== null && bar.upper !== null
            ? `<line x1="${round(x + barWidth / 2)}" y1="${round(y(bar.upper))}" x2="${round(x + barWidth / 2)}" y2="${round(y(bar.lower))}" stroke="#222" stroke-width="1.5"/>` +
              `<line x1="${round(x + barWidth / 2 - 5)}" y1="${round(y(bar.upper))}" x2="${round(x + barWidth / 2 + 5)}" y2="${round(y(bar.upper))}" stroke="#222" stroke-width="1.5"/>` +
              `<line x1="${round(x + barWidth / 2 - 5)}" y1="${round(y(bar.lower))}" x2="${round(x + barWidth / 2 + 5)}" y2="${round(y(bar.lower))}" stroke="#222" stroke-width="1.5"/>`
            : "") +
          `</g>`,
      );
    }
    const labelX = groupLeft + (barWidth * series.length) / 2;
    const labelY = top + plotHeight + 14;
    parts.push(`<text x="${round(labelX)}" y="${labelY}" transform="rotate(-30 ${round(labelX)} ${labelY})" text-anchor="end" font-size="12">${escapeXml(group.label)}</text>`);
  });
  const legendTop = top + plotHeight + 100;
  series.forEach((name, s) => {
    const x = left + (s % 3) * 220;
    const legendY = legendTop + Math.floor(s / 3) * 20;
    parts.push(`<rect x="${x}" y="${legendY}" width="12" height="12" fill="${seriesColors[s % seriesColors.length]}"/>`);
    parts.push(`<text x="${x + 18}" y="${legendY + 10}" font-size="12">${escapeXml(name)}</text>`);
  });
  return svgDocument(width, height, parts);
}
