// @ts-check
// The list of saved sessions beside Arena, Battle and Collaborate (as Chat has its conversations):
// title, the models (or "anonymous" for a battle not yet voted on) and the time; a click reopens one.
// Its `data-state` is "ready" once the list has been read, for tests that wait on it. Like Chat's, it
// opens and closes with a button (closed at first on a phone), and a pick there closes it on a phone.
import { errorMessage } from "./api.js";
import { announce, download, h, replaceChildren } from "./dom.js";
import { createSidebarToggle } from "./sidebar-toggle.js";

/** @typedef {{ id: string, title: string, models: string, time: number }} SidebarItem */

/**
 * @param {{ prefix: string, label: string, newLabel: string, load: () => Promise<SidebarItem[]>, onOpen: (id: string) => void, onNew: () => void }} options
 */
export function createSessionSidebar({ prefix, label, newLabel, load, onOpen, onNew }) {
  const list = h("ul", { class: "conversation-list session-list", id: `${prefix}-sessions`, "aria-label": label });
  const element = h(
    "aside",
    { class: "sidebar", id: `${prefix}-sidebar`, "aria-label": label },
    h("button", { type: "button", id: `${prefix}-new-session`, class: "primary", onclick: () => (onNew(), toggle.closeOnPhone()) }, newLabel),
    list,
  );
  const toggle = createSidebarToggle({ sidebar: element, label: "Sessions" });

  /** @param {string | null} currentId */
  async function refresh(currentId) {
    const items = await load();
    replaceChildren(
      list,
      items.map((item) =>
        h(
          "li",
          {},
          h(
            "button",
            { type: "button", class: "conversation-link", "data-session-id": item.id, "aria-current": item.id === currentId ? "true" : false, onclick: () => (onOpen(item.id), toggle.closeOnPhone()) },
            h("span", { class: "conversation-title" }, item.title),
            h("span", { class: "meta session-models" }, item.models),
            h("span", { class: "meta" }, new Date(item.time).toLocaleString()),
          ),
        ),
      ),
    );
    list.dataset.state = "ready";
  }
  return {
    element,
    /** Shows and hides the list: it goes in the screen's toolbar, as Chat's Conversations button. */
    toggleButton: toggle.button,
    refresh: (/** @type {string | null} */ currentId) => refresh(currentId).catch((error) => announce(error.message, "error")),
  };
}

/**
 * Export and Delete buttons for the open session.
 * @param {{ prefix: string, noun: string, exportFile: () => Promise<{ name: string, text: string } | null>, remove: () => Promise<boolean> }} options
 */
export function createSessionActions({ prefix, noun, exportFile, remove }) {
  const exportButton = h(
    "button",
    {
      type: "button",
      id: `${prefix}-export`,
      onclick: async () => {
        try {
          const file = await exportFile();
          if (file) download(file.name, file.text);
        } catch (error) {
          announce(errorMessage(error), "error");
        }
      },
    },
    "Export JSON",
  );
  const deleteButton = h(
    "button",
    {
      type: "button",
      id: `${prefix}-delete`,
      class: "danger",
      onclick: async () => {
        if (!confirm(`Delete this ${noun}?`)) return;
        try {
          if (await remove()) announce(`${noun[0].toUpperCase()}${noun.slice(1)} deleted`);
        } catch (error) {
          announce(errorMessage(error), "error");
        }
      },
    },
    "Delete",
  );
  return {
    buttons: [exportButton, deleteButton],
    /** Enabled only while a saved session is open and nothing streams. @param {boolean} enabled */
    setEnabled(enabled) {
      exportButton.disabled = !enabled;
      deleteButton.disabled = !enabled;
    },
  };
}

/** A file name from a title (as Chat's exports make theirs). @param {string} kind @param {string} title */
export const exportName = (kind, title) => `${kind}-${title.replace(/[^\w.-]+/g, "_").slice(0, 40) || "session"}.json`;

/**
 * Shows `tab` with `sessionId` open in the address (`#arena/<id>`; null: the tab's new session), so a
 * reload reopens it and back/forward move between sessions. The app's hash listener opens it.
 * @param {string} tab @param {string | null} sessionId
 */
export function routeTo(tab, sessionId) {
  const hash = sessionId ? `#${tab}/${encodeURIComponent(sessionId)}` : `#${tab}`;
  if (location.hash !== hash) location.hash = hash;
}
