// @ts-check
// Collaboration: several models answer the same prompt, then an aggregator model combines their
// answers with an editable merge prompt. Every part (each answer, the filled merge prompt, the
// merged answer) stays on screen.
import { errorMessage, streamChat } from "./api.js";
import { announce, composer, h, replaceChildren } from "./dom.js";
import { defaultMergePrompt, fillMergePrompt } from "./merge-prompt.js";
import { createSettingsForm, requestFields } from "./settings-form.js";
import { createTranscript, finishLabel } from "./transcript.js";

/** @typedef {import("../../src/spec/index.js").ChatMessage} ChatMessage */

/** @param {{ models: string[] }} options the served models' ids */
export function createCollaborateView({ models }) {
  const settings = createSettingsForm({ window: false });
  const picks = models.map((id, index) =>
    h("label", { class: "check", "data-model-pick": id }, h("input", { type: "checkbox", value: id, checked: index < 2, name: "collab-model" }), id),
  );
  const aggregator = h("select", { id: "collab-aggregator" }, models.map((id) => h("option", { value: id, "data-model-pick": id }, id)));
  const mergePrompt = h("textarea", { id: "collab-merge-prompt", rows: 8, value: defaultMergePrompt });
  const question = h("textarea", { id: "collab-input", rows: 3, placeholder: "The prompt every model answers", "aria-label": "Prompt" });
  const runButton = h("button", { type: "submit", class: "primary", id: "collab-run" }, "Run");
  const stopButton = h("button", { type: "button", id: "collab-stop", disabled: true, onclick: () => controller?.abort() }, "Stop");
  const output = h("div", { class: "collab-output", id: "collab-output" });
  /** @type {AbortController | null} */
  let controller = null;

  /**
   * @param {ReturnType<typeof createTranscript>} transcript
   * @param {string} model
   * @param {ChatMessage[]} messages
   * @param {import("./settings-form.js").SettingsValues} values
   * @param {AbortSignal} signal
   * @returns {Promise<string | null>} the answer, or null when it failed
   */
  async function streamInto(transcript, model, messages, values, signal) {
    const answer = transcript.addMessage("assistant", "", model);
    answer.setStreaming(true);
    try {
      const result = await streamChat({ model, messages, ...requestFields(values) }, { signal, onDelta: (_, full) => answer.update(full) });
      answer.update(result.text);
      answer.flush();
      answer.setMeta(`${model} · ${finishLabel(result.finishReason, result.usage?.completion_tokens)}`);
      answer.setNumbers(result);
      return result.text;
    } catch (error) {
      answer.setError(errorMessage(error));
      return null;
    } finally {
      answer.setStreaming(false);
    }
  }

  async function run() {
    const text = question.value.trim();
    const chosen = picks.flatMap((label) => label.querySelector("input") ?? []).filter((box) => box.checked).map((box) => box.value);
    if (!text || controller) return;
    if (chosen.length < 1) return announce("Select at least one model to answer", "error");
    const problem = settings.validate();
    if (problem) return announce(problem, "error");
    const values = settings.values();
    /** @type {ChatMessage[]} */
    const system = values.system_prompt ? [{ role: "system", content: values.system_prompt }] : [];
    const { signal } = (controller = new AbortController());
    runButton.disabled = true;
    stopButton.disabled = false;
    const answerColumns = chosen.map((model) => ({ model, transcript: createTranscript(model) }));
    const mergeTranscript = createTranscript("Merged answer");
    const filled = h("pre", { class: "exact-prompt", id: "collab-filled-prompt", tabindex: 0 });
    replaceChildren(
      output,
      h("h3", {}, "Answers"),
      h("div", { class: "columns" }, answerColumns.map((column) => h("section", { class: "column" }, h("h4", {}, column.model), column.transcript.element))),
      h("details", { class: "inspector" }, h("summary", {}, "Merge prompt sent to the aggregator"), filled),
      h("h3", {}, `Merged by ${aggregator.value}`),
      h("section", { class: "column merged" }, mergeTranscript.element),
    );
    try {
      const answers = await Promise.all(answerColumns.map((column) => streamInto(column.transcript, column.model, [...system, { role: "user", content: text }], values, signal)));
      const usable = answerColumns.flatMap((column, i) => {
        const answer = answers[i];
        return answer !== null && answer.trim() !== "" ? [{ model: column.model, text: answer }] : [];
      });
      if (signal.aborted) return announce("Stopped");
      if (usable.length === 0) return announce("No answer to merge", "error");
      const prompt = fillMergePrompt(mergePrompt.value, text, usable);
      filled.textContent = prompt;
      await streamInto(mergeTranscript, aggregator.value, [...system, { role: "user", content: prompt }], values, signal);
      announce("Merged answer finished");
    } finally {
      controller = null;
      runButton.disabled = false;
      stopButton.disabled = true;
    }
  }

  const element = h(
    "section",
    { id: "view-collaborate", class: "view", "aria-labelledby": "collab-heading" },
    h("h2", { id: "collab-heading" }, "Collaboration"),
    h("fieldset", { class: "model-picks" }, h("legend", {}, "Answering models"), picks),
    h("label", { for: "collab-aggregator", class: "inline-label" }, "Aggregator", aggregator),
    h("label", { for: "collab-merge-prompt", class: "block-label" }, "Merge prompt ({question} and {answers} are filled in)", mergePrompt),
    settings.element,
    composer({ input: question, buttons: [runButton, stopButton], onSend: () => void run(), onEscape: () => controller?.abort(), enterSends: false }),
    output,
  );
  return { element, activate() {} };
}
