import type { MetricRecord } from "./metrics-log.js";

const WIDTH = 720, HEIGHT = 400;
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

/**
 * The loss curve as a standalone SVG: training loss per step (line), validation loss (dots), axes
 * with round ticks. Non-finite values are left out so that a diverged run still draws what came before.
 */
export function lossChartSvg(records: readonly MetricRecord[], title = "Training loss"): string {
  const train = records.filter((r) => r.type === "train" && Number.isFinite(r.loss));
  const validation = records.filter((r) => r.type === "validation" && Number.isFinite(r.loss));
  const all = [...train, ...validation];
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right, plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  ];
  if (all.length === 0) {
    parts.push(`<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle">no finite loss recorded yet</text>`, "</svg>");
    return parts.join("\n");
  }
  const steps = all.map((r) => r.step), losses = all.map((r) => r.loss);
  const minStep = Math.min(...steps), maxStep = Math.max(...steps, minStep + 1);
  let minLoss = Math.min(...losses), maxLoss = Math.max(...losses);
  if (maxLoss - minLoss < 1e-6) [minLoss, maxLoss] = [minLoss - 0.5, maxLoss + 0.5];
  const x = (step: number) => MARGIN.left + ((step - minStep) / (maxStep - minStep)) * plotWidth;
  const y = (loss: number) => MARGIN.top + (1 - (loss - minLoss) / (maxLoss - minLoss)) * plotHeight;
  const bottom = MARGIN.top + plotHeight;
  parts.push(`<line x1="${MARGIN.left}" y1="${bottom}" x2="${MARGIN.left + plotWidth}" y2="${bottom}" stroke="#333"/>`);
  parts.push(`<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${bottom}" stroke="#333"/>`);
  for (const tick of niceTicks(minLoss, maxLoss)) {
    parts.push(`<line x1="${MARGIN.left}" y1="${fixed(y(tick))}" x2="${MARGIN.left + plotWidth}" y2="${fixed(y(tick))}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${fixed(y(tick) + 4)}" text-anchor="end">${tick}</text>`);
  }
  for (const tick of niceTicks(minStep, maxStep).filter(Number.isInteger)) {
    parts.push(`<text x="${fixed(x(tick))}" y="${bottom + 18}" text-anchor="middle">${tick}</text>`);
  }
  parts.push(`<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 10}" text-anchor="middle">optimizer step</text>`);
  parts.push(`<text x="16" y="${MARGIN.top + plotHeight / 2}" text-anchor="middle" transform="rotate(-90 16 ${MARGIN.top + plotHeight / 2})">loss</text>`);
  if (train.length > 0) {
    const points = train.map((r) => `${fixed(x(r.step))},${fixed(y(r.loss))}`).join(" ");
    parts.push(`<polyline fill="none" stroke="#0072B2" stroke-width="1.5" points="${points}"/>`);
  }
  for (const r of validation) parts.push(`<circle cx="${fixed(x(r.step))}" cy="${fixed(y(r.loss))}" r="3.5" fill="#D55E00"><title>validation loss ${r.loss.toFixed(4)} at step ${r.step}</title></circle>`);
  const legendX = MARGIN.left + plotWidth - 150;
  parts.push(`<line x1="${legendX}" y1="${MARGIN.top + 8}" x2="${legendX + 20}" y2="${MARGIN.top + 8}" stroke="#0072B2" stroke-width="2"/><text x="${legendX + 26}" y="${MARGIN.top + 12}">train loss</text>`);
  parts.push(`<circle cx="${legendX + 10}" cy="${MARGIN.top + 26}" r="3.5" fill="#D55E00"/><text x="${legendX + 26}" y="${MARGIN.top + 30}">validation loss</text>`);
  parts.push("</svg>");
  return parts.join("\n");
}
