// Anonymous battle: the server draws two models and hides their names; this page only streams the
// answers of "A" and "B", offers the vote once both finished, and shows the names the server
// reveals after it. Every rule is enforced by the server; the buttons merely mirror it.
import { api, streamEvents } from "./api.js";
import { announce, composer, h } from "./dom.js";
import { createSettingsForm, requestFields } from "./settings-form.js";
import { createTranscript, finishLabel } from "./transcript.js";

const voteLabels = { a: "A is better", b: "B is better", tie: "Tie", bothbad: "Both are bad" };

/** The open battle's id, so a reload (or a server restart) finds it again to resume or abandon it. */
const lastBattleKey = "camelid.lastBattle";

export function createBattleView() {
  const settings = createSettingsForm({ window: false, promptFormat: false });
  const sides = {
    a: { transcript: createTranscript("Model A"), heading: h("h3", { id: "battle-name-a" }, "Model A") },
    b: { transcript: createTranscript("Model B"), heading: h("h3", { id: "battle-name-b" }, "Model B") },
  };
  const input = h("textarea", { id: "battle-input", rows: 3, placeholder: "Ask both anonymous models (Enter sends)", "aria-label": "Message for both models" });
  const sendButton = h("button", { type: "submit", class: "primary", id: "battle-send" }, "Send");
  const stopButton = h("button", { type: "button", id: "battle-stop", disabled: true, onclick: () => controller?.abort() }, "Stop");
  const newButton = h("button", { type: "button", id: "battle-new", onclick: () => reset() }, "New battle");
  const revealButton = h("button", { type: "button", id: "battle-reveal", disabled: true, onclick: () => reveal() }, "Reveal names (forfeits the vote)");
  const voteButtons = Object.entries(voteLabels).map(([choice, label]) =>
    h("button", { type: "button", class: "vote", "data-choice": choice, id: `battle-vote-${choice}`, disabled: true, onclick: () => vote(choice) }, label),
  );
  const retryButton = h("button", { type: "button", id: "battle-retry", hidden: true, onclick: () => retryFailed() }, "Retry failed answer");
  let restored = false;
  const result = h("p", { id: "battle-result", class: "battle-result", role: "status" });
  let battle = null;
  let controller = null;

  function paintState() {
    const busy = Boolean(controller);
    for (const button of voteButtons) button.disabled = busy || !battle?.can_vote;
    revealButton.disabled = busy || !battle || Boolean(battle.models);
    const unfinished = failedSides();
    const interrupted = !busy && unfinished.length > 0 && unfinished.every((side) => battle.turns.at(-1).answers[side].status === "pending");
    retryButton.hidden = busy || unfinished.length === 0;
    retryButton.textContent = interrupted ? "Resume battle" : "Retry failed answer";
    newButton.textContent = !busy && unfinished.length > 0 ? "Abandon battle" : "New battle";
    sendButton.disabled = busy || Boolean(battle?.models);
    stopButton.disabled = !busy;
    for (const side of ["a", "b"]) sides[side].heading.textContent = battle?.models ? `Model ${side.toUpperCase()}: ${battle.models[side]}` : `Model ${side.toUpperCase()}`;
    if (battle?.vote) result.textContent = `You voted: ${Object.entries({ model_a: "A is better", model_b: "B is better", tie: "Tie", "tie (bothbad)": "Both are bad" }).find(([k]) => k === battle.vote.winner)?.[1]}. A was ${battle.models.a}, B was ${battle.models.b}.`;
    else if (battle?.revealed_before_vote) result.textContent = `Names revealed before voting: this battle can no longer be voted on. A was ${battle.models.a}, B was ${battle.models.b}.`;
    else if (interrupted) result.textContent = "This battle was interrupted before both answers finished: resume it, or abandon it for a new one.";
    else if (unfinished.length > 0) result.textContent = "An answer failed: retry it, or abandon the battle for a new one.";
    else if (battle && !battle.can_vote && !busy) result.textContent = "Waiting for both answers…";
    else if (battle?.can_vote) result.textContent = "Both answers finished: vote, or continue the conversation.";
    else result.textContent = "Two models are drawn at random; their names stay hidden until you vote.";
  }

  function reset() {
    if (controller) return;
    battle = null;
    localStorage.removeItem(lastBattleKey);
    sides.a.transcript.clear();
    sides.b.transcript.clear();
    paintState();
    input.focus();
  }

  /** Streams one side's answer to the latest turn; `replace` takes the failed or interrupted one off the screen first. */
  async function streamSide(side, signal, { replace = false } = {}) {
    if (replace) sides[side].lastAnswer?.article.remove();
    const answer = sides[side].transcript.addMessage("assistant", "", `Model ${side.toUpperCase()}`);
    sides[side].lastAnswer = answer;
    answer.setStreaming(true);
    let text = "";
    try {
      for await (const event of streamEvents(`/api/arena/battles/${battle.id}/answers/${side}`, {}, signal)) {
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
      if (!signal.aborted) answer.setError(error.message);
      else answer.setMeta(`Model ${side.toUpperCase()} · stopped`);
    } finally {
      answer.update(text);
      answer.flush();
      answer.setStreaming(false);
    }
  }

  async function send() {
    const text = input.value.trim();
    if (!text || controller || battle?.models) return;
    const problem = battle ? null : settings.validate();
    if (problem) return announce(problem, "error");
    controller = new AbortController();
    paintState();
    input.value = "";
    try {
      if (!battle) {
        const values = settings.values();
        battle = await api("POST", "/api/arena/battles", { message: text, settings: { ...requestFields(values), ...(values.system_prompt ? { system_prompt: values.system_prompt } : {}) } });
        localStorage.setItem(lastBattleKey, battle.id);
      } else {
        battle = await api("POST", `/api/arena/battles/${battle.id}/turns`, { message: text });
      }
      for (const side of ["a", "b"]) sides[side].transcript.addMessage("user", text).flush();
      // The two sides stream at once; their order on screen was randomised by the server's draw.
      await Promise.all(["a", "b"].map((side) => streamSide(side, controller.signal)));
      battle = await api("GET", `/api/arena/battles/${battle.id}`);
    } catch (error) {
      const noArena = error.status === 404 && /no route/.test(error.message);
      announce(noArena ? "This server has no arena: it was started without an arena store" : error.message, "error");
      input.value = text;
    } finally {
      controller = null;
      paintState();
      if (battle?.can_vote) voteButtons[0].focus();
    }
  }

  /**
   * Sides whose answer to the latest turn is not done: failed, or still "pending" because the stream was
   * cut (a server restart, a reload). The server lets them be generated again.
   */
  function failedSides() {
    const latest = battle?.turns?.at(-1);
    if (!latest || battle.vote || battle.models) return [];
    return ["a", "b"].filter((side) => latest.answers[side].status !== "done");
  }

  async function retryFailed() {
    const sidesToRetry = failedSides();
    if (controller || sidesToRetry.length === 0) return;
    controller = new AbortController();
    paintState();
    try {
      await Promise.all(sidesToRetry.map((side) => streamSide(side, controller.signal, { replace: true })));
      battle = await api("GET", `/api/arena/battles/${battle.id}`);
    } catch (error) {
      announce(error.message, "error");
    } finally {
      controller = null;
      paintState();
    }
  }

  async function vote(choice) {
    if (!battle) return;
    try {
      battle = await api("POST", `/api/arena/battles/${battle.id}/vote`, { winner: choice });
      announce(`Vote recorded: A was ${battle.models.a}, B was ${battle.models.b}`);
      localStorage.removeItem(lastBattleKey);
      document.dispatchEvent(new CustomEvent("camelid:voted"));
    } catch (error) {
      announce(error.message, "error");
      result.textContent = error.message;
      return;
    }
    paintState();
    newButton.focus();
  }

  async function reveal() {
    if (!battle || !confirm("Reveal the model names? This battle will no longer accept a vote.")) return;
    battle = await api("POST", `/api/arena/battles/${battle.id}/reveal`);
    paintState();
  }

  const element = h(
    "section",
    { id: "view-battle", class: "view", "aria-labelledby": "battle-heading" },
    h("h2", { id: "battle-heading" }, "Anonymous battle"),
    settings.element,
    h(
      "div",
      { class: "columns two" },
      ["a", "b"].map((side) => h("section", { class: "column", "aria-labelledby": `battle-name-${side}` }, sides[side].heading, sides[side].transcript.element)),
    ),
    result,
    h("div", { class: "vote-bar", role: "group", "aria-label": "Vote" }, voteButtons, revealButton, retryButton, newButton),
    composer({ input, buttons: [sendButton, stopButton], onSend: () => void send(), onEscape: () => controller?.abort() }),
  );
  /** After a reload: the battle left open (not voted, names not revealed) is shown again, to resume or abandon. */
  async function restore() {
    restored = true;
    const id = localStorage.getItem(lastBattleKey);
    if (!id) return;
    let found;
    try {
      found = await api("GET", `/api/arena/battles/${encodeURIComponent(id)}`);
    } catch {
      localStorage.removeItem(lastBattleKey);
      return;
    }
    if (found.vote || found.models) return localStorage.removeItem(lastBattleKey);
    battle = found;
    for (const side of ["a", "b"]) {
      sides[side].transcript.clear();
      for (const turn of battle.turns) {
        sides[side].transcript.addMessage("user", turn.user_message).flush();
        const { text, status, finish_reason: finishReason } = turn.answers[side];
        const answer = sides[side].transcript.addMessage("assistant", text, `Model ${side.toUpperCase()}${status === "done" ? ` · ${finishLabel(finishReason)}` : ""}`);
        sides[side].lastAnswer = answer;
        if (status === "failed") answer.setError("This answer failed.");
        else if (status !== "done") answer.setInterrupted();
      }
    }
    paintState();
  }

  paintState();
  return {
    element,
    async activate() {
      if (!restored) await restore();
    },
  };
}
