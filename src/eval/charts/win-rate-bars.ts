import { chartTitle, escapeXml, round, svgDocument } from "./svg.js";

export interface WinRateBar {
  model: string;
  win: number;
  /** Ties and inconsistent pairs together (both count as ties). */
  tie: number;
  loss: number;
}

const colors = { win: "#009E73", tie: "#BBBBBB", loss: "#D55E00" };

/** Stacked horizontal bars of win / tie / loss shares per model, as in the MT-bench paper's figures. */
export function renderWinRateBars(options: { title: string; bars: WinRateBar[]; width?: number }): string {
  const width = options.width ?? 640;
  const labelWidth = 180;
  const barWidth = width - labelWidth - 30;
  const rowHeight = 26;
  const top = 50;
  const height = top + rowHeight * options.bars.length + 40;
  const parts: string[] = [chartTitle(width / 2, options.title)];
  options.bars.forEach((bar, index) => {
    const total = bar.win + bar.tie + bar.loss;
    const y = top + index * rowHeight;
    parts.push(`<text x="${labelWidth - 8}" y="${y + 13}" text-anchor="end" dominant-baseline="middle" font-size="12">${escapeXml(bar.model)}</text>`);
    let x = labelWidth;
    for (const kind of ["win", "tie", "loss"] as const) {
      const share = total > 0 ? bar[kind] / total : 0;
      const w = share * barWidth;
      if (w > 0) {
        parts.push(`<rect x="${round(x)}" y="${y}" width="${round(w)}" height="${rowHeight - 6}" fill="${colors[kind]}"><title>${kind}: ${bar[kind]} (${(100 * share).toFixed(1)}%)</title></rect>`);
        if (w > 34) parts.push(`<text x="${round(x + w / 2)}" y="${y + 13}" text-anchor="middle" dominant-baseline="middle" font-size="11" fill="white">${(100 * share).toFixed(0)}%</text>`);
      }
      x += w;
    }
    if (total === 0) parts.push(`<text x="${labelWidth + 4}" y="${y + 13}" dominant-baseline="middle" font-size="11" fill="#888">no verdicts</text>`);
  });
  const legendY = height - 22;
  (["win", "tie", "loss"] as const).forEach((kind, i) => {
    parts.push(`<rect x="${labelWidth + i * 90}" y="${legendY}" width="12" height="12" fill="${colors[kind]}"/>`);
    parts.push(`<text x="${labelWidth + i * 90 + 18}" y="${legendY + 10}" font-size="12">${kind}</text>`);
  });
  return svgDocument(width, height, parts);
}
