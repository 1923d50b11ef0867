// @ts-check
// A tiny element builder: the UI is plain DOM, with text always set as text (never as HTML) except
// where the Markdown renderer's escaped output is used on purpose.

/** @typedef {string | number | boolean | null | undefined} AttributeValue */
/**
 * Listeners by their attribute name ("onclick"), each typed with its event.
 * @typedef {{ [K in keyof HTMLElementEventMap as `on${K}`]?: ((event: HTMLElementEventMap[K]) => unknown) | false | null }} ListenerAttributes
 */
/** @typedef {ListenerAttributes & { [name: string]: AttributeValue | ((event: never) => unknown) }} Attributes */
/** What may be appended: nodes, text (numbers too), nested lists; null, undefined and false are skipped. */
/** @typedef {Node | string | number | boolean | null | undefined | readonly Child[]} Child */

/**
 * h("button", {class: "primary", onclick}, "Send") → HTMLButtonElement
 * Attributes starting with "on" become listeners; `false`/`null` attributes are skipped.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attributes | null} [attributes]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), /** @type {EventListener} */ (value));
    else if (name === "class") element.className = String(value);
    // Properties, not attributes: a form control's current value and state (only elements that have them get them).
    else if (name === "value") Object.assign(element, { value });
    else if (name === "checked" || name === "disabled" || name === "selected") Object.assign(element, { [name]: Boolean(value) });
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

/** @param {Element} element @param {readonly Child[]} children */
function append(element, children) {
  // Flattened as unknown[]: TypeScript cannot follow Child's nesting to any depth.
  for (const child of /** @type {readonly unknown[]} */ (children).flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * The page's element with this id, which must be of `type` (the page's own markup: a missing one is a bug).
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{ new (): T }} type
 * @returns {T}
 */
export function byId(id, type) {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`the page has no element #${id} of the expected kind`);
  return element;
}

/** Replaces an element's children. @param {Element} element @param {...Child} children */
export function replaceChildren(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/** Saves text as a file through a blob URL (no network request). @param {string} filename @param {string} text */
export function download(filename, text, type = "application/json") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * Announces a message to screen readers and shows it in the status line of the screen on show (each
 * tab has its own, with its room reserved so a message never moves the page), or the page's status
 * before the screens exist.
 * @param {string} message
 * @param {"info" | "error"} [kind]
 */
export function announce(message, kind = "info") {
  const status = document.querySelector('[role="tabpanel"]:not([hidden]) > .tab-status') ?? document.getElementById("status");
  if (!(status instanceof HTMLElement)) return;
  status.textContent = message;
  status.dataset.kind = kind;
}

/**
 * The prompt composer: a form holding the input and its buttons. Submitting it, Ctrl+Enter or
 * Cmd+Enter in the input, or Enter without Shift (when enterSends), calls onSend; Escape inside it
 * calls onEscape when given.
 * @param {{ input: HTMLTextAreaElement, buttons: HTMLElement[], onSend: () => void, onEscape?: () => void, enterSends?: boolean }} options
 */
export function composer({ input, buttons, onSend, onEscape, enterSends = true }) {
  input.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.isComposing) return;
    if (event.ctrlKey || event.metaKey || (enterSends && !event.shiftKey)) {
      event.preventDefault();
      onSend();
    }
  });
  return h(
    "form",
    {
      class: "composer",
      onsubmit: (event) => {
        event.preventDefault();
        onSend();
      },
      onkeydown: onEscape && ((event) => event.key === "Escape" && onEscape()),
    },
    input,
    h("div", { class: "composer-buttons" }, ...buttons),
  );
}
