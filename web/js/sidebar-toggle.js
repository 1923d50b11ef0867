// @ts-check
// A sidebar that a button shows and hides (aria-expanded), closed at first on a phone-sized screen so
// the conversation gets the room, open on a wider one. The layout around it follows the sidebar's
// `hidden` (styles.css uses :has()).
import { h } from "./dom.js";

/** Where the playground's layout becomes one column (styles.css uses the same width). */
export const phoneQuery = "(max-width: 700px)";

/**
 * @param {{ sidebar: HTMLElement, label: string }} parts the sidebar (it needs an id) and the button's text
 * @returns {{ button: HTMLButtonElement, setOpen(open: boolean): void, closeOnPhone(): void }}
 */
export function createSidebarToggle({ sidebar, label }) {
  const button = /** @type {HTMLButtonElement} */ (h("button", { type: "button", class: "sidebar-toggle", id: `${sidebar.id}-toggle`, "aria-controls": sidebar.id }, label));
  /** @param {boolean} open */
  const setOpen = (open) => {
    sidebar.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
  };
  button.addEventListener("click", () => setOpen(Boolean(sidebar.hidden)));
  setOpen(!matchMedia(phoneQuery).matches);
  return {
    button,
    setOpen,
    /** After a pick in the sidebar: on a phone it gives the screen back to the conversation. */
    closeOnPhone: () => matchMedia(phoneQuery).matches && setOpen(false),
  };
}
