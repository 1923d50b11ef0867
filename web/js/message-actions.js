// @ts-check
// The row of actions under a message (Chat, Arena, Battle): browse between its alternatives
// ("‹ 2/3 ›", like ChatGPT, Open WebUI and llama.cpp's web UI), copy its Markdown, and the actions
// its view offers (regenerate, edit, delete). Each button says what it does in `data-action`, and the
// position in `data-position` ("2/3"), for scripts and tests; `data-edge` marks an arrow that stays
// disabled at the first or last alternative whatever the view's busy state.
import { h } from "./dom.js";

/**
 * @typedef {object} SiblingPosition
 * @property {number} index 0-based position of the message among its alternatives
 * @property {number} count how many alternatives there are
 * @property {(index: number) => void} onSelect shows the alternative at this position
 * @property {string} [noun] what an alternative is called in the buttons' labels ("answer", "version")
 */

/**
 * @typedef {object} MessageAction
 * @property {string} name `data-action`: "regenerate", "edit", "delete", …
 * @property {string} label the button's text
 * @property {() => void} onClick
 * @property {string} [title] a longer description (tooltip and accessible description)
 */

/**
 * Copies text to the clipboard. The Clipboard API needs a secure context (https or localhost); on a
 * plain-http LAN address a hidden textarea and execCommand("copy") still work.
 * @param {string} text
 * @returns {Promise<boolean>} whether the text was copied
 */
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the older way
  }
  const area = /** @type {HTMLTextAreaElement} */ (h("textarea", { class: "offscreen", "aria-hidden": "true", readonly: true }));
  area.value = text;
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  area.remove();
  return copied;
}

/**
 * The action row. `text` is what Copy copies (the message's raw Markdown).
 * @param {{ text: string, siblings?: SiblingPosition | null, actions?: MessageAction[] }} options
 * @returns {HTMLElement}
 */
export function messageActions({ text, siblings = null, actions = [] }) {
  const row = h("div", { class: "message-actions", role: "group", "aria-label": "Message actions" });
  if (siblings && siblings.count > 1) {
    const noun = siblings.noun ?? "answer";
    const position = `${siblings.index + 1}/${siblings.count}`;
    row.append(
      h(
        "span",
        { class: "sibling-nav", "data-position": position },
        h("button", { type: "button", class: "sibling-previous", "data-action": "previous", "aria-label": `Previous ${noun}`, disabled: siblings.index === 0, "data-edge": siblings.index === 0 ? "true" : null, onclick: () => siblings.onSelect(siblings.index - 1) }, "‹"),
        h("span", { class: "sibling-position", "aria-label": `${noun} ${siblings.index + 1} of ${siblings.count}` }, position),
        h("button", { type: "button", class: "sibling-next", "data-action": "next", "aria-label": `Next ${noun}`, disabled: siblings.index === siblings.count - 1, "data-edge": siblings.index === siblings.count - 1 ? "true" : null, onclick: () => siblings.onSelect(siblings.index + 1) }, "›"),
      ),
    );
  }
  const copy = h("button", { type: "button", class: "message-action", "data-action": "copy", "data-copy-state": "idle", title: "Copy this message's Markdown" }, "Copy");
  copy.addEventListener("click", async () => {
    const copied = await copyText(text);
    copy.dataset.copyState = copied ? "copied" : "failed";
    copy.textContent = copied ? "Copied" : "Copy failed";
  });
  row.append(copy);
  for (const action of actions) {
    row.append(h("button", { type: "button", class: "message-action", "data-action": action.name, title: action.title ?? null, onclick: action.onClick }, action.label));
  }
  return row;
}

/**
 * Puts the action row on a message's article, replacing the one it had.
 * @param {HTMLElement} article
 * @param {HTMLElement} row
 */
export function setMessageActions(article, row) {
  article.querySelector(":scope > .message-actions")?.remove();
  article.append(row);
}
