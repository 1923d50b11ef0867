// @ts-check
// A live training chart: the points of each series grow as a run appends metrics, and every draw builds
// the SVG of chart-svg.js (the renderer loss.svg is written with) by DOM calls: no markup strings, no
// inline styles, so the strict CSP holds.
import { trainingChart } from "./training-charts.js";

const svgNamespace = "http://www.w3.org/2000/svg";

/**
 * @typedef {import("./chart-svg.js").SvgNode} SvgNode
 * @typedef {import("./chart-svg.js").ChartPoint} ChartPoint
 * @typedef {import("./training-charts.js").TrainingChart} TrainingChart
 */

/**
 * The tree as SVG elements.
 * @param {SvgNode} tree
 * @returns {SVGElement}
 */
export function svgElement(tree) {
  const element = document.createElementNS(svgNamespace, tree.tag);
  for (const [name, value] of Object.entries(tree.attributes)) element.setAttribute(name, value);
  if (tree.text !== undefined) element.textContent = tree.text;
  else for (const child of tree.children ?? []) element.append(svgElement(child));
  return element;
}

/** @param {TrainingChart} chart */
export function createLineChart(chart) {
  /** @type {Map<string, ChartPoint[]>} */
  const points = new Map(chart.series.map((s) => [s.name, []]));
  const figure = document.createElement("figure");
  figure.className = "chart";

  function draw() {
    figure.replaceChildren(svgElement(trainingChart(chart, (series) => points.get(series.name) ?? [])));
  }

  draw();
  return {
    element: figure,
    /** Adds points to a series (draw shows them). @param {string} name @param {ChartPoint[]} added */
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
