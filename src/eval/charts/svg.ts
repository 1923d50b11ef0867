/** Text for SVG/XML: model names come from files users wrote. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Colour-blind-safe palette (Okabe-Ito), cycled for more series. */
export const seriesColors = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"];

export function round(value: number): string {
  return (Math.round(value * 100) / 100).toString();
}
