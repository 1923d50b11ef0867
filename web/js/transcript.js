// @ts-check
// A column of chat messages whose last answer can grow while it streams. Markdown is re-rendered at
// most once per animation frame, so a fast model does not re-layout the page per token. An answer's
// `data-state` says where it is ("streaming", then "done", "error" or "interrupted"), for scripts and
// tests that must wait for the end of a reply rather than guess how long it takes. Errors and the
// interruption note sit outside the Markdown body, so repainting the text never erases them.
import { h } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

/** @typedef {import("./api.js").ChatStreamResult} ChatStreamResult */
/**
 * What a reply's numbers are drawn from: a streamed result (ChatStreamResult), or an answer a saved
 * session recorded (its usage and timings kept as plain numbers).
 * @typedef {{ finishReason?: string | null, usage?: Partial<Record<"prompt_tokens" | "completion_tokens", number | null>> | null, timings?: Partial<Record<"prompt_ms" | "predicted_per_second", number | null>> | null }} ReplyFigures
 */
/** @typedef {ReturnType<ReturnType<typeof createTranscript>["addMessage"]>} MessageView */

/** @param {string} label the transcript's accessible name */
export function createTranscript(label) {
  const list = h("div", { class: "transcript", role: "log", "aria-live": "polite", "aria-label": label });

  /**
   * @param {string} role "user", "assistant" (or "system")
   * @param {string} [text]
   * @param {string} [meta] shown in the message's header (the model, the finish reason)
   */
  function addMessage(role, text = "", meta = "") {
    const body = h("div", { class: "markdown" });
    const metaElement = h("span", { class: "meta" }, meta);
    const article = h("article", { class: `message ${role}` }, h("header", {}, h("span", { class: "role" }, role === "user" ? "You" : role === "assistant" ? "Assistant" : role), metaElement), body);
    list.append(article);
    let pending = text;
    let scheduled = false;
    const paint = () => {
      scheduled = false;
      body.innerHTML = renderMarkdown(pending);
      list.scrollTop = list.scrollHeight;
    };
    paint();
    return {
      article,
      /** Shows the whole text so far (re-rendered on the next frame). @param {string} full */
      update(full) {
        pending = full;
        if (!scheduled) {
          scheduled = true;
          requestAnimationFrame(paint);
        }
      },
      /** @param {boolean} on */
      setStreaming(on) {
        article.classList.toggle("streaming", on);
        article.setAttribute("aria-busy", on ? "true" : "false");
        if (on) article.dataset.state = "streaming";
        else if (article.dataset.state === "streaming") article.dataset.state = "done";
      },
      /** @param {string} value */
      setMeta(value) {
        metaElement.textContent = value;
      },
      /**
       * The reply's numbers (llama.cpp's UI): time to first token, tokens/s, token counts, finish reason.
       * @param {ReplyFigures} result
       */
      setNumbers(result) {
        article.querySelector(".reply-numbers")?.remove();
        article.append(replyNumbers(result));
      },
      /** @param {string} message */
      setError(message) {
        article.classList.add("error");
        article.dataset.state = "error";
        article.append(h("p", { class: "error-text", role: "alert" }, message));
      },
      /** The answer was cut short (Stop, a reload, a restart): what arrived stays, marked as such. @param {string} note */
      setInterrupted(note) {
        article.classList.add("interrupted");
        article.dataset.state = "interrupted";
        article.append(h("p", { class: "interrupted-note" }, note));
      },
      /** Takes the message off the page (a retried answer replaces the failed one). */
      remove: () => article.remove(),
      flush: paint,
    };
  }

  return { element: list, addMessage, clear: () => list.replaceChildren() };
}

/**
 * "stop · 42 tokens" from a finish reason and usage.
 * @param {string | null | undefined} finishReason
 * @param {number | null} [completionTokens]
 */
export function finishLabel(finishReason, completionTokens) {
  const parts = [];
  if (finishReason) parts.push(finishReason === "abort" ? "stopped" : finishReason);
  if (completionTokens !== undefined && completionTokens !== null) parts.push(`${completionTokens} tokens`);
  return parts.join(" · ");
}

/** @param {number | null | undefined} value @param {number} digits */
const formatted = (value, digits) => (typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : null);

/**
 * A reply's numbers as a line of labelled figures, each also a data attribute (for scripts): from the
 * stream's usage and llama-server `timings` (prompt_ms = time to first token, predicted_per_second).
 * @param {ReplyFigures} result
 */
export function replyNumbers({ finishReason, usage, timings }) {
  /** @type {[key: string, label: string, value: string | number | null, unit: string][]} */
  const all = [
    ["ttft-ms", "first token", formatted(timings?.prompt_ms, 0), " ms"],
    ["tokens-per-second", "speed", formatted(timings?.predicted_per_second, 1), " tok/s"],
    ["prompt-tokens", "prompt", usage?.prompt_tokens ?? null, " tokens"],
    ["completion-tokens", "completion", usage?.completion_tokens ?? null, " tokens"],
    ["finish-reason", "finish", finishReason ? (finishReason === "abort" ? "stopped" : finishReason) : null, ""],
  ];
  const figures = all.filter(([, , value]) => value !== null);
  const element = h("dl", { class: "reply-numbers" });
  for (const [key, label, value, unit] of figures) {
    element.dataset[key.replace(/-(\w)/g, (_, letter) => letter.toUpperCase())] = String(value);
    element.append(h("div", {}, h("dt", {}, label), h("dd", {}, `${value}${unit}`)));
  }
  return element;
}
