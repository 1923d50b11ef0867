// Leaderboard from the server's stored votes: online Elo, Bradley-Terry with bootstrap 95%
// intervals, vote counts, the win-rate matrix, and the two exports.
import { api, apiText } from "./api.js";
import { announce, download, h, replaceChildren } from "./dom.js";

const fixed = (value, digits = 0) => (value === null || value === undefined ? "—" : Number(value).toFixed(digits));

export function createLeaderboardView() {
  const summary = h("p", { id: "leaderboard-summary" });
  const table = h("div", { class: "table-scroll", id: "leaderboard-table", tabindex: 0 });
  const matrix = h("div", { class: "table-scroll", id: "leaderboard-matrix", tabindex: 0 });
  const warnings = h("ul", { class: "warnings" });

  async function refresh() {
    let board;
    try {
      board = await api("GET", "/api/arena/leaderboard");
    } catch (error) {
      summary.textContent = error.status === 404 ? "This server has no arena (it was started without an arena store)." : error.message;
      return;
    }
    summary.textContent = board.votes === 0 ? "No votes yet: run an anonymous battle and vote." : `${board.votes} vote(s); 95% intervals from ${board.bootstrap_rounds} bootstrap rounds.`;
    replaceChildren(
      table,
      h(
        "table",
        { class: "leaderboard" },
        h("caption", {}, "Ratings (ranked by Bradley-Terry)"),
        h(
          "thead",
          {},
          h("tr", {}, ["Rank", "Model", "Bradley-Terry", "95% interval", "Online Elo", "Votes", "Wins", "Ties", "Losses"].map((label) => h("th", { scope: "col" }, label))),
        ),
        h(
          "tbody",
          {},
          board.rows.map((row) =>
            h(
              "tr",
              { "data-model": row.model },
              h("td", {}, row.statistical_rank === row.rank ? row.rank : `${row.rank} (${row.statistical_rank})`),
              h("th", { scope: "row" }, row.model),
              h("td", { class: "number" }, fixed(row.bradley_terry)),
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

  async function exportFile(path, filename, type) {
    try {
      download(filename, await apiText(path), type);
    } catch (error) {
      announce(error.message, "error");
    }
  }

  document.addEventListener("camelid:voted", () => void refresh());
  const element = h(
    "section",
    { id: "view-leaderboard", class: "view", "aria-labelledby": "leaderboard-heading" },
    h("h2", { id: "leaderboard-heading" }, "Leaderboard"),
    h(
      "div",
      { class: "toolbar" },
      h("button", { type: "button", id: "leaderboard-refresh", onclick: () => refresh() }, "Refresh"),
      h("button", { type: "button", id: "export-battles", onclick: () => exportFile("/api/arena/export/battles.json", "arena-battles.json", "application/json") }, "Export battles JSON"),
      h("button", { type: "button", id: "export-preferences", onclick: () => exportFile("/api/arena/export/preferences.jsonl", "arena-preferences.jsonl", "application/x-ndjson") }, "Export DPO pairs JSONL"),
    ),
    summary,
    table,
    matrix,
    warnings,
  );
  return { element, activate: refresh };
}
