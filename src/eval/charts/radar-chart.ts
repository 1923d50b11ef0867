import { InvalidArgumentError } from "../../errors/index.js";
import { chartTitle, escapeXml, round, seriesColors, svgDocument } from "./svg.js";

export interface RadarSeries {
  name: string;
  /** One value per axis; null where the model has no score in that category (drawn at the centre). */
  values: Array<number | null>;
}

export interface RadarChartOptions {
  title: string;
  axes: string[];
  series: RadarSeries[];
  /** Value at the outer ring (10 for MT-bench scores, 1 for win rates). */
  maximum: number;
  minimum?: number;
  size?: number;
}

/** The per-category radar chart of the MT-bench paper, as a self-contained SVG document. */
export function renderRadarChart(options: RadarChartOptions): string {
  const { axes, series, maximum } = options;
  const minimum = options.minimum ?? 0;
  if (axes.length < 3) throw new InvalidArgumentError("axes", `a radar chart needs at least 3 categories, got ${axes.length}`);
  if (!(maximum > minimum)) throw new InvalidArgumentError("maximum", "the chart maximum must exceed its minimum");
  const size = options.size ?? 520;
  const legendHeight = 22 * series.length + 10;
  const centerX = size / 2;
  const centerY = size / 2 + 20;
  // Leave room for the longest axis labels ("counterfactual") on the left and right.
  const radius = size / 2 - 120;
  const angle = (i: number) => -Math.PI / 2 + (2 * Math.PI * i) / axes.length;
  const point = (i: number, fraction: number) => [centerX + radius * fraction * Math.cos(angle(i)), centerY + radius * fraction * Math.sin(angle(i))];
  const fraction = (value: number | null) => (value === null ? 0 : Math.min(1, Math.max(0, (value - minimum) / (maximum - minimum))));

  const parts: string[] = [];
  parts.push(chartTitle(centerX, options.title));
  for (const ring of [0.25, 0.5, 0.75, 1]) {
    const ringPoints = axes.map((_, i) => point(i, ring).map(round).join(",")).join(" ");
    parts.push(`<polygon points="${ringPoints}" fill="none" stroke="#ccc" stroke-width="1"/>`);
    parts.push(`<text x="${round(centerX + 3)}" y="${round(centerY - radius * ring)}" font-size="10" fill="#888">${round(minimum + ring * (maximum - minimum))}</text>`);
  }
  axes.forEach((axis, i) => {
    const [x, y] = point(i, 1);
    const [labelX, labelY] = point(i, 1.12);
    const anchor = Math.abs(labelX - centerX) < 5 ? "middle" : labelX > centerX ? "start" : "end";
    parts.push(`<line x1="${centerX}" y1="${centerY}" x2="${round(x)}" y2="${round(y)}" stroke="#ccc"/>`);
    parts.push(`<text x="${round(labelX)}" y="${round(labelY)}" text-anchor="${anchor}" dominant-baseline="middle" font-size="12">${escapeXml(axis)}</text>`);
  });
  series.forEach((s, index) => {
    if (s.values.length !== axes.length) throw new InvalidArgumentError("series", `series "${s.name}" has ${s.values.length} values for ${axes.length} axes`);
    const color = seriesColors[index % seriesColors.length];
    const polygon = s.values.map((v, i) => point(i, fraction(v)).map(round).join(",")).join(" ");
    parts.push(`<polygon points="${polygon}" fill="${color}" fill-opacity="0.12" stroke="${color}" stroke-width="2"><title>${escapeXml(s.name)}</title></polygon>`);
    const legendY = size + 10 + 22 * index;
    parts.push(`<rect x="20" y="${legendY}" width="14" height="14" fill="${color}"/>`);
    parts.push(`<text x="40" y="${legendY + 11}" font-size="12">${escapeXml(s.name)}</text>`);
  });
  const height = size + legendHeight;
  return svgDocument(size, height, parts);
}
