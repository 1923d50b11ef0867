// @ts-check
// Arena, side by side: one prompt to N named models, answers streaming concurrently in columns,
// each column keeping its own multi-turn history. Every session is saved on the server as it goes
// (the turn when it is sent, each answer when it ends), listed beside the columns and reopened by
// its address (#arena/<id>): a reload reopens it, answers cut short by it marked as unfinished.
// A column's latest answer can be regenerated: the answers that finished are kept as its versions,
// "‹ 1/2 ›" chooses the one the column's conversation goes on from, and the session saves both.
import { announce, composer, h, replaceChildren } from "./dom.js";
import { checkedModels, checkModels } from "./model-picks.js";
import { createSavedSessions } from "./saved-sessions.js";
import { requestFields } from "./settings-form.js";
import { paintStoredAnswer, streamStoredAnswer } from "./stored-answer.js";
import { createTranscript } from "./transcript.js";
import { messageActions, setMessageActions } from "./message-actions.js";
import { answerVersions, showAnswerVersion } from "./answer-versions.js";
import { createImageAttachments, messageContent, showThumbnails } from "./image-attachments.js";

/** @typedef {import("../../src/server/routes/playground-session-schemas.js").ArenaState} ArenaState */
/** @typedef {import("../../src/server/routes/playground-session-schemas.js").ArenaAnswer} ArenaAnswer */
/** @typedef {import("../../src/spec/index.js").ChatMessage} ChatMessage */
/**
 * A model's column: its transcript and the view of its answer to the latest turn.
 * @typedef {{ model: string, transcript: ReturnType<typeof createTranscript>, latest: import("./transcript.js").MessageView | null }} Column
 */

/** @param {{ models: string[], settingsForms: import("./settings-form.js").SettingsForms }} options the served models' ids and the page's settings forms */
export function createArenaView({ models, settingsForms }) {
  const settings = settingsForms.create({ window: false });
  const picks = models.map((id, index) =>
    h("label", { class: "check", "data-model-pick": id }, h("input", { type: "checkbox", value: id, checked: index < 2, name: "arena-model" }), id),
  );
  const columnsElement = h("div", { class: "columns", id: "arena-columns" });
  const input = h("textarea", { id: "arena-input", rows: 3, placeholder: "One prompt for every selected model (Enter sends)", "aria-label": "Prompt for all models" });
  const sendButton = h("button", { type: "submit", class: "primary", id: "arena-send" }, "Send to all");
  const stopButton = h("button", { type: "button", id: "arena-stop", disabled: true, onclick: () => controller?.abort() }, "Stop");
  const resetButton = h("button", { type: "button", id: "arena-reset", onclick: () => sessions.startNew() }, "New round");
  /**
   * The open session's document: { models, settings, turns } (null: nothing sent yet).
   * @type {ArenaState | null}
   */
  let state = null;
  /** @type {Column[]} */
  let columns = [];
  /** @type {AbortController | null} */
  let controller = null;
  // Images go with a prompt to every column; a model that cannot see answers 400 naming the capability in its column.
  const attachments = createImageAttachments({ prefix: "arena", onError: (message) => announce(message, "error") });

  const sessions = createSavedSessions({
    kind: "arena",
    prefix: "arena",
    label: "Arena sessions",
    noun: "arena session",
    isBusy: () => controller !== null,
    show(session) {
      // An arena session's document, as the server validated it (arenaStateSchema).
      const opened = /** @type {ArenaState | null} */ (session?.state ?? null);
      state = opened;
      if (opened) {
        settings.load(opened.settings);
        checkModels(picks, opened.models);
      }
      paint();
      setBusy(false);
    },
  });
  const persist = () => sessions.persist(() => state);

  const selected = () => checkedModels(picks);
  settings.watchModels(selected);
  for (const label of picks) label.addEventListener("change", () => settings.watchModels(selected));

  /** @param {boolean} busy */
  function setBusy(busy) {
    sendButton.disabled = busy;
    stopButton.disabled = !busy;
    resetButton.disabled = busy;
    sessions.paintActions(busy);
    paintActions(busy);
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
    const shown = state;
    columns = shown.models.map((model) => {
      const transcript = createTranscript(model);
      columnsElement.append(h("section", { class: "column" }, h("h3", {}, model), transcript.element));
      return { model, transcript, latest: null };
    });
    for (const turn of shown.turns) {
      for (const column of columns) {
        const asked = column.transcript.addMessage("user", turn.user_message);
        asked.flush();
        showThumbnails(asked.article, turn.images);
        const answer = turn.answers.find((candidate) => candidate.model === column.model);
        const view = answer ? column.transcript.addMessage("assistant", answer.text, column.model) : null;
        column.latest = view;
        if (!answer || !view) continue;
        paintStoredAnswer(view, answer);
        // An earlier turn's answer can no longer be regenerated (the conversation went on from it): copy only.
        if (turn !== shown.turns.at(-1)) setMessageActions(view.article, messageActions({ text: answer.text }));
      }
    }
  }

  /** The column's answer to the latest turn, as the session keeps it. @param {Column} column */
  const latestAnswer = (column) => state?.turns.at(-1)?.answers.find((answer) => answer.model === column.model) ?? null;

  /** Per column, the latest answer's actions: copy, regenerate, and its versions to browse. @param {boolean} busy */
  function paintActions(busy) {
    for (const column of columns) {
      const answer = latestAnswer(column);
      if (!column.latest || !answer) continue;
      const versions = answer.versions?.length ?? 1;
      const row = messageActions({
        text: answer.text,
        siblings: { index: answer.version ?? 0, count: versions, noun: "answer", onSelect: (/** @type {number} */ index) => void showVersion(column, index) },
        actions: [{ name: "regenerate", label: "Regenerate", title: `Ask ${column.model} again; this answer is kept`, onClick: () => void regenerate(column) }],
      });
      for (const button of row.querySelectorAll("button:not([data-action=copy])")) {
        if (button instanceof HTMLButtonElement) button.disabled = busy || button.dataset.edge === "true";
      }
      setMessageActions(column.latest.article, row);
    }
  }

  /**
   * The request that answered the latest turn in `column`: the session's settings and the conversation before it.
   * @param {Column} column
   * @param {ArenaState} session the open session
   */
  async function latestRequest(column, session) {
    const values = session.settings;
    /** @type {ChatMessage[]} */
    const system = typeof values.system_prompt === "string" && values.system_prompt ? [{ role: "system", content: values.system_prompt }] : [];
    const latest = session.turns.at(-1);
    const asked = { role: "user", content: await messageContent(latest?.user_message ?? "", latest?.images) };
    return { model: column.model, messages: [...system, ...(await historyOf(column.model, session.turns.length - 1)), asked], ...requestFields(values) };
  }

  /** A new answer from the same model to the column's latest turn; the conversation goes on from it. @param {Column} column */
  async function regenerate(column) {
    const answer = latestAnswer(column);
    if (controller || !state || !answer || !column.latest) return;
    const kept = answerVersions(answer);
    const { signal } = (controller = new AbortController());
    setBusy(true);
    column.latest.remove();
    const view = column.transcript.addMessage("assistant", "", column.model);
    column.latest = view;
    /** @type {ArenaAnswer} */
    const fresh = { model: column.model, text: "", status: "pending", finish_reason: null };
    const finished = await streamStoredAnswer(view, fresh, await latestRequest(column, state), signal);
    if (finished) {
      answer.versions = [...kept, fresh];
      showAnswerVersion(answer, kept.length);
    }
    controller = null;
    if (!finished) {
      // The answer shown before stays the column's answer: drawn again, the failure said once.
      repaintLatest(column);
      announce(`The regenerated answer failed (${fresh.error}); the earlier ones are kept`, "error");
    } else announce("Answer regenerated");
    await persist();
    setBusy(false);
  }

  /** Draws the column's latest answer again as the session has it. @param {Column} column */
  function repaintLatest(column) {
    const answer = latestAnswer(column);
    column.latest?.remove();
    column.latest = answer ? column.transcript.addMessage("assistant", answer.text, column.model) : null;
    if (answer && column.latest) paintStoredAnswer(column.latest, answer);
  }

  /**
   * Shows another version of the column's latest answer; the next turn goes on from it, and the session keeps the choice.
   * @param {Column} column
   * @param {number} index
   */
  async function showVersion(column, index) {
    const answer = latestAnswer(column);
    if (controller || !answer?.versions?.[index]) return;
    showAnswerVersion(answer, index);
    repaintLatest(column);
    setBusy(false);
    await persist();
  }

  /**
   * A column's conversation before turn `end` (all turns by default), each turn's images with it: answers that
   * failed or never finished are left out, as their turns.
   * @param {string} model
   * @param {number} [end]
   */
  async function historyOf(model, end = state?.turns.length) {
    const messages = [];
    for (const turn of state?.turns.slice(0, end) ?? []) {
      const answer = turn.answers.find((candidate) => candidate.model === model);
      if (answer?.status !== "done") continue;
      messages.push({ role: "user", content: await messageContent(turn.user_message, turn.images) }, { role: "assistant", content: answer.text });
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
    // Taken at once: reading the earlier turns' images below awaits, and a second Enter must not send again.
    controller = new AbortController();
    const { signal } = controller;
    if (!state) {
      state = { models: chosen, settings: {}, turns: [] };
      paint();
    }
    const session = state;
    session.settings = Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));
    const attached = attachments.take();
    const images = attached.map((attachment) => attachment.reference);
    let histories, content;
    try {
      histories = new Map(await Promise.all(session.models.map(async (model) => /** @type {const} */ ([model, await historyOf(model)]))));
      content = await messageContent(text, images);
    } catch (error) {
      // An earlier turn's image the server no longer has: nothing was sent.
      controller = null;
      attachments.restore(attached);
      return announce(error instanceof Error ? error.message : String(error), "error");
    }
    /** @type {ArenaState["turns"][number]} */
    const turn = { user_message: text, ...(images.length > 0 ? { images } : {}), answers: session.models.map((model) => ({ model, text: "", status: "pending", finish_reason: null })) };
    // The earlier turn's answers are settled now: copy only.
    for (const column of columns) {
      if (column.latest) setMessageActions(column.latest.article, messageActions({ text: latestAnswer(column)?.text ?? "" }));
      column.latest = null;
    }
    session.turns.push(turn);
    setBusy(true);
    input.value = "";
    // Saved before any answer arrives: a reload mid-answer keeps the turn, its answers marked unfinished.
    void persist();
    /** @type {ChatMessage[]} */
    const system = values.system_prompt ? [{ role: "system", content: values.system_prompt }] : [];
    await Promise.all(
      columns.map(async (column, index) => {
        const asked = column.transcript.addMessage("user", text);
        asked.flush();
        showThumbnails(asked.article, images);
        const view = column.transcript.addMessage("assistant", "", column.model);
        column.latest = view;
        const body = { model: column.model, messages: [...system, ...(histories.get(column.model) ?? []), { role: "user", content }], ...requestFields(values) };
        await streamStoredAnswer(view, turn.answers[index], body, signal);
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
      arenaComposer(),
    ),
  );
  /** The composer with its image tray: attach, paste or drop images onto it. */
  function arenaComposer() {
    const form = composer({ input, buttons: [attachments.button, attachments.picker, sendButton, stopButton, resetButton], onSend: () => void send(), onEscape: () => controller?.abort() });
    form.prepend(attachments.tray);
    attachments.watch(form);
    return form;
  }
  paint();
  setBusy(false);
  return { element, activate: (/** @type {string | null} */ sessionId = null) => sessions.activate(sessionId) };
}
