// Arena, side by side: one prompt to N named models, answers streaming concurrently in columns,
// each column keeping its own multi-turn history. Every session is saved on the server as it goes
// (the turn when it is sent, each answer when it ends), listed beside the columns and reopened by
// its address (#arena/<id>): a reload reopens it, answers cut short by it marked as unfinished.
import { announce, composer, h, replaceChildren } from "./dom.js";
import { createSavedSessions } from "./saved-sessions.js";
import { createSettingsForm, requestFields } from "./settings-form.js";
import { paintStoredAnswer, streamStoredAnswer } from "./stored-answer.js";
import { createTranscript } from "./transcript.js";

export function createArenaView({ models }) {
  const settings = createSettingsForm({ window: false });
  const picks = models.map((id, index) =>
    h("label", { class: "check", "data-model-pick": id }, h("input", { type: "checkbox", value: id, checked: index < 2, name: "arena-model" }), id),
  );
  const columnsElement = h("div", { class: "columns", id: "arena-columns" });
  const input = h("textarea", { id: "arena-input", rows: 3, placeholder: "One prompt for every selected model (Enter sends)", "aria-label": "Prompt for all models" });
  const sendButton = h("button", { type: "submit", class: "primary", id: "arena-send" }, "Send to all");
  const stopButton = h("button", { type: "button", id: "arena-stop", disabled: true, onclick: () => controller?.abort() }, "Stop");
  const resetButton = h("button", { type: "button", id: "arena-reset", onclick: () => sessions.startNew() }, "New round");
  /** The open session's document: { models, settings, turns } (null: nothing sent yet). */
  let state = null;
  let columns = [];
  let controller = null;

  const sessions = createSavedSessions({
    kind: "arena",
    prefix: "arena",
    label: "Arena sessions",
    noun: "arena session",
    isBusy: () => controller !== null,
    show(session) {
      state = session?.state ?? null;
      if (state) {
        settings.load(state.settings);
        for (const label of picks) label.querySelector("input").checked = state.models.includes(label.dataset.modelPick);
      }
      paint();
      setBusy(false);
    },
  });
  const persist = () => sessions.persist(() => state);

  const selected = () => picks.map((label) => label.querySelector("input")).filter((box) => box.checked).map((box) => box.value);
  settings.watchModels(selected);
  for (const label of picks) label.addEventListener("change", () => settings.watchModels(selected));

  function setBusy(busy) {
    sendButton.disabled = busy;
    stopButton.disabled = !busy;
    resetButton.disabled = busy;
    sessions.paintActions(busy);
    columnsElement.dataset.state = busy ? "streaming" : state ? "ready" : "empty";
  }

  /** Draws the open session: a column per model, every turn with each answer as it ended. */
  function paint() {
    columns = [];
    if (!state) {
      replaceChildren(columnsElement, h("p", { class: "hint" }, "Pick two or more models, then send a prompt."));
      return;
    }
    replaceChildren(columnsElement);
    columns = state.models.map((model) => {
      const transcript = createTranscript(model);
      columnsElement.append(h("section", { class: "column" }, h("h3", {}, model), transcript.element));
      return { model, transcript };
    });
    for (const turn of state.turns) {
      for (const column of columns) {
        column.transcript.addMessage("user", turn.user_message).flush();
        const answer = turn.answers.find((candidate) => candidate.model === column.model);
        if (answer) paintStoredAnswer(column.transcript.addMessage("assistant", answer.text, column.model), answer);
      }
    }
  }

  /** A column's conversation so far: answers that failed or never finished are left out, as their turns. */
  function historyOf(model) {
    const messages = [];
    for (const turn of state.turns) {
      const answer = turn.answers.find((candidate) => candidate.model === model);
      if (answer?.status !== "done") continue;
      messages.push({ role: "user", content: turn.user_message }, { role: "assistant", content: answer.text });
    }
    return messages;
  }

  async function send() {
    const text = input.value.trim();
    if (!text || controller) return;
    const chosen = state ? state.models : selected();
    if (chosen.length < 1) return announce("Select at least one model", "error");
    const problem = settings.validate();
    if (problem) return announce(problem, "error");
    const values = settings.values();
    if (!state) {
      state = { models: chosen, settings: {}, turns: [] };
      paint();
    }
    state.settings = Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));
    const histories = new Map(state.models.map((model) => [model, historyOf(model)]));
    const turn = { user_message: text, answers: state.models.map((model) => ({ model, text: "", status: "pending", finish_reason: null })) };
    state.turns.push(turn);
    controller = new AbortController();
    setBusy(true);
    input.value = "";
    // Saved before any answer arrives: a reload mid-answer keeps the turn, its answers marked unfinished.
    void persist();
    const system = values.system_prompt ? [{ role: "system", content: values.system_prompt }] : [];
    await Promise.all(
      columns.map(async (column, index) => {
        column.transcript.addMessage("user", text).flush();
        const view = column.transcript.addMessage("assistant", "", column.model);
        const body = { model: column.model, messages: [...system, ...histories.get(column.model), { role: "user", content: text }], ...requestFields(values) };
        await streamStoredAnswer(view, turn.answers[index], body, controller.signal);
        void persist();
      }),
    );
    await persist();
    controller = null;
    setBusy(false);
    announce("All answers finished");
    await sessions.refreshList();
  }

  const element = h(
    "section",
    { id: "view-arena", class: "view chat-view", "aria-labelledby": "arena-heading" },
    sessions.sidebar,
    h(
      "div",
      { class: "chat-main" },
      h("div", { class: "toolbar" }, sessions.sidebarToggle, h("h2", { id: "arena-heading", class: "title" }, "Arena: side by side"), sessions.actionButtons),
      h("fieldset", { class: "model-picks" }, h("legend", {}, "Models (a new session takes the models picked here)"), picks),
      settings.element,
      columnsElement,
      composer({ input, buttons: [sendButton, stopButton, resetButton], onSend: () => void send(), onEscape: () => controller?.abort() }),
    ),
  );
  paint();
  setBusy(false);
  return { element, activate: (sessionId = null) => sessions.activate(sessionId) };
}
