// @ts-check
// A small live line chart in SVG (built with DOM calls: no markup strings, no inline styles, so the strict
// CSP holds): series of (x, y) points that grow as a training run appends metrics. Each series' polyline
// carries data-count for scripts and tests; the chart's label states the latest values for screen readers.

const svgNamespace = "http://www.w3.org/2000/svg";
const width = 600;
const height = 220;
const margin = { left: 56, right: 12, top: 12, bottom: 28 };

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attributes
 * @returns {SVGElement}
 */
function svg(tag, attributes = {}) {
  const element = document.createElementNS(svgNamespace, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

/** @param {number} value */
const short = (value) => (Math.abs(value) >= 0.01 || value === 0 ? Number(value.toPrecision(3)).toString() : value.toExponential(1));

/**
 * @typedef {{ x: number, y: number }} ChartPoint
 * @typedef {{ name: string, label: string }} ChartSeries
 */

/**
 * @param {{ id: string, title: string, xLabel: string, series: ChartSeries[] }} options
 */
export function createLineChart({ id, title, xLabel, series }) {
  /** @type {Map<string, ChartPoint[]>} */
  const points = new Map(series.map((s) => [s.name, []]));
  const root = /** @type {SVGSVGElement} */ (svg("svg", { id, viewBox: `0 0 ${width} ${height}`, role: "img", class: "line-chart" }));
  const figure = document.createElement("figure");
  figure.className = "chart";
  const caption = document.createElement("figcaption");
  caption.textContent = title;
  const legend = document.createElement("ul");
  legend.className = "chart-legend";
  for (const [index, s] of series.entries()) {
    const item = document.createElement("li");
    item.className = `series-${index}`;
    item.textContent = s.label;
    legend.append(item);
  }
  figure.append(caption, root, legend);

  function draw() {
    root.replaceChildren();
    const all = [...points.values()].flat();
    const finite = all.filter((p) => Number.isFinite(p.y));
    const xs = all.map((p) => p.x);
    const ys = finite.map((p) => p.y);
    const xMin = xs.length ? Math.min(...xs) : 0;
    const xMax = xs.length ? Math.max(...xs) : 1;
    let yMin = ys.length ? Math.min(...ys) : 0;
    let yMax = ys.length ? Math.max(...ys) : 1;
    if (yMin === yMax) [yMin, yMax] = [yMin - Math.abs(yMin || 1) * 0.1, yMax + Math.abs(yMax || 1) * 0.1];
    const plotWidth = width - margin.left - margin.right;
    const plotHeight = height - margin.top - margin.bottom;
    /** @param {number} x */
    const toX = (x) => margin.left + (xMax === xMin ? plotWidth / 2 : ((x - xMin) / (xMax - xMin)) * plotWidth);
    /** @param {number} y */
    const toY = (y) => margin.top + (1 - (y - yMin) / (yMax - yMin)) * plotHeight;
    const heading = svg("title");
    heading.textContent = caption.textContent;
    root.append(heading);
    root.append(svg("line", { class: "axis", x1: margin.left, y1: margin.top, x2: margin.left, y2: height - margin.bottom }));
    root.append(svg("line", { class: "axis", x1: margin.left, y1: height - margin.bottom, x2: width - margin.right, y2: height - margin.bottom }));
    for (const value of [yMin, (yMin + yMax) / 2, yMax]) {
      const y = toY(value);
      root.append(svg("line", { class: "grid", x1: margin.left, y1: y, x2: width - margin.right, y2: y }));
      const label = svg("text", { x: margin.left - 6, y: y + 4, "text-anchor": "end", class: "tick" });
      label.textContent = short(value);
      root.append(label);
    }
    for (const [value, anchor] of /** @type {[number, string][]} */ ([[xMin, "start"], [xMax, "end"]])) {
      const label = svg("text", { x: toX(value), y: height - 8, "text-anchor": anchor, class: "tick" });
      label.textContent = `${xLabel} ${value}`;
      root.append(label);
    }
    const described = [];
    for (const [index, s] of series.entries()) {
      const list = points.get(s.name) ?? [];
      const drawn = list.filter((p) => Number.isFinite(p.y));
      const line = svg("polyline", { class: `series series-${index}`, "data-series": s.name, "data-count": list.length, points: drawn.map((p) => `${toX(p.x).toFixed(1)},${toY(p.y).toFixed(1)}`).join(" ") });
      root.append(line);
      // a lone point would be an invisible line: mark it
      if (drawn.length === 1) root.append(svg("circle", { class: `series-${index}`, cx: toX(drawn[0].x), cy: toY(drawn[0].y), r: 3 }));
      const last = list.at(-1);
      if (last) described.push(`${s.label} ${short(last.y)} at ${xLabel} ${last.x}`);
    }
    root.setAttribute("aria-label", `${caption.textContent}: ${described.length ? described.join("; ") : "no points yet"}`);
    root.dataset.points = String(all.length);
  }

  draw();
  return {
    element: figure,
    /** Adds points to a series and redraws. @param {string} name @param {ChartPoint[]} added */
    add(name, added) {
      points.get(name)?.push(...added);
    },
    /** Drops every point (the run's metrics file was replaced). */
    clear() {
      for (const list of points.values()) list.length = 0;
    },
    draw,
  };
}
