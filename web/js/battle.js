// @ts-check
// Anonymous battle: the server draws two models and hides their names; this page only streams the
// answers of "A" and "B", offers the vote once both finished, and shows the names the server
// reveals after it. Every rule is enforced by the server; the buttons merely mirror it. The open
// battle's id is kept in local storage: after a reload (or a server restart that cut its answers
// short) the battle comes back, and its unfinished answers can be resumed or the battle abandoned.
// The view's `data-state` says where the battle is: empty, streaming, interrupted, votable, open, closed.
// Until the vote, either side's latest answer can be regenerated (FastChat's "Regenerate", per side);
// the earlier answers are kept and "‹ 1/2 ›" puts one back on screen: the vote compares what is shown.
// Every battle is listed beside the columns ("anonymous" until the vote), reopened by its address
// (#battle/<id>), exported (names hidden until the vote, as the server decides) or deleted.
import { api, errorMessage, errorStatus, streamEvents } from "./api.js";
import { announce, composer, h } from "./dom.js";
import { createSessionActions, createSessionSidebar, routeTo } from "./session-sidebar.js";
import { deleteBattle, exportBattle, listBattles } from "./sessions-api.js";
import { requestFields } from "./settings-form.js";
import { createTranscript, finishLabel } from "./transcript.js";
import { messageActions, setMessageActions } from "./message-actions.js";
import { createImageAttachments, showThumbnails } from "./image-attachments.js";

/** @typedef {import("../../src/server/arena/battle-rules.js").PublicBattleView} PublicBattleView */
/** @typedef {import("../../src/server/arena/arena-routes.js").BattleAnswerEvent} BattleAnswerEvent */
/** @typedef {import("../../src/server/arena/arena-routes.js").VoteResponse} VoteResponse */
/** @typedef {import("../../src/server/arena/arena-store.js").BattleSide} Side */
/** @typedef {import("./transcript.js").MessageView} MessageView */

/** @type {Side[]} */
const bothSides = ["a", "b"];
const voteLabels = { a: "A is better", b: "B is better", tie: "Tie", bothbad: "Both are bad" };
const battleKey = "camelid.battle";

/** @param {{ settingsForms: import("./settings-form.js").SettingsForms }} options the page's settings forms */
export function createBattleView({ settingsForms }) {
  const settings = settingsForms.create({ window: false, promptFormat: false });
  const sides = {
    a: { transcript: createTranscript("Model A"), heading: h("h3", { id: "battle-name-a" }, "Model A") },
    b: { transcript: createTranscript("Model B"), heading: h("h3", { id: "battle-name-b" }, "Model B") },
  };
  const input = h("textarea", { id: "battle-input", rows: 3, placeholder: "Ask both anonymous models (Enter sends)", "aria-label": "Message for both models" });
  // Optional: the leaderboard can be shown per category (FastChat's per-category boards).
  const categoryInput = h("input", { type: "text", id: "battle-category", maxlength: 64, placeholder: "e.g. coding" });
  const sendButton = h("button", { type: "submit", class: "primary", id: "battle-send" }, "Send");
  const stopButton = h("button", { type: "button", id: "battle-stop", disabled: true, onclick: () => controller?.abort() }, "Stop");
  const newButton = h("button", { type: "button", id: "battle-new", onclick: () => startNew() }, "New battle");
  const revealButton = h("button", { type: "button", id: "battle-reveal", disabled: true, onclick: () => reveal() }, "Reveal names (forfeits the vote)");
  const voteButtons = Object.entries(voteLabels).map(([choice, label]) =>
    h("button", { type: "button", class: "vote", "data-choice": choice, id: `battle-vote-${choice}`, disabled: true, onclick: () => vote(choice) }, label),
  );
  const retryButton = h("button", { type: "button", id: "battle-retry", hidden: true, onclick: () => resumeUnfinished() }, "Retry failed answer");
  const abandonButton = h("button", { type: "button", id: "battle-abandon", hidden: true, onclick: () => abandon() }, "Abandon this battle");
  const result = h("p", { id: "battle-result", class: "battle-result", role: "status" });
  // Images go with a message to both sides; the server draws (or keeps) only models that can see.
  const attachments = createImageAttachments({ prefix: "battle", onError: (message) => announce(message, "error") });
  /** @type {PublicBattleView | null} */
  let battle = null;
  /** @type {AbortController | null} */
  let controller = null;
  /**
   * The answer views of the latest turn, by side: a retried answer replaces its failed one.
   * @type {Record<Side, MessageView | null>}
   */
  const latestAnswers = { a: null, b: null };
  let restored = false;

  /** @param {string | null} id */
  const remember = (id) => {
    if (id) localStorage.setItem(battleKey, id);
    else localStorage.removeItem(battleKey);
  };

  const sidebar = createSessionSidebar({
    prefix: "battle",
    label: "Battles",
    newLabel: "New battle",
    load: async () =>
      (await listBattles()).map((summary) => ({
        id: summary.id,
        title: summary.title,
        models: summary.models ? `A: ${summary.models.a} · B: ${summary.models.b}` : "anonymous",
        time: summary.updated_at,
      })),
    onOpen: (id) => routeTo("battle", id),
    onNew: () => startNew(),
  });
  const actions = createSessionActions({
    prefix: "battle",
    noun: "battle",
    exportFile: async () => (battle ? { name: `battle-${battle.id}.json`, text: await exportBattle(battle.id) } : null),
    remove: async () => {
      if (!battle || controller) return false;
      await deleteBattle(battle.id);
      startNew();
      return true;
    },
  });

  function paintState() {
    const busy = Boolean(controller);
    const unfinished = unfinishedSides();
    for (const button of voteButtons) button.disabled = busy || !battle?.can_vote;
    revealButton.disabled = busy || !battle || Boolean(battle.models);
    retryButton.hidden = busy || unfinished.length === 0;
    retryButton.textContent = unfinished.every((side) => battle?.turns.at(-1)?.answers[side].status === "failed") ? "Retry failed answer" : "Resume unfinished answers";
    abandonButton.hidden = retryButton.hidden;
    element.dataset.state = busy
      ? "streaming"
      : !battle
        ? "empty"
        : battle.vote || battle.revealed_before_vote
          ? "closed"
          : unfinished.length > 0
            ? "interrupted"
            : battle.can_vote
              ? "votable"
              : "open";
    sendButton.disabled = busy || Boolean(battle?.models);
    stopButton.disabled = !busy;
    actions.setEnabled(!busy && Boolean(battle));
    // The category is set when a battle starts: an open one shows its own, a new one takes what is typed.
    categoryInput.disabled = busy || Boolean(battle);
    if (battle) categoryInput.value = battle.category ?? "";
    for (const side of bothSides) sides[side].heading.textContent = battle?.models ? `Model ${side.toUpperCase()}: ${battle.models[side]}` : `Model ${side.toUpperCase()}`;
    // Once voted or revealed, the server sends the names.
    const names = battle?.models ? `A was ${battle.models.a}, B was ${battle.models.b}.` : "";
    const recorded = battle?.vote;
    if (recorded) result.textContent = `You voted: ${Object.entries({ model_a: "A is better", model_b: "B is better", tie: "Tie", "tie (bothbad)": "Both are bad" }).find(([k]) => k === recorded.winner)?.[1]}. ${names}`;
    else if (battle?.revealed_before_vote) result.textContent = `Names revealed before voting: this battle can no longer be voted on. ${names}`;
    else if (battle && unfinished.length > 0 && !busy) result.textContent = "An answer did not finish (it failed, or the page or server restarted): resume it, or abandon this battle.";
    else if (battle && !battle.can_vote && !busy) result.textContent = "Waiting for both answers…";
    else if (battle?.can_vote) result.textContent = "Both answers finished: vote, or continue the conversation.";
    else result.textContent = "Two models are drawn at random; their names stay hidden until you vote.";
    paintSideActions(busy);
  }

  /** Copy on each side's latest answer; until the vote also Regenerate and the versions to browse. @param {boolean} busy */
  function paintSideActions(busy) {
    const latest = battle?.turns?.at(-1);
    const open = Boolean(latest) && !battle?.vote && !battle?.revealed_before_vote;
    for (const side of bothSides) {
      const view = latestAnswers[side];
      const answer = latest?.answers?.[side];
      if (!view || !answer) continue;
      const label = side.toUpperCase();
      const actions = open ? [{ name: "regenerate", label: `Regenerate ${label}`, title: `Sample answer ${label} again; this one is kept`, onClick: () => void regenerateSide(side) }] : [];
      const siblings = open ? { index: answer.version ?? 0, count: answer.versions ?? 1, noun: `answer ${label}`, onSelect: (/** @type {number} */ version) => void showVersion(side, version) } : null;
      const row = messageActions({ text: answer.text, siblings, actions });
      for (const button of row.querySelectorAll("button:not([data-action=copy])")) {
        if (button instanceof HTMLButtonElement) button.disabled = busy || button.dataset.edge === "true";
      }
      setMessageActions(view.article, row);
    }
  }

  /** Samples one side's latest answer again; the earlier one stays as a version. @param {Side} side */
  async function regenerateSide(side) {
    if (controller || !battle) return;
    const { id } = battle;
    await streaming(async (signal) => {
      battle = /** @type {PublicBattleView} */ (await api("POST", `/api/arena/battles/${id}/answers/${side}/regenerate`));
      await streamSide(side, signal);
    });
  }

  /**
   * Runs `work` (answers streaming) as the battle's busy state, then reads the battle back.
   * @param {(signal: AbortSignal) => Promise<unknown>} work
   */
  async function streaming(work) {
    const { signal } = (controller = new AbortController());
    paintState();
    try {
      await work(signal);
      if (battle) battle = /** @type {PublicBattleView} */ (await api("GET", `/api/arena/battles/${battle.id}`));
    } catch (error) {
      announce(errorMessage(error), "error");
    } finally {
      controller = null;
      paintState();
    }
  }

  /**
   * Puts another version of a side's latest answer on screen (the one the vote compares).
   * @param {Side} side
   * @param {number} version
   */
  async function showVersion(side, version) {
    if (controller || !battle) return;
    try {
      battle = /** @type {PublicBattleView} */ (await api("POST", `/api/arena/battles/${battle.id}/answers/${side}/select`, { version }));
      paintBattle();
    } catch (error) {
      announce(errorMessage(error), "error");
    }
    paintState();
  }

  /** Shows no battle: the next message draws a new one. */
  function clear() {
    battle = null;
    remember(null);
    sides.a.transcript.clear();
    sides.b.transcript.clear();
    latestAnswers.a = latestAnswers.b = null;
    paintState();
    void sidebar.refresh(null);
  }

  function startNew() {
    if (controller) return;
    clear();
    routeTo("battle", null);
    input.focus();
  }

  /** Gives up on a battle whose answers did not finish: it is forgotten here and never voted on. */
  function abandon() {
    startNew();
    announce("Battle abandoned");
  }

  /** Draws a battle as the server has it (after a reload): every turn, each answer with its state. */
  function paintBattle() {
    for (const side of bothSides) {
      sides[side].transcript.clear();
      for (const turn of battle?.turns ?? []) {
        const asked = sides[side].transcript.addMessage("user", turn.user_message);
        asked.flush();
        showThumbnails(asked.article, turn.images);
        const stored = turn.answers[side];
        const answer = sides[side].transcript.addMessage("assistant", stored.text, `Model ${side.toUpperCase()}`);
        answer.flush();
        if (stored.status === "done") {
          answer.article.dataset.state = "done";
          answer.setMeta(`Model ${side.toUpperCase()} · ${finishLabel(stored.finish_reason)}`);
        }
        else if (stored.status === "failed") answer.setError("This answer failed.");
        else answer.setInterrupted("Not finished: the answer was cut short.");
        // An earlier turn's answer is settled: copy only (paintState gives the latest its actions).
        if (turn !== battle?.turns.at(-1)) setMessageActions(answer.article, messageActions({ text: stored.text }));
        latestAnswers[side] = answer;
      }
    }
  }

  /** Reopens a battle (from the address, the list, or the one kept from before a reload), if the server still has it. @param {string | null} id */
  async function openBattle(id) {
    if (!id) return clear();
    try {
      battle = /** @type {PublicBattleView} */ (await api("GET", `/api/arena/battles/${encodeURIComponent(id)}`));
    } catch (error) {
      if (errorStatus(error) !== 404 && errorStatus(error) !== 403) throw error;
      announce("This battle no longer exists", "error");
      return clear();
    }
    remember(battle.id);
    paintBattle();
    paintState();
    await sidebar.refresh(battle.id);
  }

  /** @param {Side} side @param {AbortSignal} signal */
  async function streamSide(side, signal) {
    // A retried or resumed answer takes the place of the one that did not finish.
    latestAnswers[side]?.remove();
    const answer = sides[side].transcript.addMessage("assistant", "", `Model ${side.toUpperCase()}`);
    latestAnswers[side] = answer;
    answer.setStreaming(true);
    let text = "";
    try {
      const events = /** @type {AsyncGenerator<BattleAnswerEvent>} */ (streamEvents(`/api/arena/battles/${battle?.id}/answers/${side}`, {}, signal));
      for await (const event of events) {
        if (event.type === "delta") {
          text += event.text;
          answer.update(text);
        } else if (event.type === "done") {
          answer.setMeta(`Model ${side.toUpperCase()} · ${finishLabel(event.finish_reason, event.completion_tokens)}`);
        } else if (event.type === "error") {
          answer.setError(event.message);
        }
      }
    } catch (error) {
      if (!signal.aborted) answer.setError(errorMessage(error));
      else answer.setMeta(`Model ${side.toUpperCase()} · stopped`);
    } finally {
      // Errors sit outside the text, so this repaint keeps them.
      answer.update(text);
      answer.flush();
      answer.setStreaming(false);
    }
  }

  async function send() {
    const text = input.value.trim();
    if (!text || controller || battle?.models) return;
    if (unfinishedSides().length > 0) return announce("Resume or abandon the unfinished answers first", "error");
    const problem = battle ? null : settings.validate();
    if (problem) return announce(problem, "error");
    controller = new AbortController();
    paintState();
    input.value = "";
    let sent = false;
    const attached = attachments.take();
    const images = attached.map((attachment) => ({ type: "image_url", image_url: { url: attachment.url } }));
    const { signal } = controller;
    try {
      if (!battle) {
        const values = settings.values();
        const category = categoryInput.value.trim();
        battle = /** @type {PublicBattleView} */ (await api("POST", "/api/arena/battles", {
          message: text,
          ...(images.length > 0 ? { images } : {}),
          settings: { ...requestFields(values), ...(values.system_prompt ? { system_prompt: values.system_prompt } : {}) },
          ...(category ? { category } : {}),
        }));
        remember(battle.id);
        routeTo("battle", battle.id);
        void sidebar.refresh(battle.id);
      } else {
        battle = /** @type {PublicBattleView} */ (await api("POST", `/api/arena/battles/${battle.id}/turns`, { message: text, ...(images.length > 0 ? { images } : {}) }));
      }
      sent = true;
      for (const side of bothSides) {
        // The earlier turn's answers are settled now: copy only.
        const previous = latestAnswers[side];
        if (previous) setMessageActions(previous.article, messageActions({ text: battle.turns.at(-2)?.answers[side].text ?? "" }));
        const asked = sides[side].transcript.addMessage("user", text);
        asked.flush();
        showThumbnails(asked.article, battle.turns.at(-1)?.images);
        latestAnswers[side] = null;
      }
      // The two sides stream at once; their order on screen was randomised by the server's draw.
      await Promise.all(bothSides.map((side) => streamSide(side, signal)));
      battle = /** @type {PublicBattleView} */ (await api("GET", `/api/arena/battles/${battle.id}`));
    } catch (error) {
      const noArena = errorStatus(error) === 404 && /no route/.test(errorMessage(error));
      announce(noArena ? "This server has no arena: it was started without an arena store" : errorMessage(error), "error");
      // Once the server has the message, the unfinished answers are resumed instead of sending again.
      if (!sent) {
        input.value = text;
        attachments.restore(attached);
      }
    } finally {
      controller = null;
      paintState();
      if (battle?.can_vote) voteButtons[0].focus();
      void sidebar.refresh(battle?.id ?? null);
    }
  }

  /**
   * Sides whose answer to the latest turn did not finish: it failed, or its stream was cut (a server
   * restart leaves it pending). The server lets them be generated again.
   */
  function unfinishedSides() {
    const latest = battle?.turns?.at(-1);
    if (!battle || !latest || battle.vote || battle.models) return [];
    return bothSides.filter((side) => latest.answers[side].status !== "done");
  }

  async function resumeUnfinished() {
    const sidesToRetry = unfinishedSides();
    if (controller || sidesToRetry.length === 0) return;
    await streaming((signal) => Promise.all(sidesToRetry.map((side) => streamSide(side, signal))));
  }

  /** @param {string} choice a key of voteLabels */
  async function vote(choice) {
    if (!battle) return;
    try {
      const voted = /** @type {VoteResponse} */ (await api("POST", `/api/arena/battles/${battle.id}/vote`, { winner: choice }));
      battle = voted;
      announce(`Vote recorded: A was ${voted.models?.a}, B was ${voted.models?.b}`);
      document.dispatchEvent(new CustomEvent("camelid:voted"));
    } catch (error) {
      announce(errorMessage(error), "error");
      result.textContent = errorMessage(error);
      return;
    }
    paintState();
    void sidebar.refresh(battle.id);
    newButton.focus();
  }

  async function reveal() {
    if (!battle || !confirm("Reveal the model names? This battle will no longer accept a vote.")) return;
    battle = /** @type {PublicBattleView} */ (await api("POST", `/api/arena/battles/${battle.id}/reveal`));
    paintState();
    void sidebar.refresh(battle.id);
  }

  const element = h(
    "section",
    { id: "view-battle", class: "view chat-view", "aria-labelledby": "battle-heading" },
    sidebar.element,
    h(
      "div",
      { class: "chat-main" },
      h("div", { class: "toolbar" }, sidebar.toggleButton, h("h2", { id: "battle-heading", class: "title" }, "Anonymous battle"), actions.buttons),
      settings.element,
      h("label", { class: "battle-category" }, "Category (optional) ", categoryInput),
      h(
        "div",
        { class: "columns two" },
        bothSides.map((side) => h("section", { class: "column", "data-side": side, "aria-labelledby": `battle-name-${side}` }, sides[side].heading, sides[side].transcript.element)),
      ),
      result,
      h("div", { class: "vote-bar", role: "group", "aria-label": "Vote" }, voteButtons, revealButton, retryButton, abandonButton, newButton),
      battleComposer(),
    ),
  );
  paintState();
  /** The composer with its image tray: attach, paste or drop images onto it. */
  function battleComposer() {
    const form = composer({ input, buttons: [attachments.button, attachments.picker, sendButton, stopButton], onSend: () => void send(), onEscape: () => controller?.abort() });
    form.prepend(attachments.tray);
    attachments.watch(form);
    return form;
  }
  return {
    element,
    async activate(sessionId = null) {
      if (controller) return;
      if (!restored) {
        // The address names the battle; without one, the battle open before a reload comes back.
        restored = true;
        await openBattle(sessionId ?? localStorage.getItem(battleKey));
        if (battle && !sessionId) routeTo("battle", battle.id);
        return;
      }
      if (sessionId === (battle?.id ?? null)) return sidebar.refresh(sessionId);
      await openBattle(sessionId);
    },
  };
}
