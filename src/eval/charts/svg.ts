/** Text for SVG/XML: model names come from files users wrote. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Colour-blind-safe palette (Okabe-Ito), cycled for more series. */
export const seriesColors = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"];

export function round(value: number): string {
  return (Math.round(value * 100) / 100).toString();
}

/** A chart's bold title, centred on x. */
export function chartTitle(x: number, title: string): string {
  return `<text x="${x}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(title)}</text>`;
}

/** The standalone SVG file every chart is written as: white background, sans-serif, one element a line. */
export function svgDocument(width: number, height: number, parts: readonly string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join("\n")}\n</svg>\n`;
}
