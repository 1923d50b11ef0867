// Arena, side by side: one prompt to N named models, answers streaming concurrently in columns,
// each column keeping its own multi-turn history. A column's latest answer can be regenerated; the
// earlier answers are kept and "‹ 1/2 ›" chooses the one the column's conversation goes on from.
import { streamChatInto } from "./stream-answer.js";
import { announce, composer, h, replaceChildren } from "./dom.js";
import { createSettingsForm, requestFields } from "./settings-form.js";
import { createTranscript } from "./transcript.js";
import { messageActions, setMessageActions } from "./message-actions.js";

export function createArenaView({ models }) {
  const settings = createSettingsForm({ window: false });
  const picks = models.map((id, index) =>
    h("label", { class: "check", "data-model-pick": id }, h("input", { type: "checkbox", value: id, checked: index < 2, name: "arena-model" }), id),
  );
  const columnsElement = h("div", { class: "columns", id: "arena-columns" });
  const input = h("textarea", { id: "arena-input", rows: 3, placeholder: "One prompt for every selected model (Enter sends)", "aria-label": "Prompt for all models" });
  const sendButton = h("button", { type: "submit", class: "primary", id: "arena-send" }, "Send to all");
  const stopButton = h("button", { type: "button", id: "arena-stop", disabled: true, onclick: () => controller?.abort() }, "Stop");
  const resetButton = h("button", { type: "button", id: "arena-reset", onclick: () => reset() }, "New round");
  let columns = [];
  let controller = null;

  const selected = () => picks.map((label) => label.querySelector("input")).filter((box) => box.checked).map((box) => box.value);
  settings.watchModels(selected);
  for (const label of picks) label.addEventListener("change", () => settings.watchModels(selected));

  function reset() {
    if (controller) return;
    columns = [];
    replaceChildren(columnsElement, h("p", { class: "hint" }, "Pick two or more models, then send a prompt."));
  }

  function ensureColumns() {
    if (columns.length) return columns;
    columns = selected().map((model) => {
      const transcript = createTranscript(model);
      const column = h("section", { class: "column" }, h("h3", {}, model), transcript.element);
      columnsElement.append(column);
      return { model, transcript, history: [], latest: null, element: column };
    });
    columnsElement.querySelector(".hint")?.remove();
    return columns;
  }

  async function send() {
    const text = input.value.trim();
    if (!text || controller) return;
    if (!columns.length && selected().length < 1) return announce("Select at least one model", "error");
    const problem = settings.validate();
    if (problem) return announce(problem, "error");
    const values = settings.values();
    controller = new AbortController();
    sendButton.disabled = true;
    stopButton.disabled = false;
    input.value = "";
    const active = ensureColumns();
    await Promise.all(
      active.map(async (column) => {
        column.transcript.addMessage("user", text).flush();
        column.history.push({ role: "user", content: text });
        const answer = column.transcript.addMessage("assistant", "", column.model);
        answer.setStreaming(true);
        const messages = [...(values.system_prompt ? [{ role: "system", content: values.system_prompt }] : []), ...column.history];
        const request = { model: column.model, messages, ...requestFields(values) };
        // The earlier turn's answer can no longer be regenerated (the conversation went on from it): copy only.
        if (column.latest) setMessageActions(column.latest.view.article, messageActions({ text: column.latest.versions[column.latest.index] }));
        column.latest = null;
        const answered = await streamChatInto(answer, request, controller.signal);
        if (answered === null) column.history.pop();
        else {
          column.history.push({ role: "assistant", content: answered });
          column.latest = { view: answer, request, versions: [answered], index: 0 };
        }
      }),
    );
    finishRound("All answers finished");
  }

  function finishRound(message) {
    controller = null;
    sendButton.disabled = false;
    stopButton.disabled = true;
    paintActions();
    announce(message);
  }

  /** Per column, the latest answer's actions: copy, regenerate, and its versions to browse. */
  function paintActions() {
    for (const column of columns) {
      const latest = column.latest;
      if (!latest) continue;
      const row = messageActions({
        text: latest.versions[latest.index],
        siblings: { index: latest.index, count: latest.versions.length, noun: "answer", onSelect: (index) => showVersion(column, index) },
        actions: [{ name: "regenerate", label: "Regenerate", title: `Ask ${column.model} again; this answer is kept`, onClick: () => void regenerate(column) }],
      });
      for (const button of row.querySelectorAll("button:not([data-action=copy])")) button.disabled = Boolean(controller) || button.dataset.edge === "true";
      setMessageActions(latest.view.article, row);
    }
  }

  /** A new answer from the same model to the column's latest turn; the conversation goes on from it. */
  async function regenerate(column) {
    const latest = column.latest;
    if (controller || !latest) return;
    controller = new AbortController();
    sendButton.disabled = true;
    stopButton.disabled = false;
    paintActions();
    latest.view.remove();
    const answer = column.transcript.addMessage("assistant", "", column.model);
    answer.setStreaming(true);
    latest.view = answer;
    const text = await streamChatInto(answer, latest.request, controller.signal);
    if (text !== null) {
      latest.versions.push(text);
      latest.index = latest.versions.length - 1;
      column.history[column.history.length - 1] = { role: "assistant", content: text };
    }
    finishRound(text === null ? "The regenerated answer failed; the earlier ones are kept" : "Answer regenerated");
  }

  /** Shows an earlier (or later) answer of the column's latest turn; the next round follows it. */
  function showVersion(column, index) {
    const latest = column.latest;
    if (controller || !latest) return;
    latest.index = index;
    latest.view.remove();
    latest.view = column.transcript.addMessage("assistant", latest.versions[index], column.model);
    latest.view.flush();
    column.history[column.history.length - 1] = { role: "assistant", content: latest.versions[index] };
    paintActions();
  }

  const element = h(
    "section",
    { id: "view-arena", class: "view", "aria-labelledby": "arena-heading" },
    h("h2", { id: "arena-heading" }, "Arena: side by side"),
    h("fieldset", { class: "model-picks" }, h("legend", {}, "Models (changes apply from the next round)"), picks),
    settings.element,
    columnsElement,
    composer({ input, buttons: [sendButton, stopButton, resetButton], onSend: () => void send(), onEscape: () => controller?.abort() }),
  );
  reset();
  return { element, activate() {} };
}
