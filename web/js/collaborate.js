// @ts-check
// Collaboration: several models answer the same prompt, then an aggregator model combines their
// answers with an editable merge prompt. Every part (each answer, the filled merge prompt, the
// merged answer) stays on screen. A session keeps its settings (models, aggregator, merge prompt,
// sampling) and every run's results on the server, listed beside the form and reopened by its
// address (#collaborate/<id>); another Run in a reopened session adds to it.
import { announce, composer, h, replaceChildren } from "./dom.js";
import { defaultMergePrompt, fillMergePrompt } from "./merge-prompt.js";
import { checkedModels, checkModels } from "./model-picks.js";
import { createSavedSessions } from "./saved-sessions.js";
import { requestFields } from "./settings-form.js";
import { paintStoredAnswer, streamStoredAnswer } from "./stored-answer.js";
import { createTranscript } from "./transcript.js";

/** @typedef {import("../../src/server/routes/playground-session-schemas.js").CollaborateState} CollaborateState */
/** @typedef {CollaborateState["runs"][number]} CollaborateRun */
/** @typedef {CollaborateRun["answers"][number]} StoredAnswer */
/** @typedef {import("../../src/spec/index.js").ChatMessage} ChatMessage */

/** @param {{ models: string[], settingsForms: import("./settings-form.js").SettingsForms }} options the served models' ids and the page's settings forms */
export function createCollaborateView({ models, settingsForms }) {
  const settings = settingsForms.create({ window: false });
  const picks = models.map((id, index) =>
    h("label", { class: "check", "data-model-pick": id }, h("input", { type: "checkbox", value: id, checked: index < 2, name: "collab-model" }), id),
  );
  const aggregator = h("select", { id: "collab-aggregator" }, models.map((id) => h("option", { value: id, "data-model-pick": id }, id)));
  const mergePrompt = h("textarea", { id: "collab-merge-prompt", rows: 8, value: defaultMergePrompt });
  const question = h("textarea", { id: "collab-input", rows: 3, placeholder: "The prompt every model answers (Ctrl+Enter runs)", "aria-label": "Prompt" });
  const runButton = h("button", { type: "submit", class: "primary", id: "collab-run" }, "Run");
  const stopButton = h("button", { type: "button", id: "collab-stop", disabled: true, onclick: () => controller?.abort() }, "Stop");
  const output = h("div", { class: "collab-output", id: "collab-output" });
  /**
   * The open session's document: the form's settings and every run (null: nothing run yet).
   * @type {CollaborateState | null}
   */
  let state = null;
  /** @type {AbortController | null} */
  let controller = null;
  const formatModels = () => [...new Set([...checkedModels(picks), aggregator.value])];
  settings.watchModels(formatModels);
  for (const picker of [...picks, aggregator]) picker.addEventListener("change", () => settings.watchModels(formatModels));

  const sessions = createSavedSessions({
    kind: "collaborate",
    prefix: "collab",
    label: "Collaboration sessions",
    noun: "collaboration session",
    isBusy: () => controller !== null,
    show(session) {
      // A collaboration session's document, as the server validated it (collaborateStateSchema).
      const opened = /** @type {CollaborateState | null} */ (session?.state ?? null);
      state = opened;
      if (opened) {
        settings.load(opened.settings);
        checkModels(picks, opened.models);
        if (opened.aggregator && models.includes(opened.aggregator)) aggregator.value = opened.aggregator;
        mergePrompt.value = opened.merge_prompt;
      }
      paint();
      setBusy(false);
    },
  });
  const persist = () => sessions.persist(() => state);

  const chosenModels = () => checkedModels(picks);

  /**
   * The form as a session keeps it.
   * @param {import("./settings-form.js").SettingsValues} values
   * @returns {Omit<CollaborateState, "runs">}
   */
  function formState(values) {
    return {
      models: chosenModels(),
      aggregator: aggregator.value || null,
      merge_prompt: mergePrompt.value,
      settings: Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)),
    };
  }

  /** @param {boolean} busy */
  function setBusy(busy) {
    runButton.disabled = busy;
    stopButton.disabled = !busy;
    sessions.paintActions(busy);
    output.dataset.state = busy ? "streaming" : state ? "ready" : "empty";
  }

  /** Adds one run's block (its answers, the merge prompt sent, the merged answer); returns its parts. @param {CollaborateRun} run */
  function paintRun(run) {
    const answerColumns = run.models.map((model) => ({ model, transcript: createTranscript(model) }));
    const mergeTranscript = createTranscript("Merged answer");
    output.querySelector("#collab-filled-prompt")?.removeAttribute("id");
    const filled = h("pre", { class: "exact-prompt", id: "collab-filled-prompt", tabindex: 0 }, run.filled_prompt ?? "");
    output.append(
      h(
        "section",
        { class: "collab-run" },
        h("h3", {}, "Answers"),
        h("p", { class: "collab-question" }, run.question),
        h("div", { class: "columns" }, answerColumns.map((column) => h("section", { class: "column" }, h("h4", {}, column.model), column.transcript.element))),
        h("details", { class: "inspector" }, h("summary", {}, "Merge prompt sent to the aggregator"), filled),
        h("h3", {}, `Merged by ${run.aggregator}`),
        h("section", { class: "column merged" }, mergeTranscript.element),
      ),
    );
    return { answerColumns, mergeTranscript, filled };
  }

  /** Draws every run of the open session as it ended. */
  function paint() {
    replaceChildren(output);
    for (const run of state?.runs ?? []) {
      const parts = paintRun(run);
      run.answers.forEach((answer, index) => paintStoredAnswer(parts.answerColumns[index].transcript.addMessage("assistant", answer.text, answer.model), answer));
      if (run.merged) paintStoredAnswer(parts.mergeTranscript.addMessage("assistant", run.merged.text, run.merged.model), run.merged);
    }
  }

  /** @param {string} model @returns {StoredAnswer} */
  const pending = (model) => ({ model, text: "", status: "pending", finish_reason: null });

  async function run() {
    const text = question.value.trim();
    const chosen = chosenModels();
    if (!text || controller) return;
    if (chosen.length < 1) return announce("Select at least one model to answer", "error");
    const problem = settings.validate();
    if (problem) return announce(problem, "error");
    const values = settings.values();
    /** @type {ChatMessage[]} */
    const system = values.system_prompt ? [{ role: "system", content: values.system_prompt }] : [];
    /** @type {CollaborateRun} */
    const current = { question: text, models: chosen, aggregator: aggregator.value, merge_prompt: mergePrompt.value, answers: chosen.map(pending), filled_prompt: null, merged: null };
    state = { ...formState(values), runs: [...(state?.runs ?? []), current] };
    const { signal } = (controller = new AbortController());
    setBusy(true);
    void persist();
    const parts = paintRun(current);
    try {
      const finished = await Promise.all(
        parts.answerColumns.map(async (column, index) => {
          const view = column.transcript.addMessage("assistant", "", column.model);
          const ok = await streamStoredAnswer(view, current.answers[index], { model: column.model, messages: [...system, { role: "user", content: text }], ...requestFields(values) }, signal);
          void persist();
          return ok;
        }),
      );
      const usable = current.answers.filter((answer, i) => finished[i] && answer.text.trim() !== "").map((answer) => ({ model: answer.model, text: answer.text }));
      if (signal.aborted) return announce("Stopped");
      if (usable.length === 0) return announce("No answer to merge", "error");
      const prompt = fillMergePrompt(current.merge_prompt, text, usable);
      current.filled_prompt = prompt;
      const merged = pending(current.aggregator);
      current.merged = merged;
      parts.filled.textContent = prompt;
      void persist();
      const view = parts.mergeTranscript.addMessage("assistant", "", current.aggregator);
      await streamStoredAnswer(view, merged, { model: current.aggregator, messages: [...system, { role: "user", content: prompt }], ...requestFields(values) }, signal);
      announce("Merged answer finished");
    } finally {
      await persist();
      controller = null;
      setBusy(false);
      await sessions.refreshList();
    }
  }

  const element = h(
    "section",
    { id: "view-collaborate", class: "view chat-view", "aria-labelledby": "collab-heading" },
    sessions.sidebar,
    h(
      "div",
      { class: "chat-main" },
      h("div", { class: "toolbar" }, sessions.sidebarToggle, h("h2", { id: "collab-heading", class: "title" }, "Collaboration"), sessions.actionButtons),
      h("fieldset", { class: "model-picks" }, h("legend", {}, "Answering models"), picks),
      h("label", { for: "collab-aggregator", class: "inline-label" }, "Aggregator", aggregator),
      h("label", { for: "collab-merge-prompt", class: "block-label" }, "Merge prompt ({question} and {answers} are filled in)", mergePrompt),
      settings.element,
      composer({ input: question, buttons: [runButton, stopButton], onSend: () => void run(), onEscape: () => controller?.abort(), enterSends: false }),
      output,
    ),
  );
  setBusy(false);
  return { element, activate: (/** @type {string | null} */ sessionId = null) => sessions.activate(sessionId) };
}
