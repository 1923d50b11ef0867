// @ts-check
// The one line-chart renderer of camelid, pure (no DOM, no Node): a chart of series over optimizer steps
// as a tree of SVG elements. `camelid train` writes it as markup (loss.svg, src/train/loss-chart.ts);
// the playground's Train tab builds the same tree with DOM calls (line-chart.js), so both draw the same
// chart from the same points. The colours and fonts are presentation attributes, so that the file stands
// alone; the playground's stylesheet themes the classes (attributes, not inline styles: the CSP holds).

/**
 * @typedef {{ tag: string, attributes: Record<string, string>, text?: string, children?: SvgNode[] }} SvgNode
 * @typedef {{ x: number, y: number }} ChartPoint
 * @typedef {{ name: string, label: string, color: string, dots?: boolean, points: readonly ChartPoint[] }} ChartSeries
 * @typedef {{ id: string, title: string, yLabel: string, empty: string, series: readonly ChartSeries[] }} LineChartSpec
 */

export const chartWidth = 720;
export const chartHeight = 400;
const margin = { left: 64, right: 24, top: 36, bottom: 48 };

/** Okabe–Ito colours: told apart with every kind of colour blindness, on light and dark backgrounds. */
export const chartColors = { blue: "#0072B2", vermillion: "#D55E00", green: "#009E73", purple: "#CC79A7" };

/** A coordinate with at most two decimals. @param {number} value */
const fixed = (value) => (Math.round(value * 100) / 100).toString();
/** A value short enough for a label read aloud. @param {number} value */
const short = (value) => (Math.abs(value) >= 0.01 || value === 0 ? Number(value.toPrecision(3)).toString() : value.toExponential(1));

/**
 * About `count` round tick values covering [low, high].
 * @param {number} low @param {number} high @param {number} [count]
 * @returns {number[]}
 */
export function niceTicks(low, high, count = 5) {
  if (!(high > low)) return [low];
  const raw = (high - low) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= raw) ?? raw;
  /** @type {number[]} */
  const ticks = [];
  for (let value = Math.ceil(low / step) * step; value <= high + step * 1e-9 && ticks.length < 50; value += step) ticks.push(Number(value.toPrecision(12)));
  return ticks;
}

/**
 * @param {string} tag @param {Record<string, string | number>} attributes @param {SvgNode[] | string} [content]
 * @returns {SvgNode}
 */
function node(tag, attributes, content) {
  const strings = Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, String(value)]));
  return typeof content === "string" ? { tag, attributes: strings, text: content } : { tag, attributes: strings, ...(content ? { children: content } : {}) };
}

/**
 * One chart: its title, round ticks on both axes, each series as a line (training steps) or as dots with
 * a tooltip each (validation runs), and a legend. Non-finite values are left out of the drawing (a
 * diverged run still draws what came before) but counted: the root's data-points and each series'
 * data-count say how many points arrived, its aria-label the latest value of each series.
 * @param {LineChartSpec} spec
 * @returns {SvgNode}
 */
export function lineChart(spec) {
  const plotWidth = chartWidth - margin.left - margin.right, plotHeight = chartHeight - margin.top - margin.bottom;
  const shown = spec.series.map((s) => ({ ...s, points: s.points.filter((p) => Number.isFinite(p.y)) }));
  const drawn = shown.flatMap((s) => s.points);
  const latest = spec.series.flatMap((s) => {
    const last = s.points.at(-1);
    return last ? [`${s.label} ${short(last.y)} at step ${last.x}`] : [];
  });
  const children = [node("title", {}, spec.title), node("rect", { class: "chart-background", width: chartWidth, height: chartHeight, fill: "#ffffff" }), node("text", { class: "chart-title", x: chartWidth / 2, y: 22, "text-anchor": "middle", "font-size": 15 }, spec.title)];
  const root = node("svg", {
    id: spec.id,
    class: "line-chart",
    width: chartWidth,
    height: chartHeight,
    viewBox: `0 0 ${chartWidth} ${chartHeight}`,
    role: "img",
    "aria-label": `${spec.title}: ${latest.length ? latest.join("; ") : "no points yet"}`,
    "data-points": spec.series.reduce((count, s) => count + s.points.length, 0),
    "font-family": "sans-serif",
    "font-size": 12,
  }, children);
  if (drawn.length === 0) {
    children.push(node("text", { class: "chart-empty", x: chartWidth / 2, y: chartHeight / 2, "text-anchor": "middle" }, spec.empty));
    return root;
  }
  const steps = drawn.map((p) => p.x), values = drawn.map((p) => p.y);
  const minStep = Math.min(...steps), maxStep = Math.max(...steps, minStep + 1);
  let minValue = Math.min(...values), maxValue = Math.max(...values);
  if (maxValue - minValue < 1e-6) [minValue, maxValue] = [minValue - 0.5, maxValue + 0.5];
  /** @param {number} step */
  const x = (step) => margin.left + ((step - minStep) / (maxStep - minStep)) * plotWidth;
  /** @param {number} value */
  const y = (value) => margin.top + (1 - (value - minValue) / (maxValue - minValue)) * plotHeight;
  const bottom = margin.top + plotHeight, right = margin.left + plotWidth;
  children.push(node("line", { class: "axis", x1: margin.left, y1: bottom, x2: right, y2: bottom, stroke: "#333" }));
  children.push(node("line", { class: "axis", x1: margin.left, y1: margin.top, x2: margin.left, y2: bottom, stroke: "#333" }));
  for (const tick of niceTicks(minValue, maxValue)) {
    children.push(node("line", { class: "grid", x1: margin.left, y1: fixed(y(tick)), x2: right, y2: fixed(y(tick)), stroke: "#e5e5e5" }));
    children.push(node("text", { class: "tick", x: margin.left - 6, y: fixed(y(tick) + 4), "text-anchor": "end" }, String(tick)));
  }
  for (const tick of niceTicks(minStep, maxStep).filter(Number.isInteger)) children.push(node("text", { class: "tick", x: fixed(x(tick)), y: bottom + 18, "text-anchor": "middle" }, String(tick)));
  children.push(node("text", { class: "axis-label", x: margin.left + plotWidth / 2, y: chartHeight - 10, "text-anchor": "middle" }, "optimizer step"));
  const middle = margin.top + plotHeight / 2;
  children.push(node("text", { class: "axis-label", x: 16, y: middle, "text-anchor": "middle", transform: `rotate(-90 16 ${middle})` }, spec.yLabel));
  const legendX = right - 150;
  shown.forEach((s, index) => {
    const legendY = margin.top + 8 + index * 18;
    /** @type {SvgNode[]} */
    const marks = [];
    const dot = (/** @type {ChartPoint} */ p) => node("circle", { cx: fixed(x(p.x)), cy: fixed(y(p.y)), r: 3.5, fill: s.color }, [node("title", {}, `${s.label} ${p.y.toFixed(4)} at step ${p.x}`)]);
    if (s.dots) {
      marks.push(...s.points.map(dot));
      marks.push(node("circle", { cx: legendX + 10, cy: legendY, r: 3.5, fill: s.color }));
    } else {
      if (s.points.length > 0) marks.push(node("polyline", { fill: "none", stroke: s.color, "stroke-width": 1.5, points: s.points.map((p) => `${fixed(x(p.x))},${fixed(y(p.y))}`).join(" ") }));
      // a lone point is an invisible line: marked
      if (s.points.length === 1) marks.push(dot(s.points[0]));
      marks.push(node("line", { x1: legendX, y1: legendY, x2: legendX + 20, y2: legendY, stroke: s.color, "stroke-width": 2 }));
    }
    marks.push(node("text", { class: "legend", x: legendX + 26, y: legendY + 4 }, s.label));
    children.push(node("g", { class: `series series-${index}`, "data-series": s.name, "data-count": spec.series[index].points.length }, marks));
  });
  return root;
}

/** @param {string} text */
const escapeXml = (text) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/**
 * The tree as SVG markup (no whitespace between elements, so that a parser gives back the same tree).
 * @param {SvgNode} tree
 * @returns {string}
 */
export function svgMarkup(tree) {
  const attributes = Object.entries(tree.attributes).map(([name, value]) => ` ${name}="${escapeXml(value)}"`).join("");
  const content = tree.text !== undefined ? escapeXml(tree.text) : (tree.children ?? []).map(svgMarkup).join("");
  return content === "" ? `<${tree.tag}${attributes}/>` : `<${tree.tag}${attributes}>${content}</${tree.tag}>`;
}
