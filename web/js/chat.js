// @ts-check
// Chat: one model, a persisted conversation, streaming with stop, and for every reply the exact
// prompt the server rendered (dry run of the same request body), its token count and its format.
import { api, errorMessage, errorStatus, isMidStreamError, renderPrompt, streamConversationRegenerate, streamConversationReply } from "./api.js";
import { branchOf, fitTokenBudget, lastTurns, toOpenAiJsonl, toShareGpt } from "./conversation-io.js";
import { announce, composer, download, h, replaceChildren } from "./dom.js";
import { routeTo } from "./session-sidebar.js";
import { requestFields } from "./settings-form.js";
import { createSidebarToggle } from "./sidebar-toggle.js";
import { createTranscript, finishLabel } from "./transcript.js";
import { messageActions, setMessageActions } from "./message-actions.js";
import { createImageAttachments, messageContent, showThumbnails } from "./image-attachments.js";

/** @typedef {import("../../src/server/store/conversations.js").ConversationWithMessages} ConversationWithMessages */
/** @typedef {import("../../src/server/store/conversations.js").ConversationMessage} ConversationMessage */
/** @typedef {import("../../src/server/routes/conversations.js").ConversationList} ConversationList */
/** @typedef {import("./api.js").RenderedPromptResponse} RenderedPromptResponse */
/** @typedef {import("../../src/spec/index.js").ChatMessage} ChatMessage */
/**
 * What the prompt inspector shows of one reply: the dry run's prompt, tokens, format and window (or
 * why the dry run failed), and how the reply finished.
 * @typedef {{ model: string, error?: string, prompt?: string, token_count?: number | null, images?: RenderedPromptResponse["images"], format?: RenderedPromptResponse["format"],
 *   window?: { strategy: string, dropped: number, kept: number } | null, finish_reason?: string, completion_tokens?: number | null }} Inspection
 */
/**
 * The settings Chat stores with a conversation (the server keeps them as given): the form's, and the
 * inspections by request id.
 * @typedef {import("./settings-form.js").StoredSettings & { inspections?: Record<string, Inspection> }} ChatSettings
 */
/**
 * A message as shown: the server's, or one kept locally (without the server's ids) until the
 * conversation is read again.
 * @typedef {Pick<ConversationMessage, "role" | "content" | "status"> & Partial<Omit<ConversationMessage, "role" | "content" | "status">>} ShownMessage
 */
/** A message the server has stored: it has its id, so its actions can name it. @typedef {ShownMessage & { id: number }} StoredMessage */
/** A message view on screen and the id of the message it shows, once the server has it. @typedef {{ view: import("./transcript.js").MessageView, id?: number }} ShownEntry */
/**
 * The open conversation: the server's, with Chat's own settings.
 * @typedef {Omit<ConversationWithMessages, "settings" | "messages"> & { settings: ChatSettings, messages: ShownMessage[] }} OpenConversation
 */

/**
 * Inspections are kept with the conversation (in its settings). Only the newest ones that fit in
 * this many characters are kept, so the settings stay well under the server's 1 MiB body limit.
 */
const inspectionBudgetChars = 256 * 1024;

/** Where the open conversation's id is kept, so a reload reopens it. */
const lastConversationKey = "camelid.lastConversation";

/** While the server is still writing an answer (another tab, or a stream it has not yet seen end), look again this often. */
const recheckMs = 500;

/**
 * The exact prompt with each media marker (llama.cpp's "<__media__>", or a server's own
 * "<__media_…__>") marked: where an image's tokens go, and how many (the server's count, from the projector).
 * @param {string} prompt @param {RenderedPromptResponse["images"] | undefined} images
 */
function promptWithMediaMarkers(prompt, images) {
  return prompt.split(/(<__media(?:_[A-Za-z0-9]+)?__>)/).map((piece, index) => {
    if (index % 2 === 0) return piece;
    const span = images?.[(index - 1) / 2];
    const title = span ? imageSpanLabel(span, (index - 1) / 2) : "The image's tokens go here";
    return h("mark", { class: "media-marker", title, ...(span && span.tokens !== null ? { "data-image-tokens": span.tokens, "data-image-start": span.start } : {}) }, piece);
  });
}

/** @param {NonNullable<RenderedPromptResponse["images"]>[number]} span @param {number} index */
function imageSpanLabel(span, index) {
  if (span.tokens === null) return `image ${index + 1}: unknown number of tokens from position ${span.start} (${span.reason ?? "the projector's count depends on the picture"})`;
  return `image ${index + 1}: ${span.tokens} tokens, positions ${span.start}–${span.start + span.tokens - 1}`;
}

/**
 * The newest inspections whose JSON fits the budget. Keys are request ids (older conversations: message
 * ids); both kinds were added oldest first, and the integer ids of old entries iterate first.
 * @param {Record<string, Inspection>} inspections
 */
function newestInspections(inspections) {
  /** @type {[string, Inspection][]} */
  const kept = [];
  let size = 0;
  for (const [id, inspection] of Object.entries(inspections).reverse()) {
    size += JSON.stringify(inspection).length;
    if (size > inspectionBudgetChars && kept.length > 0) break;
    kept.push([id, inspection]);
  }
  return Object.fromEntries(kept.reverse());
}

/** @param {{ models: string[], settingsForms: import("./settings-form.js").SettingsForms }} options the served models' ids and the page's settings forms */
export function createChatView({ models, settingsForms }) {
  const settings = settingsForms.create();
  const transcript = createTranscript("Conversation");
  const modelSelect = h("select", { id: "chat-model" }, models.map((id) => h("option", { value: id, "data-model-pick": id }, id)));
  const title = h("h2", { id: "chat-title", class: "title" }, "New conversation");
  const list = h("ul", { class: "conversation-list", "aria-label": "Conversations" });
  const input = h("textarea", { id: "chat-input", rows: 3, placeholder: "Message… (Enter sends, Shift+Enter for a new line, Esc stops)", "aria-label": "Message" });
  const sendButton = h("button", { type: "submit", class: "primary", id: "chat-send" }, "Send");
  const stopButton = h("button", { type: "button", id: "chat-stop", disabled: true, onclick: () => controller?.abort() }, "Stop");
  const toolbarButtons = {
    rename: h("button", { type: "button", id: "chat-rename", onclick: () => startRename() }, "Rename"),
    sharegpt: h("button", { type: "button", id: "chat-export-sharegpt", onclick: () => exportAs("sharegpt") }, "Export ShareGPT"),
    jsonl: h("button", { type: "button", id: "chat-export-jsonl", onclick: () => exportAs("jsonl") }, "Export JSONL"),
    remove: h("button", { type: "button", id: "chat-delete", class: "danger", onclick: () => removeConversation() }, "Delete"),
  };

  /**
   * The open conversation as the server has it (null until the first message is sent).
   * @type {OpenConversation | null}
   */
  let current = null;
  /** @type {AbortController | null} */
  let controller = null;
  /**
   * The pending look at a conversation whose answer the server is still writing.
   * @type {ReturnType<typeof setTimeout> | undefined}
   */
  let recheck = undefined;
  let restored = false;
  /**
   * The message views on screen, in the order of current.messages (the active branch); `id` once the server has it.
   * @type {ShownEntry[]}
   */
  let shown = [];

  // Kept in the address too (#chat/<id>), so back and forward move between conversations.
  /** @param {string | null} id */
  const remember = (id) => {
    if (id) localStorage.setItem(lastConversationKey, id);
    else localStorage.removeItem(lastConversationKey);
    // Only while Chat is the tab shown: a late re-read of a conversation never pulls the user back here.
    if (!element.hidden) routeTo("chat", id);
  };

  const attachments = createImageAttachments({ onError: (message) => announce(message, "error") });
  // Escape is handled for the whole view (below), not only inside the composer
  const form = composer({ input, buttons: [attachments.button, attachments.picker, sendButton, stopButton], onSend: () => void send() });
  form.prepend(attachments.tray);
  attachments.watch(form);
  const sidebar = h(
    "aside",
    { class: "sidebar", id: "chat-sidebar", "aria-label": "Conversations" },
    h("button", { type: "button", id: "chat-new", class: "primary", onclick: () => void openConversation(null).then(() => sidebarToggle.closeOnPhone()) }, "New chat"),
    list,
  );
  const sidebarToggle = createSidebarToggle({ sidebar, label: "Conversations" });
  settings.watchModels(() => [modelSelect.value]);
  modelSelect.addEventListener("change", () => settings.watchModels(() => [modelSelect.value]));

  const element = h(
    "section",
    { id: "view-chat", class: "view chat-view", "aria-labelledby": "chat-title" },
    sidebar,
    h(
      "div",
      { class: "chat-main" },
      h("div", { class: "toolbar" }, sidebarToggle.button, title, h("label", { for: "chat-model", class: "inline-label" }, "Model", modelSelect), Object.values(toolbarButtons)),
      settings.element,
      transcript.element,
      form,
    ),
  );

  /** @param {boolean} busy */
  const setBusy = (busy) => {
    sendButton.disabled = busy;
    stopButton.disabled = !busy;
    modelSelect.disabled = busy;
    // Regenerate, edit, delete and branch switches wait for the answer being written (the server says 409 meanwhile).
    for (const button of transcript.element.querySelectorAll(".message-actions button:not([data-action=copy])")) {
      if (button instanceof HTMLButtonElement) button.disabled = busy || button.dataset.edge === "true";
    }
    for (const button of Object.values(toolbarButtons)) button.disabled = busy || (!current && button !== toolbarButtons.rename);
    toolbarButtons.rename.disabled = busy || !current;
  };

  const storedSettings = () => {
    const values = settings.values();
    return { ...values, window: settings.windowStrategy(), inspections: current?.settings?.inspections ?? {} };
  };

  async function refreshList() {
    const { data } = /** @type {ConversationList} */ (await api("GET", "/api/conversations?limit=200"));
    replaceChildren(
      list,
      data.map((conversation) =>
        h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: "conversation-link",
              "aria-current": current?.id === conversation.id ? "true" : false,
              onclick: () => void openConversation(conversation.id).then(() => sidebarToggle.closeOnPhone()),
            },
            h("span", { class: "conversation-title" }, conversation.title),
            h("span", { class: "meta" }, new Date(conversation.updatedAt).toLocaleString()),
          ),
        ),
      ),
    );
  }

  /**
   * @param {import("./transcript.js").MessageView} message
   * @param {Inspection | undefined} inspection
   */
  function showInspector(message, inspection) {
    const details = h("details", { class: "inspector" }, h("summary", {}, "Inspect prompt"));
    if (!inspection) {
      details.append(h("p", {}, "No prompt was recorded for this reply."));
    } else if (inspection.error) {
      details.append(h("p", { class: "error-text" }, `The dry run failed: ${inspection.error}`));
    } else {
      /** @type {Partial<RenderedPromptResponse["format"]>} */
      const format = inspection.format ?? {};
      details.append(
        h(
          "dl",
          {},
          h("dt", {}, "Model"),
          h("dd", {}, inspection.model ?? ""),
          h("dt", {}, "Prompt format"),
          h("dd", { class: "prompt-format" }, `${format.name ?? "?"} (${format.source ?? "?"})${format.reason ? ` — ${format.reason}` : ""}`),
          h("dt", {}, "Prompt tokens"),
          h("dd", { class: "token-count" }, inspection.token_count ?? (inspection.images?.length ? "unknown (an image's count depends on the picture)" : "not reported by this backend")),
          ...(inspection.images?.length ? [h("dt", {}, "Image tokens"), h("dd", { class: "image-token-spans" }, inspection.images.map(imageSpanLabel).join("; "))] : []),
          h("dt", {}, "Window"),
          h("dd", {}, inspection.window ? `${inspection.window.strategy}: ${inspection.window.dropped} message(s) dropped, ${inspection.window.kept} kept` : "keep-all"),
          h("dt", {}, "Finish"),
          h("dd", {}, finishLabel(inspection.finish_reason, inspection.completion_tokens) || "—"),
        ),
        h("p", { class: "inspector-label" }, "Exact prompt sent to the model:"),
        h("pre", { class: "exact-prompt", tabindex: 0 }, promptWithMediaMarkers(inspection.prompt ?? "", inspection.images)),
      );
    }
    message.article.append(details);
  }

  function paintConversation() {
    transcript.clear();
    title.textContent = current?.title ?? "New conversation";
    const inspections = current?.settings?.inspections ?? {};
    let writing = false;
    shown = [];
    for (const message of current?.messages ?? []) {
      const view = transcript.addMessage(message.role, message.content, message.role === "assistant" ? (message.model ?? "") : "");
      view.flush();
      showThumbnails(view.article, message.images);
      shown.push({ view, id: message.id });
      if (message.role !== "assistant") continue;
      if (message.status === "streaming") {
        view.setStreaming(true);
        writing = true;
      } else if (message.status === "interrupted") {
        view.setInterrupted("Interrupted: this answer was cut short (stopped, page reloaded or server restarted).");
      } else if (message.status === "failed") {
        view.setError("This answer failed.");
      }
      showInspector(view, inspections[message.requestId ?? ""] ?? inspections[message.id ?? ""]);
    }
    attachActions();
    // The server writes the answer's end when it notices the stream ended: show it once it has.
    if (writing && current) {
      const id = current.id;
      recheck = setTimeout(() => {
        if (!controller && current?.id === id) void openConversation(id, { focus: false }).catch((error) => announce(errorMessage(error), "error"));
      }, recheckMs);
    }
  }

  /** @param {string | null} id @param {{ focus?: boolean }} [options] */
  async function openConversation(id, { focus = true } = {}) {
    if (controller) return;
    clearTimeout(recheck);
    try {
      current = id ? /** @type {OpenConversation} */ (await api("GET", `/api/conversations/${encodeURIComponent(id)}`)) : null;
    } catch (error) {
      // Deleted meanwhile (or from another tab): start a new one instead.
      if (errorStatus(error) !== 404) throw error;
      current = null;
    }
    remember(current?.id ?? null);
    if (current) {
      if (current.model && models.includes(current.model)) modelSelect.value = current.model;
      settings.load({ ...current.settings, system_prompt: current.systemPrompt ?? "" });
    }
    paintConversation();
    setBusy(false);
    await refreshList();
    if (focus) input.focus();
  }

  /**
   * The history the chosen window strategy keeps, and what it dropped (null: the server's own window).
   * @param {ChatMessage[]} messages
   * @param {Record<string, unknown>} body
   */
  async function windowed(messages, body) {
    const strategy = settings.windowStrategy();
    if (strategy.type === "last-turns") {
      const { messages: kept, dropped } = lastTurns(messages, strategy.turns);
      return { messages: kept, window: { strategy: strategy.type, dropped, kept: kept.length } };
    }
    if (strategy.type === "token-budget") {
      const fitted = await fitTokenBudget(messages, strategy.maxPromptTokens, async (candidate) => (await renderPrompt({ ...body, messages: candidate })).token_count);
      return { messages: fitted.messages, window: { strategy: strategy.type, dropped: fitted.dropped, kept: fitted.messages.length } };
    }
    return { messages, window: null };
  }

  /** The composer's message, after the active branch's end. */
  async function send() {
    const text = input.value.trim();
    if ((!text && !attachments.count()) || controller) return;
    await reply({ text });
  }

  /**
   * One reply: to `text` after the active branch (the composer), to `text` as an edit of the user
   * message `editOf` (a new branch beside it), or a new answer beside `regenerateOf` (an answer, or a
   * user message left without one). The request carries the active branch up to that point only.
   * @param {{ text: string, editOf?: StoredMessage | null, regenerateOf?: StoredMessage | null }} request
   */
  async function reply({ text, editOf = null, regenerateOf = null }) {
    if (controller) return;
    const fromComposer = !editOf && !regenerateOf;
    const model = modelSelect.value;
    if (!model) return announce("No model is served: start camelid serve with --model", "error");
    // Checked before anything is sent or saved: an invalid value never reaches the conversation.
    const problem = settings.validate();
    if (problem) return announce(problem, "error");
    const values = settings.values();
    const changed = editOf ?? regenerateOf;
    if (changed && current) {
      // The branch up to the changed message stays on screen; what followed it goes (it is kept on the server).
      const at = current.messages.findIndex((m) => m.id === changed.id);
      const keep = editOf ? at : changed.role === "user" ? at + 1 : at;
      current = { ...current, messages: current.messages.slice(0, keep) };
      clearTimeout(recheck);
      paintConversation();
    }
    const { signal } = (controller = new AbortController());
    setBusy(true);
    if (fromComposer) input.value = "";
    // The composer's images go with its message; an edited turn keeps the images it had.
    const attached = fromComposer ? attachments.take() : [];
    const userImages = fromComposer ? attached.map((attachment) => attachment.reference) : (editOf?.images ?? []);
    let userView = null;
    if (!regenerateOf) {
      userView = transcript.addMessage("user", text);
      userView.flush();
      showThumbnails(userView.article, userImages);
      shown.push({ view: userView });
    }
    const answer = transcript.addMessage("assistant", "", model);
    shown.push({ view: answer });
    answer.setStreaming(true);
    let stored = false;
    try {
      if (!current) {
        current = /** @type {OpenConversation} */ (await api("POST", "/api/conversations", { title: text.slice(0, 60) || "Image", model }));
        remember(current.id);
        title.textContent = current.title;
        void refreshList().catch(() => undefined);
      }
      // A message with images goes as content parts (its images as data: URIs); the type is the text-only one the window helpers take.
      const history = /** @type {ChatMessage[]} */ ([
        ...(values.system_prompt ? [{ role: /** @type {const} */ ("system"), content: values.system_prompt }] : []),
        ...(await Promise.all(current.messages.filter((m) => m.status !== "failed" && m.status !== "streaming").map(async (m) => ({ role: m.role, content: await messageContent(m.content, m.images) })))),
        ...(regenerateOf ? [] : [{ role: /** @type {const} */ ("user"), content: await messageContent(text, userImages) }]),
      ]);
      const base = { model, ...requestFields(values) };
      const { messages, window } = await windowed(history, { ...base, messages: history });
      const body = { ...base, messages };
      /** @type {Inspection} */
      let inspection;
      try {
        const rendered = await renderPrompt(body);
        inspection = { model, prompt: rendered.prompt, token_count: rendered.token_count, ...(rendered.images ? { images: rendered.images } : {}), format: rendered.format, window: window ?? (rendered.window ? { strategy: rendered.window.strategy, dropped: rendered.window.droppedMessages, kept: rendered.window.keptMessages } : null) };
      } catch (error) {
        inspection = { model, error: errorMessage(error) };
      }
      // The server stores the user's turn and this answer however the stream ends (Stop, reload, error).
      const fields = { system_prompt: values.system_prompt ?? null, settings: storedSettings(), ...(editOf ? { parent_id: editOf.parentId } : {}) };
      const handlers = { signal, onDelta: (/** @type {string} */ _, /** @type {string} */ full) => answer.update(full) };
      const userTurn = regenerateOf ? null : text;
      let result;
      try {
        result = regenerateOf
          ? await streamConversationRegenerate(current.id, regenerateOf.id, body, fields, handlers)
          : await streamConversationReply(current.id, body, fields, handlers);
      } catch (error) {
        // The server stored the turn: a failure it reported as failed, a broken connection as interrupted.
        if (isMidStreamError(error)) {
          stored = true;
          keepLocally(userTurn, userImages, { role: "assistant", content: error.partialText, model, status: error.inStream ? "failed" : "interrupted" });
        }
        throw error;
      }
      answer.update(result.text);
      answer.flush();
      inspection.finish_reason = result.finishReason;
      inspection.completion_tokens = result.usage?.completion_tokens ?? null;
      answer.setMeta([model, inspection.format?.name, finishLabel(result.finishReason, inspection.completion_tokens)].filter(Boolean).join(" · "));
      answer.setNumbers(result);
      if (!result.requestId) {
        // Stopped before the server accepted the request: nothing was stored.
        userView?.remove();
        answer.remove();
        shown.splice(shown.length - (userView ? 2 : 1));
        if (fromComposer) input.value = text;
        attachments.restore(attached);
        announce("Generation stopped");
        return;
      }
      stored = true;
      keepLocally(userTurn, userImages, { role: "assistant", content: result.text, model, requestId: result.requestId, status: result.finishReason === "abort" ? "interrupted" : "done" });
      const inspections = newestInspections({ ...(current.settings?.inspections ?? {}), [result.requestId]: inspection });
      const saved = /** @type {OpenConversation} */ (await api("PATCH", `/api/conversations/${current.id}`, { settings: { ...storedSettings(), inspections } }));
      current = { ...saved, messages: current.messages };
      showInspector(answer, inspection);
      announce(result.finishReason === "abort" ? "Generation stopped" : "Reply finished");
    } catch (error) {
      answer.setError(errorMessage(error));
      announce(errorMessage(error), "error");
      if (!isMidStreamError(error) && fromComposer) {
        input.value = text;
        if (!stored) attachments.restore(attached);
      }
    } finally {
      answer.setStreaming(false);
      controller = null;
      setBusy(false);
      await refreshList().catch(() => undefined);
      if (current) await syncWithServer(stored, !fromComposer).catch((error) => announce(errorMessage(error), "error"));
    }
  }

  /**
   * After a reply: the server's ids and branches for the messages on screen, so their actions work.
   * An answer the server has not yet seen end keeps what this page saw. When an edit or regeneration
   * stored nothing, the page shows the server's branch again.
   */
  /** @param {boolean} stored @param {boolean} changedBranch */
  async function syncWithServer(stored, changedBranch) {
    if (!current) return;
    const fresh = /** @type {OpenConversation} */ (await api("GET", `/api/conversations/${encodeURIComponent(current.id)}`));
    if (!stored && changedBranch) {
      current = fresh;
      paintConversation();
      return;
    }
    const local = current.messages.at(-1);
    const last = fresh.messages.at(-1);
    if (stored && last?.status === "streaming" && local && local.status !== "streaming") Object.assign(last, { content: local.content, status: local.status });
    current = { ...fresh, settings: current.settings ?? fresh.settings };
    for (const [index, entry] of shown.entries()) entry.id ??= stored || index < fresh.messages.length ? current.messages[index]?.id : undefined;
    attachActions();
  }

  /** Per message on screen: copy, browse its alternatives, regenerate (answers), edit (user turns), delete. */
  function attachActions() {
    for (const [index, entry] of shown.entries()) {
      const message = current?.messages?.[index];
      // Only a message the server has stored (it has an id) can be regenerated, edited or deleted.
      if (!message || entry.id !== message.id || message.id === undefined) continue;
      const stored = /** @type {StoredMessage} */ (message);
      const siblings = message.siblingIds ?? [message.id];
      /** @type {import("./message-actions.js").MessageAction[]} */
      const actions = [];
      if (message.role === "assistant") actions.push({ name: "regenerate", label: "Regenerate", title: "Sample a new answer; this one is kept beside it", onClick: () => void reply({ text: "", regenerateOf: stored }) });
      if (message.role === "user") {
        actions.push({ name: "edit", label: "Edit", title: "Edit and resend as a new branch; this one is kept", onClick: () => startEdit(entry.view, stored) });
        if (index === (current?.messages.length ?? 0) - 1) actions.push({ name: "regenerate", label: "Answer", title: "Answer this message again", onClick: () => void reply({ text: "", regenerateOf: stored }) });
      }
      actions.push({ name: "delete", label: "Delete", title: "Delete this message and what follows it in this branch", onClick: () => void removeMessage(stored) });
      const row = messageActions({
        text: message.content,
        siblings: { index: siblings.indexOf(message.id), count: siblings.length, noun: message.role === "user" ? "version" : "answer", onSelect: (/** @type {number} */ at) => void showBranch(siblings[at]) },
        actions,
      });
      entry.view.article.dataset.messageId = String(message.id);
      setMessageActions(entry.view.article, row);
    }
    setBusy(Boolean(controller));
  }

  /** Shows the branch through `messageId` (the server keeps the choice: a reload shows it too). @param {number} messageId */
  async function showBranch(messageId) {
    if (controller || !current) return;
    try {
      current = /** @type {OpenConversation} */ (await api("POST", `/api/conversations/${encodeURIComponent(current.id)}/branch`, { message_id: messageId }));
      paintConversation();
    } catch (error) {
      announce(errorMessage(error), "error");
    }
  }

  /** @param {StoredMessage} message */
  async function removeMessage(message) {
    if (controller || !current) return;
    const after = current.messages.length - 1 - current.messages.findIndex((m) => m.id === message.id);
    const question = after > 0 ? `Delete this message and the ${after} after it in this branch?` : "Delete this message?";
    if (!confirm(question)) return;
    try {
      current = /** @type {OpenConversation} */ (await api("DELETE", `/api/conversations/${encodeURIComponent(current.id)}/messages/${message.id}`));
      paintConversation();
      announce("Message deleted");
    } catch (error) {
      announce(errorMessage(error), "error");
    }
  }

  /**
   * Edits a user turn in place: Send makes a new branch beside it, Cancel puts it back.
   * @param {import("./transcript.js").MessageView} view
   * @param {StoredMessage} message
   */
  function startEdit(view, message) {
    if (controller) return;
    const body = view.article.querySelector(".markdown");
    if (!(body instanceof HTMLElement)) return;
    const field = h("textarea", { class: "message-editor-input", rows: 3, "aria-label": "Edit message" });
    field.value = message.content;
    const finish = () => {
      editor.remove();
      body.hidden = false;
    };
    const submit = () => {
      const text = field.value.trim();
      if (!text) return;
      finish();
      void reply({ text, editOf: message });
    };
    field.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      } else if (event.key === "Escape") {
        event.stopPropagation();
        finish();
      }
    });
    const editor = h(
      "div",
      { class: "message-editor" },
      field,
      h("div", { class: "composer-buttons" }, h("button", { type: "button", class: "primary", "data-action": "send-edit", onclick: submit }, "Send"), h("button", { type: "button", "data-action": "cancel-edit", onclick: finish }, "Cancel")),
    );
    body.hidden = true;
    body.after(editor);
    field.focus();
  }

  /**
   * The turn the server just stored, kept in the open conversation without asking for it again (after
   * a Stop the server may not have written the answer's end yet).
   */
  /** @param {string | null} userText @param {ShownMessage["images"]} images @param {ShownMessage} assistant */
  function keepLocally(userText, images, assistant) {
    if (!current) return;
    const user = userText === null ? [] : [{ role: /** @type {const} */ ("user"), content: userText, images, status: /** @type {const} */ ("done") }];
    current = { ...current, messages: [...current.messages, ...user, assistant] };
  }

  function startRename() {
    if (!current) return;
    const field = h("input", { type: "text", value: current.title, "aria-label": "Conversation title", id: "chat-title-input", maxlength: 500 });
    let finished = false;
    /** @param {boolean} save */
    const finish = async (save) => {
      // Enter (or Escape) swaps the field out, and losing focus that way fires blur: finish only once.
      if (finished) return;
      finished = true;
      const value = field.value.trim();
      field.replaceWith(title);
      if (save && current && value && value !== current.title) {
        current = /** @type {OpenConversation} */ (await api("PATCH", `/api/conversations/${current.id}`, { title: value }));
        title.textContent = current.title;
        await refreshList();
        announce("Renamed");
      }
      toolbarButtons.rename.focus();
    };
    field.addEventListener("keydown", (event) => {
      if (event.key === "Enter") void finish(true);
      if (event.key === "Escape") void finish(false);
    });
    field.addEventListener("blur", () => {
      if (field.isConnected) void finish(true);
    });
    title.replaceWith(field);
    field.focus();
    field.select();
  }

  async function removeConversation() {
    if (!current || !confirm(`Delete "${current.title}"?`)) return;
    await api("DELETE", `/api/conversations/${current.id}`);
    announce("Conversation deleted");
    await openConversation(null);
  }

  /** @param {"sharegpt" | "jsonl"} kind */
  function exportAs(kind) {
    if (!current) return;
    const conversation = { ...current, system_prompt: current.systemPrompt };
    const title = current.title.replace(/[^\w.-]+/g, "_").slice(0, 40) || "conversation";
    // With other branches beside it, the file name says which one this is (the active one, by its last message).
    const branch = branchOf(current);
    const safe = branch && branch.messages_in_all_branches > branch.messages ? `${title}.branch-${branch.leaf_message_id}` : title;
    if (kind === "sharegpt") download(`${safe}.sharegpt.json`, JSON.stringify(toShareGpt(conversation), null, 2));
    else download(`${safe}.jsonl`, toOpenAiJsonl(conversation), "application/x-ndjson");
  }

  element.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && controller) controller.abort();
  });

  return {
    element,
    async activate(sessionId = null) {
      if (!restored) {
        // A reload reopens the conversation its address names, else the one that was open (an answer cut short marked as such).
        restored = true;
        const last = sessionId ?? localStorage.getItem(lastConversationKey);
        if (last) return openConversation(last);
      }
      if (sessionId && sessionId !== current?.id && !controller) return openConversation(sessionId);
      await refreshList();
      setBusy(Boolean(controller));
    },
    openConversation,
  };
}
