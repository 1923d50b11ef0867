// @ts-check
// Evaluation results in the server's data dir (`<data dir>/eval/<name>`, FastChat llm_judge's layout:
// question.jsonl, model_answer/, model_judgment/), read-only: `camelid eval show`'s tables and charts for
// every judgment file, and a question browser after FastChat's qa_browser: pick a category and a
// question, see each model's answer side by side and every judge's reasoning and verdict beside them.
import { api, errorMessage, errorStatus } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

/**
 * @typedef {import("../../src/eval/report/tables.js").Report} Report
 * @typedef {import("../../src/eval/report/tables.js").ReportTable} ReportTable
 * @typedef {import("../../src/eval/report/report-charts.js").ChartFile} ChartFile
 * @typedef {import("../../src/server/routes/eval-results.js").QuestionJudgment} QuestionJudgment
 * @typedef {import("../../src/server/routes/eval-results.js").EvalShownReport} ShownReport
 * @typedef {import("../../src/server/routes/eval-results.js").EvalResultsDetail} EvalResults
 * @typedef {import("../../src/server/routes/eval-results.js").EvalResultList} EvalResultList
 * @typedef {import("../../src/server/routes/eval-results.js").EvalQuestionList} EvalQuestionList
 * @typedef {import("../../src/server/routes/eval-results.js").EvalQuestionSummary} QuestionSummary
 * @typedef {import("../../src/server/routes/eval-results.js").EvalQuestionDetail} QuestionDetail
 */

/** Object URLs of the charts shown now, revoked when others replace them. */
const chartUrls = new Set();

/** @param {ChartFile} chart @param {string} title */
function chartImage(chart, title) {
  const url = URL.createObjectURL(new Blob([chart.svg], { type: "image/svg+xml" }));
  chartUrls.add(url);
  return h("figure", { class: "chart", "data-chart": chart.fileName }, h("img", { src: url, alt: `${chart.fileName.replace(/\.svg$/, "").replace(/-/g, " ")} of ${title}`, class: "chart-image" }), h("figcaption", {}, chart.fileName));
}

/** @param {ReportTable} table @param {string} id */
function reportTable(table, id) {
  // A table wider than a phone scrolls inside its box, which keyboard users must be able to focus.
  return h(
    "div",
    { class: "table-scroll", tabindex: 0, role: "region", "aria-label": table.title },
    h(
      "table",
      { id },
      h("caption", {}, table.title),
      h("thead", {}, h("tr", {}, table.headers.map((header) => h("th", { scope: "col" }, header)))),
      h("tbody", {}, table.rows.map((row) => h("tr", { "data-row": row[0] }, row.map((cell, index) => (index === 0 ? h("th", { scope: "row" }, cell) : h("td", { class: table.numeric?.[index] ? "number" : null }, cell)))))),
    ),
  );
}

/** @param {ShownReport} report @param {number} index */
function reportSection(report, index) {
  const title = `${report.title} — ${report.file}`;
  return h(
    "section",
    { class: "eval-report", "data-file": report.file, "data-kind": report.kind, "aria-label": title },
    h("h3", {}, report.title),
    h("p", { class: "meta" }, `${report.file}${report.judge ? ` · judge ${report.judge}` : ""}`),
    report.warnings.length ? h("ul", { class: "warnings" }, report.warnings.map((warning) => h("li", {}, warning))) : null,
    report.tables.map((table, tableIndex) => reportTable(table, `eval-table-${index}-${tableIndex}`)),
    report.charts.length ? h("div", { class: "eval-charts" }, report.charts.map((chart) => chartImage(chart, title))) : null,
    report.notes.length ? h("ul", { class: "notes" }, report.notes.map((note) => h("li", {}, note))) : null,
  );
}

/** @param {string} text */
function markdownBlock(text) {
  const block = h("div", { class: "markdown" });
  block.innerHTML = renderMarkdown(text);
  return block;
}

export function createEvalView() {
  const picker = h("select", { id: "eval-result" });
  const summary = h("p", { id: "eval-summary" });
  const reports = h("div", { id: "eval-reports" });
  const category = h("select", { id: "eval-category" });
  const question = h("select", { id: "eval-question" });
  const modelA = h("select", { id: "eval-model-a" });
  const modelB = h("select", { id: "eval-model-b" });
  const previous = h("button", { type: "button", id: "eval-previous", onclick: () => step(-1) }, "Previous");
  const next = h("button", { type: "button", id: "eval-next", onclick: () => step(1) }, "Next");
  const shownQuestion = h("div", { id: "eval-question-view", "aria-live": "polite" });
  /** @type {QuestionSummary[]} */
  let questions = [];
  /** @type {string | null} */
  let resultName = null;
  let generation = 0;

  const inCategory = () => questions.filter((q) => q.category === category.value);

  function fillQuestions() {
    const previousValue = question.value;
    const list = inCategory();
    replaceChildren(question, list.map((q) => h("option", { value: String(q.question_id) }, `${q.question_id}: ${q.preview}${q.judged ? "" : " (not judged)"}`)));
    if (list.some((q) => String(q.question_id) === previousValue)) question.value = previousValue;
  }

  /** Next or previous question in the category, wrapping into the next category at its ends. @param {number} by */
  function step(by) {
    const all = questions;
    const index = all.findIndex((q) => String(q.question_id) === question.value);
    const target = all[(index + by + all.length) % all.length];
    if (!target) return;
    category.value = target.category;
    fillQuestions();
    question.value = String(target.question_id);
    void showQuestion();
  }

  /** @param {QuestionDetail} detail */
  function renderQuestion(detail) {
    const models = [modelA.value, modelB.value].filter(Boolean);
    const answers = models.map((model) => detail.answers.find((answer) => answer.model === model) ?? { model, turns: [], prompt_format: null });
    const turns = detail.question.turns.map((text, turn) =>
      h(
        "div",
        { class: "eval-turn", "data-turn": turn + 1 },
        h("h4", {}, turn === 0 ? "User" : "User's follow-up question"),
        markdownBlock(text),
        h(
          "div",
          { class: `columns ${answers.length > 1 ? "two" : ""}` },
          answers.map((answer, side) =>
            h(
              "article",
              { class: "eval-answer", "data-model": answer.model, "data-side": side === 0 ? "a" : "b" },
              h("h5", {}, `Assistant ${side === 0 ? "A" : "B"}: ${answer.model}`),
              answer.turns[turn] !== undefined ? markdownBlock(answer.turns[turn].trim()) : h("p", { class: "hint" }, "No answer for this turn."),
            ),
          ),
        ),
      ),
    );
    const reference = detail.question.reference?.filter(Boolean) ?? [];
    // The judgments on what is shown: a single grade of a shown model, a comparison of the shown pair
    // (qa_browser's two tabs, single answer grading and pairwise comparison, on one page).
    const judgments = detail.judgments.filter((judgment) => judgment.models.every((model) => models.includes(model)));
    replaceChildren(
      shownQuestion,
      h("p", { class: "meta" }, `Question ${detail.question.question_id} · ${detail.question.category}`),
      turns,
      reference.length ? h("div", { class: "eval-reference" }, h("h4", {}, "Reference solution"), reference.map((text, turn) => h("div", {}, h("strong", {}, `Q${turn + 1}. `), markdownBlock(text)))) : null,
      h(
        "div",
        { id: "eval-judgments" },
        h("h4", {}, "Judgments"),
        judgments.length === 0
          ? h("p", { class: "hint" }, "No judgment of these models on this question.")
          : judgments.map((judgment) =>
              h(
                "section",
                { class: "eval-judgment", "data-kind": judgment.kind, "data-models": judgment.models.join(","), "data-turn": judgment.turn },
                h("h5", {}, `${judgment.judge ?? "judge"} · ${judgment.kind} · turn ${judgment.turn}${judgment.repeat ? ` · repeat ${judgment.repeat}` : ""}: `, h("span", { class: "verdict" }, judgment.verdict)),
                judgment.games.map((game) => h("div", { class: "eval-game" }, h("p", { class: "meta" }, game.label), h("p", { class: "judgment-text" }, game.judgment))),
                h("p", { class: "meta" }, judgment.file),
              ),
            ),
      ),
    );
  }

  async function showQuestion() {
    const mine = ++generation;
    const name = resultName;
    const id = question.value;
    if (!name || !id) {
      replaceChildren(shownQuestion, h("p", { class: "hint" }, "No questions in this result."));
      return;
    }
    delete shownQuestion.dataset.questionId;
    try {
      const detail = /** @type {QuestionDetail} */ (await api("GET", `/api/eval/results/${encodeURIComponent(name)}/questions/${encodeURIComponent(id)}`));
      if (mine !== generation) return;
      renderQuestion(detail);
      shownQuestion.dataset.questionId = id;
      shownQuestion.dataset.models = [modelA.value, modelB.value].filter(Boolean).join(",");
    } catch (error) {
      if (mine !== generation) return;
      replaceChildren(shownQuestion, h("p", { class: "error" }, errorMessage(error)));
      shownQuestion.dataset.questionId = "";
    }
  }

  /** @param {string} name */
  async function show(name) {
    delete element.dataset.shown;
    resultName = name;
    for (const url of chartUrls) URL.revokeObjectURL(url);
    chartUrls.clear();
    try {
      const results = /** @type {EvalResults} */ (await api("GET", `/api/eval/results/${encodeURIComponent(name)}`));
      const browser = /** @type {EvalQuestionList} */ (await api("GET", `/api/eval/results/${encodeURIComponent(name)}/questions`));
      summary.textContent = `${results.questions ?? "no"} questions, ${results.models.length} model(s) with answers (${results.models.join(", ") || "none"}), ${results.reports.length} report(s).`;
      replaceChildren(
        reports,
        results.problems.length ? h("ul", { class: "warnings", id: "eval-problems" }, results.problems.map((problem) => h("li", {}, `${problem.file}: ${problem.message}`))) : null,
        results.reports.map((report, index) => reportSection(report, index)),
      );
      questions = browser.questions;
      replaceChildren(category, browser.categories.map((name) => h("option", { value: name }, name)));
      const judgedModels = results.models;
      replaceChildren(modelA, judgedModels.map((model) => h("option", { value: model }, model)));
      replaceChildren(modelB, h("option", { value: "" }, "— none (single answers) —"), judgedModels.map((model) => h("option", { value: model }, model)));
      modelA.value = judgedModels[0] ?? "";
      modelB.value = judgedModels[1] ?? "";
      fillQuestions();
      element.dataset.shown = name;
      await showQuestion();
    } catch (error) {
      summary.textContent = errorMessage(error);
      replaceChildren(reports);
      element.dataset.shown = "";
    }
  }

  async function refresh() {
    /** @type {EvalResultList} */
    let list;
    try {
      list = /** @type {EvalResultList} */ (await api("GET", "/api/eval/results"));
    } catch (error) {
      const status = errorStatus(error);
      summary.textContent = status === 404 ? "This server shows no evaluation results." : errorMessage(error);
      element.dataset.shown = "";
      return;
    }
    const before = picker.value;
    replaceChildren(picker, list.data.map((result) => h("option", { value: result.name }, `${result.name} (${result.judgment_files.length} judgment file(s))`)));
    if (list.data.length === 0) {
      summary.textContent = "No evaluation results yet: put camelid eval's files in <data dir>/eval/<name>/ as FastChat lays them out (question.jsonl, model_answer/<model>.jsonl, model_judgment/<judge>_single.jsonl or _pair.jsonl).";
      element.dataset.shown = "";
      return;
    }
    picker.value = list.data.some((result) => result.name === before) ? before : list.data[0].name;
    await show(picker.value);
  }

  picker.addEventListener("change", () => void show(picker.value));
  category.addEventListener("change", () => {
    fillQuestions();
    void showQuestion();
  });
  for (const select of [question, modelA, modelB]) select.addEventListener("change", () => void showQuestion());

  // (a button, not a #link: the URL hash names the open tab)
  const toQuestions = h("button", { type: "button", id: "eval-to-questions", onclick: () => document.getElementById("eval-browser")?.scrollIntoView() }, "Browse questions");
  const element = h(
    "section",
    { id: "view-eval", class: "view", "aria-labelledby": "eval-heading" },
    h(
      "div",
      { class: "toolbar" },
      h("h2", { id: "eval-heading", class: "title" }, "Evaluations"),
      h("label", { for: "eval-result" }, "Result"),
      picker,
      h("button", { type: "button", id: "eval-refresh", onclick: () => void refresh() }, "Refresh"),
      toQuestions,
    ),
    summary,
    h("p", { class: "hint" }, "Safety evaluations (camelid eval safety) are in the ", h("a", { href: "#safety" }, "Safety tab"), "."),
    reports,
    h(
      "section",
      { id: "eval-browser", "aria-labelledby": "eval-browser-heading" },
      h("h3", { id: "eval-browser-heading" }, "Questions, answers and judgments"),
      h(
        "div",
        { class: "toolbar" },
        h("label", { for: "eval-category" }, "Category"),
        category,
        h("label", { for: "eval-question" }, "Question"),
        question,
        previous,
        next,
      ),
      h("div", { class: "toolbar" }, h("label", { for: "eval-model-a" }, "Model A"), modelA, h("label", { for: "eval-model-b" }, "Model B"), modelB),
      shownQuestion,
    ),
  );
  return { element, activate: refresh };
}
