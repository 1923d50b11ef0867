// A tiny element builder: the UI is plain DOM, with text always set as text (never as HTML) except
// where the Markdown renderer's escaped output is used on purpose.

/**
 * h("button", {class: "primary", onclick}, "Send") → HTMLButtonElement
 * Attributes starting with "on" become listeners; `false`/`null` attributes are skipped.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name === "value") element.value = value;
    else if (name === "checked" || name === "disabled" || name === "selected") element[name] = Boolean(value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function replaceChildren(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/** Saves text as a file through a blob URL (no network request). */
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
 */
export function announce(message, kind = "info") {
  const status = document.querySelector('[role="tabpanel"]:not([hidden]) > .tab-status') ?? document.getElementById("status");
  if (!status) return;
  status.textContent = message;
  status.dataset.kind = kind;
}

/**
 * The prompt composer: a form holding the input and its buttons. Submitting it, Ctrl+Enter or
 * Cmd+Enter in the input, or Enter without Shift (when enterSends), calls onSend; Escape inside it
 * calls onEscape when given.
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
