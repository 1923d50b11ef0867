import { InvalidArgumentError } from "../../errors/index.js";
import { chartTitle, escapeXml, round, svgDocument } from "./svg.js";

export interface HeatMapOptions {
  title: string;
  /** Row and column labels (the same models, best first). */
  labels: string[];
  /** values[row][column]; null cells are left blank. */
  values: Array<Array<number | null>>;
  /** Text written in each cell. */
  format: (value: number) => string;
  /** Colour range; default from min(0, data) to max(1, data) (plotly's imshow spans the data). */
  range?: [number, number];
  /** "diverging": plotly's RdBu (red low, blue high); "sequential": white to dark blue. */
  scale?: "diverging" | "sequential";
  xTitle?: string;
  yTitle?: string;
}

// plotly.express's diverging RdBu, the scale FastChat's win-fraction map uses.
const rdBu = ["#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7", "#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061"];
const blues = ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"];

function interpolate(stops: string[], fraction: number): string {
  const position = Math.min(1, Math.max(0, fraction)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(position));
  const t = position - i;
  const channel = (hex: string, k: number) => parseInt(hex.slice(1 + 2 * k, 3 + 2 * k), 16);
  const mixed = [0, 1, 2].map((k) => Math.round(channel(stops[i], k) * (1 - t) + channel(stops[i + 1], k) * t));
  return `rgb(${mixed.join(",")})`;
}

/** A square matrix as coloured cells with their values written in, as FastChat's arena heat maps. */
export function renderHeatMap(options: HeatMapOptions): string {
  const { labels, values } = options;
  if (labels.length === 0) throw new InvalidArgumentError("labels", "a heat map needs at least one model");
  if (values.length !== labels.length || values.some((row) => row.length !== labels.length)) {
    throw new InvalidArgumentError("values", `a heat map of ${labels.length} models needs a ${labels.length}×${labels.length} matrix`);
  }
  const present = values.flat().filter((v): v is number => v !== null);
  const [low, high] = options.range ?? [Math.min(...present, 0), Math.max(...present, 1)];
  const stops = options.scale === "sequential" ? blues : rdBu;
  const cell = Math.max(28, Math.min(64, Math.floor(560 / labels.length)));
  // Rotated column labels and row labels need about 6.5 px per character at 11 px.
  const labelSpace = Math.min(220, 30 + Math.ceil(6.5 * Math.max(...labels.map((label) => label.length))));
  const top = 60 + labelSpace;
  const left = 40 + labelSpace;
  const size = cell * labels.length;
  const width = left + size + 30;
  const height = top + size + 30;
  const parts: string[] = [chartTitle(width / 2, options.title)];
  parts.push(`<text x="${left + size / 2}" y="48" text-anchor="middle" font-size="12">${escapeXml(options.xTitle ?? "Model B")}</text>`);
  parts.push(`<text x="16" y="${top + size / 2}" transform="rotate(-90 16 ${top + size / 2})" text-anchor="middle" font-size="12">${escapeXml(options.yTitle ?? "Model A")}</text>`);
  labels.forEach((label, i) => {
    const cx = round(left + cell * (i + 0.5));
    const labelY = top - 8;
    // Column labels above the map (FastChat puts the x axis on top), rows to the left.
    parts.push(`<text x="${cx}" y="${labelY}" transform="rotate(-45 ${cx} ${labelY})" font-size="11">${escapeXml(label)}</text>`);
    parts.push(`<text x="${left - 8}" y="${round(top + cell * (i + 0.5))}" text-anchor="end" dominant-baseline="middle" font-size="11">${escapeXml(label)}</text>`);
  });
  values.forEach((row, i) =>
    row.forEach((value, j) => {
      const x = left + cell * j;
      const y = top + cell * i;
      if (value === null) {
        parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="white" stroke="#eee"/>`);
        return;
      }
      const fraction = high > low ? (value - low) / (high - low) : 0.5;
      // Dark cells get white text: both ends of the diverging scale, the top of the sequential one.
      const dark = options.scale === "sequential" ? fraction > 0.55 : Math.abs(fraction - 0.5) > 0.32;
      const ink = dark ? "white" : "black";
      parts.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${interpolate(stops, fraction)}"><title>${escapeXml(labels[i])} vs ${escapeXml(labels[j])}: ${options.format(value)}</title></rect>`,
      );
      parts.push(`<text x="${round(x + cell / 2)}" y="${round(y + cell / 2)}" text-anchor="middle" dominant-baseline="middle" font-size="${cell < 36 ? 9 : 11}" fill="${ink}">${options.format(value)}</text>`);
    }),
  );
  return svgDocument(width, height, parts);
}
