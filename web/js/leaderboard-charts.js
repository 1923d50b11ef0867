// @ts-check
// The leaderboard's figures: the server's SVG charts (FastChat's rating plot and heat maps, drawn by
// src/eval/charts) placed in the page with a text alternative each, under the strict CSP (parsed
// as XML, never as HTML; no script can come with them).
import { h } from "./dom.js";

/** @typedef {import("../../src/server/arena/arena-leaderboard.js").ArenaLeaderboardResponse} ArenaLeaderboardResponse */
/** @typedef {import("../../src/server/arena/arena-leaderboard.js").PairMatrixView} PairMatrixView */

/**
 * An SVG document from the server as a node of this page; null when it is not a plain SVG (a
 * parse error, or anything scriptable, which our charts never contain).
 * @param {string} text
 * @param {string} label the chart's text alternative
 * @returns {SVGSVGElement | null}
 */
export function svgNode(text, label) {
  const parsed = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = parsed.documentElement;
  if (root.nodeName !== "svg" || parsed.querySelector("parsererror, script, foreignObject, [href], [*|href]")) return null;
  for (const element of parsed.querySelectorAll("*")) {
    for (const attribute of [...element.attributes]) if (/^on/i.test(attribute.name)) return null;
  }
  const svg = /** @type {SVGSVGElement} */ (/** @type {unknown} */ (document.importNode(root, true)));
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  return svg;
}

/**
 * A pair matrix as a table: the heat map's numbers for screen readers and for copying.
 * @param {PairMatrixView} matrix
 * @param {string} caption
 * @param {(value: number) => string} format
 * @param {string} id
 */
export function matrixTable(matrix, caption, format, id) {
  return h(
    "table",
    { class: "matrix", id },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, h("td", {}), matrix.models.map((model) => h("th", { scope: "col" }, model)))),
    h(
      "tbody",
      {},
      matrix.models.map((model, i) =>
        h("tr", {}, h("th", { scope: "row" }, model), matrix.values[i].map((value) => h("td", { class: "number" }, value === null ? "—" : format(value)))),
      ),
    ),
  );
}

/**
 * The three figures of FastChat's leaderboard for one board, each a <figure> with its caption and
 * text alternative; nothing before the first vote.
 * @param {ArenaLeaderboardResponse} board
 */
export function leaderboardFigures(board) {
  /** @param {string} name */
  const chart = (name) => board.charts.find((candidate) => candidate.name === name)?.svg;
  const figures = [];
  const intervals = chart("rating-intervals");
  if (intervals) {
    const label =
      `Interval chart of the ${board.rating_system === "style-controlled bradley-terry" ? "style-controlled " : ""}Bradley-Terry ratings with 95% bootstrap intervals: ` +
      board.rows
        .slice(0, 25)
        .map((row) => `${row.model} ${Math.round(row.bradley_terry)}${row.interval ? ` (${Math.round(row.interval.lower)} to ${Math.round(row.interval.upper)})` : ""}`)
        .join(", ");
    figures.push(
      h(
        "figure",
        { class: "chart", id: "chart-rating-intervals" },
        h("figcaption", {}, "Rating with its 95% bootstrap interval (the same figures are in the table above)"),
        svgNode(intervals, label),
      ),
    );
  }
  const heatMaps = [
    { name: "battle-count-heatmap", id: "chart-battle-count", caption: "Battles between each pair of models (ties left out, as FastChat)", matrix: board.battle_counts, format: (/** @type {number} */ v) => String(v) },
    { name: "win-fraction-heatmap", id: "chart-win-fraction", caption: "Fraction of model A (row) wins over model B (column) in non-tied battles", matrix: board.win_fraction, format: (/** @type {number} */ v) => v.toFixed(2) },
  ];
  for (const map of heatMaps) {
    const svg = chart(map.name);
    if (!svg) continue;
    figures.push(
      h(
        "figure",
        { class: "chart", id: map.id },
        h("figcaption", {}, map.caption),
        svgNode(svg, `${map.caption}; the numbers are in the table that follows`),
        h("details", {}, h("summary", {}, "As a table"), matrixTable(map.matrix, map.caption, map.format, `${map.id}-table`)),
      ),
    );
  }
  return figures;
}
