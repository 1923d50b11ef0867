// @ts-check
// Safety reports written by `camelid eval safety --out <data dir>/safety/<name>`, read-only: violation %
// per risk category and false refusals with their 95% bootstrap intervals, judge/detector agreement,
// and the warnings (unreadable verdicts and failed judge calls are errors, never safe).
import { api, errorMessage, errorStatus } from "./api.js";
import { h, replaceChildren } from "./dom.js";

/** @typedef {import("../../src/eval/safety/safety-report.js").SafetyReportFile} SafetyReportFile */
/** @typedef {import("../../src/eval/safety/safety-results.js").Rate} Rate */
/** @typedef {import("../../src/server/routes/safety-reports.js").SafetyReportList} SafetyReportList */

/** @param {number | null | undefined} value */
const percent = (value) => (value === null || value === undefined ? "—" : `${(100 * value).toFixed(1)}%`);
/** @param {Rate} rate */
const interval = (rate) => (rate.lower === null ? "—" : `${percent(rate.lower)} – ${percent(rate.upper)}`);

/**
 * @param {string} id
 * @param {string} caption
 * @param {string[]} headers
 * @param {[label: string, ...cells: (string | number)[]][]} rows
 */
function rateTable(id, caption, headers, rows) {
  return h(
    "div",
    { class: "table-scroll", tabindex: 0 },
    h(
      "table",
      { id },
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, headers.map((label) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, rows.map(([label, ...cells]) => h("tr", { "data-category": label }, h("th", { scope: "row" }, label), cells.map((cell) => h("td", { class: "number" }, cell))))),
    ),
  );
}

export function createSafetyView() {
  const picker = h("select", { id: "safety-report" });
  const summary = h("p", { id: "safety-summary" });
  const tables = h("div", { id: "safety-tables" });
  const warnings = h("ul", { class: "warnings", id: "safety-warnings" });
  const notes = h("ul", { class: "notes", id: "safety-notes" });

  /** @param {string} name @param {SafetyReportFile} report */
  function render(name, report) {
    const { results } = report;
    summary.textContent =
      `${results.model}, judged by ${results.judge} with the ${results.rubric} rubric (${report.created}): ` +
      `${percent(results.violation.rate)} violations (95% interval ${interval(results.violation)}) on ${results.violation.total} adversarial prompts, ` +
      `${percent(results.falseRefusal.rate)} false refusals on ${results.falseRefusal.total} borderline prompts.`;
    const adversarial = results.categories.filter((c) => c.violation.total > 0 || c.errors + c.unreadable > 0);
    const borderline = results.categories.filter((c) => c.falseRefusalDetector.total > 0);
    const agreement = results.agreement;
    replaceChildren(
      tables,
      rateTable(
        "safety-violations",
        "Violations per risk category (adversarial prompts)",
        ["Category", "Violations", "Judged", "Violation %", "95% interval", "Unreadable", "Errors"],
        [...adversarial, { category: "all", violation: results.violation, unreadable: results.unreadable, errors: results.errors }].map((c) => [
          c.category, c.violation.count, c.violation.total, percent(c.violation.rate), interval(c.violation), c.unreadable, c.errors,
        ]),
      ),
      rateTable(
        "safety-refusals",
        `False refusals (borderline prompts, refused by ${results.falseRefusalSource === "judge" ? "the judge" : "the refusal detector"})`,
        ["Category", "Refused", "Prompts", "False refusal %", "95% interval", "By the detector"],
        [...borderline, { category: "all", falseRefusal: results.falseRefusal, falseRefusalDetector: results.falseRefusalDetector }].map((c) => [
          c.category, c.falseRefusal.count, c.falseRefusal.total, percent(c.falseRefusal.rate), interval(c.falseRefusal), percent(c.falseRefusalDetector.rate),
        ]),
      ),
      h(
        "p",
        { id: "safety-agreement" },
        agreement
          ? `Judge and refusal detector agree on ${agreement.agreed} of ${agreement.compared} answers (${percent(agreement.rate)}); judge only: ${agreement.judgeOnly}, detector only: ${agreement.detectorOnly}.`
          : `The ${results.rubric} rubric gives no refusal verdict: false refusals are the detector's.`,
      ),
      report.helpfulness ? h("p", { id: "safety-helpfulness" }, `Helpfulness: mean grade ${report.helpfulness.mean?.toFixed(2) ?? "—"} over ${report.helpfulness.scored} answers (judge ${report.helpfulness.judge}).`) : null,
    );
    replaceChildren(warnings, report.warnings.map((warning) => h("li", {}, warning)));
    replaceChildren(notes, report.notes.map((note) => h("li", {}, note)));
    element.dataset.shown = name;
  }

  /** @param {string} name */
  async function show(name) {
    delete element.dataset.shown;
    try {
      render(name, /** @type {SafetyReportFile} */ (await api("GET", `/api/safety/reports/${encodeURIComponent(name)}`)));
    } catch (error) {
      summary.textContent = errorMessage(error);
      replaceChildren(tables);
      replaceChildren(warnings);
      replaceChildren(notes);
      element.dataset.shown = "";
    }
  }

  async function refresh() {
    let list;
    try {
      list = /** @type {SafetyReportList} */ (await api("GET", "/api/safety/reports"));
    } catch (error) {
      summary.textContent = errorStatus(error) === 404 ? "This server shows no safety reports." : errorMessage(error);
      element.dataset.shown = "";
      return;
    }
    const previous = picker.value;
    replaceChildren(
      picker,
      list.data.map((report) => h("option", { value: report.name }, report.error !== undefined ? `${report.name} (unreadable)` : `${report.name}: ${report.model}, ${report.rubric}, ${percent(report.violation_rate)} violations`)),
    );
    if (list.data.length === 0) {
      summary.textContent = "No safety reports yet: run camelid eval safety --out <data dir>/safety/<name>.";
      replaceChildren(tables);
      element.dataset.shown = "";
      return;
    }
    picker.value = list.data.some((report) => report.name === previous) ? previous : list.data[0].name;
    await show(picker.value);
  }

  picker.addEventListener("change", () => void show(picker.value));
  const element = h(
    "section",
    { id: "view-safety", class: "view", "aria-labelledby": "safety-heading" },
    h("h2", { id: "safety-heading" }, "Safety"),
    h("div", { class: "toolbar" }, h("label", { for: "safety-report" }, "Report"), picker, h("button", { type: "button", id: "safety-refresh", onclick: () => refresh() }, "Refresh")),
    summary,
    tables,
    warnings,
    notes,
  );
  return { element, activate: refresh };
}
