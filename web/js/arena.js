// @ts-check
// Arena, side by side: one prompt to N named models, answers streaming concurrently in columns,
// each column keeping its own multi-turn history.
import { errorMessage, streamChat } from "./api.js";
import { announce, composer, h, replaceChildren } from "./dom.js";
import { createSettingsForm, requestFields } from "./settings-form.js";
import { createTranscript, finishLabel } from "./transcript.js";

/** @typedef {import("../../src/spec/index.js").ChatMessage} ChatMessage */

/** @param {{ models: string[] }} options the served models' ids */
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
  /** @type {{ model: string, transcript: ReturnType<typeof createTranscript>, history: ChatMessage[] }[]} */
  let columns = [];
  /** @type {AbortController | null} */
  let controller = null;

  const selected = () => picks.flatMap((label) => label.querySelector("input") ?? []).filter((box) => box.checked).map((box) => box.value);

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
      return { model, transcript, history: [] };
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
    const { signal } = (controller = new AbortController());
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
        try {
          const result = await streamChat({ model: column.model, messages, ...requestFields(values) }, { signal, onDelta: (_, full) => answer.update(full) });
          answer.update(result.text);
          answer.flush();
          answer.setMeta(`${column.model} · ${finishLabel(result.finishReason, result.usage?.completion_tokens)}`);
          answer.setNumbers(result);
          column.history.push({ role: "assistant", content: result.text });
        } catch (error) {
          answer.setError(errorMessage(error));
          column.history.pop();
        } finally {
          answer.setStreaming(false);
        }
      }),
    );
    controller = null;
    sendButton.disabled = false;
    stopButton.disabled = true;
    announce("All answers finished");
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
