// @ts-check
// Training runs in the server's data dir (`camelid train --out <data dir>/runs/<name>`), read-only: each
// run's state, live charts from metrics.jsonl (those of training-charts.js; only the lines appended since
// the last read are fetched, from a cursor), its resolved settings and its outputs, and "Serve this
// adapter", which adds the run's base model with its adapter to the running server as a new model.
import { api, apiText, errorMessage, errorStatus } from "./api.js";
import { announce, h, replaceChildren } from "./dom.js";
import { createLineChart } from "./line-chart.js";
import { chartApplies, seriesPoints, trainingCharts } from "./training-charts.js";

/**
 * @typedef {import("../../src/train/metrics-log.js").MetricRecord} MetricRecord
 * @typedef {import("../../src/train/run-status.js").TrainingRunState} RunState
 * @typedef {import("../../src/server/routes/training-runs.js").TrainingRunSummary} RunSummary
 * @typedef {import("../../src/server/routes/training-runs.js").TrainingRunList} RunList
 * @typedef {import("../../src/server/routes/training-runs.js").TrainingRunDetail} RunDetail
 * @typedef {import("../../src/server/routes/training-runs.js").TrainingMetricsPage} MetricsPage
 * @typedef {import("../../src/server/routes/training-runs.js").ServedAdapter} ServedAdapter
 */

/** How often a running run's metrics are read again. */
const pollMs = 1000;
/** The open run survives the reload that follows "Serve this adapter". */
const openRunKey = "camelid.train.run";

/** @param {number} bytes */
const size = (bytes) => (bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`);
/** @param {unknown} value */
const shown = (value) => (Array.isArray(value) ? value.join(", ") : typeof value === "object" && value !== null ? JSON.stringify(value) : String(value));

/**
 * A JSON object read from a run's files (the server passes them on unchecked), or null for anything else.
 * @param {unknown} value
 * @returns {Record<string, unknown> | null}
 */
const objectOf = (value) => (typeof value === "object" && value !== null && !Array.isArray(value) ? /** @type {Record<string, unknown>} */ (value) : null);

/** @param {RunState} state */
const badge = (state) => h("span", { class: `run-state state-${state}`, "data-state": state }, state);

export function createTrainView() {
  const list = h("ul", { id: "train-runs", class: "run-list" });
  const hint = h("p", { id: "train-hint", class: "hint" });
  const detail = h("div", { id: "train-run", class: "run-detail" });
  /** @type {string | null} */
  let openName = null;
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  /** Bumped whenever another run opens, so a late answer about the previous run is dropped. */
  let generation = 0;

  /** @param {RunSummary[]} runs */
  function renderList(runs) {
    replaceChildren(
      list,
      runs.map((run) =>
        h(
          "li",
          { "data-run": run.name, "data-state": run.state },
          h(
            "button",
            { type: "button", class: "run-pick", "aria-current": run.name === openName ? "true" : null, onclick: () => void open(run.name) },
            h("span", { class: "run-name" }, run.name),
            badge(run.state),
            run.final_loss !== null ? h("span", { class: "meta" }, `loss ${run.final_loss.toFixed(3)}`) : null,
            run.served_as ? h("span", { class: "meta" }, `served as ${run.served_as}`) : null,
          ),
        ),
      ),
    );
  }

  /** @param {string} name @param {RunDetail} run */
  function settingsTable(name, run) {
    const recipe = objectOf(run.report?.recipe) ?? run.recipe;
    if (!recipe) return h("p", { class: "hint" }, "No recipe.yaml in this run.");
    const config = objectOf(run.report?.config);
    const extra = config ? { model: config.modelPath, data: config.dataPath, "prompt format": run.report?.promptFormat } : {};
    const rows = Object.entries({ ...extra, ...recipe }).filter(([, value]) => value !== undefined);
    return h(
      "div",
      { class: "table-scroll", tabindex: 0, role: "region", "aria-label": `Settings of ${name}` },
      h("table", { id: "train-settings" }, h("caption", {}, "Settings"), h("tbody", {}, rows.map(([key, value]) => h("tr", { "data-setting": key }, h("th", { scope: "row" }, key), h("td", {}, shown(value)))))),
    );
  }

  /** @param {string} name @param {RunDetail} run */
  function outputsTable(name, run) {
    if (run.outputs.length === 0) return h("p", { class: "hint" }, "No outputs yet.");
    return h(
      "div",
      { class: "table-scroll", tabindex: 0, role: "region", "aria-label": `Files of ${name}` },
      h(
        "table",
        { id: "train-outputs" },
        h("caption", {}, "Outputs"),
        h("thead", {}, h("tr", {}, ["File", "Kind", "Size"].map((label) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, run.outputs.map((output) => h("tr", { "data-file": output.file }, h("td", {}, output.file), h("td", {}, output.kind), h("td", { class: "number" }, size(output.bytes))))),
      ),
    );
  }

  /** The run's own loss.svg (drawn by camelid train from the whole log) as an image from a blob. @param {string} name @param {HTMLElement} into */
  async function showLossSvg(name, into) {
    try {
      const text = await apiText(`/api/train/runs/${encodeURIComponent(name)}/files/loss.svg`);
      const url = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
      replaceChildren(into, h("figure", { class: "chart" }, h("figcaption", {}, "loss.svg (written by camelid train)"), h("img", { src: url, alt: `Loss chart of ${name} as camelid train drew it`, class: "chart-image" })));
    } catch {
      replaceChildren(into);
    }
  }

  /** @param {string} name */
  async function serve(name) {
    const button = /** @type {HTMLButtonElement | null} */ (detail.querySelector("#train-serve"));
    if (button) button.disabled = true;
    try {
      const served = /** @type {ServedAdapter} */ (await api("POST", `/api/train/runs/${encodeURIComponent(name)}/serve`, {}));
      announce(`Serving ${served.id}: reloading so every model picker lists it`);
      sessionStorage.setItem(openRunKey, name);
      location.reload();
    } catch (error) {
      announce(errorMessage(error), "error");
      if (button) button.disabled = false;
    }
  }

  /** @param {string} name */
  async function open(name) {
    const mine = ++generation;
    if (timer) clearTimeout(timer);
    openName = name;
    sessionStorage.setItem(openRunKey, name);
    for (const button of list.querySelectorAll(".run-pick")) {
      if (button.closest("li")?.dataset.run === name) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
    delete element.dataset.run;
    /** @type {RunDetail} */
    let run;
    try {
      run = /** @type {RunDetail} */ (await api("GET", `/api/train/runs/${encodeURIComponent(name)}`));
    } catch (error) {
      replaceChildren(detail, h("p", { class: "error" }, errorMessage(error)));
      return;
    }
    if (mine !== generation) return;
    const charts = trainingCharts.map((definition) => ({ definition, chart: createLineChart(definition) }));
    const chartBox = h("div", { class: "run-charts" }, charts.filter(({ definition }) => definition.onlyWith === undefined).map(({ chart }) => chart.element));
    /**
     * Each chart gains its points among the records; one that only some runs have (DPO's) is shown once they come.
     * @param {MetricRecord[]} records
     */
    const chartRecords = (records) => {
      for (const { definition, chart } of charts) {
        if (!chartBox.contains(chart.element)) {
          if (!chartApplies(definition, records)) continue;
          chartBox.append(chart.element);
        }
        for (const series of definition.series) chart.add(series.name, seriesPoints(series, records));
        chart.draw();
      }
    };
    const lossSvg = h("div", { class: "run-chart-file" });
    const servable = run.outputs.some((output) => output.file === "adapter.gguf") && run.serve_config !== null;
    const serveButton = h(
      "button",
      { type: "button", id: "train-serve", class: "primary", disabled: !run.can_serve || !servable || run.served_as !== null, onclick: () => void serve(name) },
      "Serve this adapter",
    );
    const stateLine = h("p", { id: "train-run-state", "data-state": run.state }, badge(run.state), " ", run.reason);
    replaceChildren(
      detail,
      h("h3", { id: "train-run-title" }, name),
      stateLine,
      chartBox,
      h(
        "div",
        { class: "toolbar" },
        serveButton,
        h(
          "p",
          { id: "train-served", "data-served": run.served_as ?? "" },
          run.served_as
            ? `Served as ${run.served_as}: pick it in any model picker.`
            : !run.can_serve
              ? "This server cannot load local models."
              : servable
                ? "Adds the base model with this adapter to the running server."
                : "The adapter is written when the run ends.",
        ),
      ),
      h("p", { class: "meta" }, "Settings after defaults, recipe and flags, as the run trained with them; outputs as the run folder holds them."),
      settingsTable(name, run),
      outputsTable(name, run),
      lossSvg,
    );
    if (run.outputs.some((output) => output.file === "loss.svg")) void showLossSvg(name, lossSvg);
    element.dataset.run = name;

    /** @type {string | null} */
    let cursor = null;
    const follow = async () => {
      if (mine !== generation) return;
      if (element.hidden) {
        // another tab is shown: keep the cursor, read again once this tab is back
        timer = setTimeout(() => void follow(), pollMs);
        return;
      }
      /** @type {MetricsPage} */
      let page;
      try {
        page = /** @type {MetricsPage} */ (await api("GET", `/api/train/runs/${encodeURIComponent(name)}/metrics${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`));
      } catch (error) {
        announce(errorMessage(error), "error");
        return;
      }
      if (mine !== generation) return;
      if (page.reset) for (const { chart } of charts) chart.clear();
      cursor = page.cursor;
      chartRecords(page.records);
      if (page.state !== run.state) {
        // The run ended (or started again): its outputs and settings changed with it.
        void open(name);
        void refreshList();
        return;
      }
      element.dataset.metrics = cursor;
      if (page.state === "running") timer = setTimeout(() => void follow(), pollMs);
    };
    await follow();
  }

  async function refreshList() {
    /** @type {RunList} */
    let runs;
    try {
      runs = /** @type {RunList} */ (await api("GET", "/api/train/runs"));
    } catch (error) {
      const status = errorStatus(error);
      hint.textContent = status === 404 ? "This server shows no training runs." : errorMessage(error);
      element.dataset.loaded = "true";
      return null;
    }
    renderList(runs.data);
    hint.textContent =
      runs.data.length === 0
        ? "No training runs yet: camelid train --out <data dir>/runs/<name> writes one here (the data dir is camelid serve's --data-dir, .camelid by default)."
        : `${runs.data.length} run(s) in <data dir>/runs. A run is running while its process lives, finished when run.json says so, failed with failed.json, interrupted otherwise (camelid train --resume continues it).`;
    element.dataset.loaded = "true";
    return runs.data;
  }

  async function activate() {
    const runs = await refreshList();
    if (!runs || runs.length === 0) return;
    const wanted = openName ?? sessionStorage.getItem(openRunKey);
    const name = runs.some((run) => run.name === wanted) ? wanted : runs[0].name;
    if (name && (name !== openName || !element.dataset.run)) await open(name);
  }

  const element = h(
    "section",
    { id: "view-train", class: "view", "aria-labelledby": "train-heading" },
    h("div", { class: "toolbar" }, h("h2", { id: "train-heading", class: "title" }, "Training runs"), h("button", { type: "button", id: "train-refresh", onclick: () => void refreshList() }, "Refresh")),
    hint,
    h("div", { class: "train-layout" }, h("nav", { "aria-label": "Training runs" }, list), detail),
  );
  return { element, activate };
}
