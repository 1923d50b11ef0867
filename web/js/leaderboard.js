// @ts-check
// Leaderboard from the server's stored votes, as FastChat's arena leaderboard shows it: Bradley-Terry
// (optionally style-controlled) with bootstrap 95% intervals and the statistical rank, online Elo,
// vote counts, per-category boards, the interval chart and heat maps, the last-updated time, the
// win-rate matrix, and the two exports.
import { api, apiText } from "./api.js";
import { announce, download, h, replaceChildren } from "./dom.js";
import { leaderboardFigures } from "./leaderboard-charts.js";

/** @typedef {import("../../src/server/arena/arena-leaderboard.js").ArenaLeaderboardResponse} ArenaLeaderboardResponse */

/**
 * @param {number | null | undefined} value
 * @param {number} [digits]
 */
const fixed = (value, digits = 0) => (value === null || value === undefined ? "—" : Number(value).toFixed(digits));

/** FastChat's rank rule in words, shown beside the table and linked to it (aria-describedby). */
const rankExplanation =
  'Rank "2 (1)": 2 is the position by rating; the number in brackets is the statistical rank, as on the LMSYS leaderboard: ' +
  "1 + the number of models whose 95% interval lies entirely above this model's (their lower bound exceeds its upper bound). " +
  "Models whose intervals overlap share a statistical rank; a single number means both ranks agree.";

export function createLeaderboardView() {
  const summary = h("p", { id: "leaderboard-summary" });
  const updated = h("p", { id: "leaderboard-updated" });
  const explanation = h("p", { id: "rank-explanation", class: "note" }, rankExplanation);
  const table = h("div", { class: "table-scroll", id: "leaderboard-table", tabindex: 0 });
  const coefficients = h("div", { class: "table-scroll", id: "leaderboard-style", tabindex: 0 });
  const figures = h("div", { class: "charts", id: "leaderboard-charts" });
  const matrix = h("div", { class: "table-scroll", id: "leaderboard-matrix", tabindex: 0 });
  const warnings = h("ul", { class: "warnings" });
  const category = /** @type {HTMLSelectElement} */ (h("select", { id: "leaderboard-category", onchange: () => refresh() }, h("option", { value: "all" }, "all")));
  const styleControl = /** @type {HTMLInputElement} */ (h("input", { type: "checkbox", id: "leaderboard-style-control", onchange: () => refresh() }));
  const element = h(
    "section",
    { id: "view-leaderboard", class: "view", "aria-labelledby": "leaderboard-heading", "data-state": "idle" },
    h("h2", { id: "leaderboard-heading" }, "Leaderboard"),
    h(
      "div",
      { class: "toolbar" },
      h("label", { for: "leaderboard-category" }, "Category "),
      category,
      h("label", { class: "check" }, styleControl, " Style control (length and markdown, FastChat's --style-control)"),
      h("button", { type: "button", id: "leaderboard-refresh", onclick: () => refresh() }, "Refresh"),
      h("button", { type: "button", id: "export-battles", onclick: () => exportFile("/api/arena/export/battles.json", "arena-battles.json", "application/json") }, "Export battles JSON"),
      h("button", { type: "button", id: "export-preferences", onclick: () => exportFile("/api/arena/export/preferences.jsonl", "arena-preferences.jsonl", "application/x-ndjson") }, "Export DPO pairs JSONL"),
    ),
    summary,
    updated,
    explanation,
    table,
    coefficients,
    figures,
    matrix,
    warnings,
  );

  /** The category picker lists the board's categories; the chosen one stays chosen. @param {string[]} names */
  function paintCategories(names) {
    const chosen = category.value;
    replaceChildren(category, h("option", { value: "all" }, "all"), names.map((name) => h("option", { value: name }, name)));
    category.value = names.includes(chosen) ? chosen : "all";
  }

  /** @param {ArenaLeaderboardResponse} board */
  function paint(board) {
    paintCategories(board.categories);
    const system = board.rating_system === "style-controlled bradley-terry" ? "Style-controlled Bradley-Terry" : "Bradley-Terry";
    summary.textContent =
      board.votes === 0
        ? "No votes yet: run an anonymous battle and vote."
        : `${board.votes} vote(s)${board.category ? ` in category "${board.category}"` : ""}; ${system}; 95% intervals from ${board.bootstrap_rounds} bootstrap rounds.`;
    replaceChildren(
      updated,
      board.last_updated_iso ? ["Last updated: ", h("time", { datetime: board.last_updated_iso }, new Date(board.last_updated_iso).toLocaleString())] : null,
    );
    replaceChildren(
      table,
      h(
        "table",
        { class: "leaderboard", "aria-describedby": "rank-explanation" },
        h("caption", {}, `Ratings (ranked by ${system})`),
        h(
          "thead",
          {},
          h("tr", {}, ["Rank (statistical)", "Model", system, "95% interval", "Online Elo", "Votes", "Wins", "Ties", "Losses"].map((label) => h("th", { scope: "col" }, label))),
        ),
        h(
          "tbody",
          {},
          board.rows.map((row) =>
            h(
              "tr",
              { "data-model": row.model },
              h("td", { class: "rank" }, row.statistical_rank === row.rank ? row.rank : `${row.rank} (${row.statistical_rank})`),
              h("th", { scope: "row" }, row.model),
              h("td", { class: "number rating" }, fixed(row.bradley_terry)),
              h("td", { class: "number" }, row.interval ? `${fixed(row.interval.lower)} – ${fixed(row.interval.upper)}` : "—"),
              h("td", { class: "number elo" }, fixed(row.elo, 1)),
              h("td", { class: "number votes" }, row.battles),
              h("td", { class: "number" }, row.wins),
              h("td", { class: "number" }, row.ties),
              h("td", { class: "number" }, row.losses),
            ),
          ),
        ),
      ),
    );
    const styleCoefficients = board.style_coefficients;
    replaceChildren(
      coefficients,
      styleCoefficients
        ? h(
            "table",
            { id: "style-coefficients" },
            h("caption", {}, "Style coefficients (standardised; positive: voters prefer more of it)"),
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Covariate"), h("th", { scope: "col" }, "Coefficient"))),
            h("tbody", {}, Object.entries(styleCoefficients).map(([name, value]) => h("tr", {}, h("th", { scope: "row" }, name), h("td", { class: "number" }, value.toFixed(3))))),
          )
        : null,
    );
    replaceChildren(figures, leaderboardFigures(board));
    const models = board.win_rates.models;
    replaceChildren(
      matrix,
      models.length === 0
        ? null
        : h(
            "table",
            { class: "matrix" },
            h("caption", {}, "Win rate of the row model against the column model (ties count half)"),
            h("thead", {}, h("tr", {}, h("td", {}), models.map((model) => h("th", { scope: "col" }, model)))),
            h(
              "tbody",
              {},
              models.map((model, i) =>
                h(
                  "tr",
                  {},
                  h("th", { scope: "row" }, model),
                  board.win_rates.cells[i].map((cell) => {
                    const td = h("td", { class: "number", title: `${cell.games} game(s)` }, cell.win_rate === null ? "—" : `${Math.round(cell.win_rate * 100)}%`);
                    // Green for winning, red for losing; set through CSSOM (the page's CSP has no inline styles).
                    if (cell.win_rate !== null) td.style.backgroundColor = `hsl(${Math.round(cell.win_rate * 120)} 60% 85%)`;
                    return td;
                  }),
                ),
              ),
            ),
          ),
    );
    replaceChildren(warnings, board.warnings.map((warning) => h("li", {}, warning)));
  }

  async function refresh() {
    element.dataset.state = "loading";
    const query = new URLSearchParams({ category: category.value, style_control: styleControl.checked ? "1" : "0" });
    try {
      paint(/** @type {ArenaLeaderboardResponse} */ (await api("GET", `/api/arena/leaderboard?${query}`)));
      element.dataset.state = "ready";
    } catch (error) {
      const failure = /** @type {{ status?: number, message: string }} */ (error);
      summary.textContent = failure.status === 404 ? "This server has no arena (it was started without an arena store)." : failure.message;
      element.dataset.state = "error";
    }
  }

  /**
   * @param {string} path
   * @param {string} filename
   * @param {string} type
   */
  async function exportFile(path, filename, type) {
    try {
      download(filename, await apiText(path), type);
    } catch (error) {
      announce(/** @type {Error} */ (error).message, "error");
    }
  }

  document.addEventListener("camelid:voted", () => void refresh());
  return { element, activate: refresh };
}
