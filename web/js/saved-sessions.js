// @ts-check
// What a screen with saved sessions (Arena, Collaborate) needs, wired once: the sidebar list, Export
// and Delete, the saver, and opening a session by its address (#<tab>/<id>). The screen supplies how
// to draw a session (`show`) and whether it is busy streaming (then the open session stays).
import { errorMessage, errorStatus } from "./api.js";
import { announce } from "./dom.js";
import { createSessionActions, createSessionSidebar, exportName, routeTo } from "./session-sidebar.js";
import { createSessionSaver, deleteSession, exportSession, getSession, listSessions } from "./sessions-api.js";

/**
 * @param {{ kind: import("./sessions-api.js").SessionKind, prefix: string, label: string, noun: string, isBusy: () => boolean, show: (session: import("./sessions-api.js").PlaygroundSession | null) => void }} options
 */
export function createSavedSessions({ kind, prefix, label, noun, isBusy, show }) {
  const saver = createSessionSaver(kind, (id) => {
    routeTo(kind, id);
    void sidebar.refresh(id);
  });
  const sidebar = createSessionSidebar({
    prefix,
    label,
    newLabel: "New session",
    load: async () => (await listSessions(kind)).map((session) => ({ id: session.id, title: session.title, models: session.models.join(", "), time: session.updated_at })),
    onOpen: (id) => routeTo(kind, id),
    onNew: () => startNew(),
  });
  const actions = createSessionActions({
    prefix,
    noun,
    exportFile: async () => {
      const id = saver.current();
      if (!id) return null;
      const text = await exportSession(id);
      return { name: exportName(kind, JSON.parse(text).title), text };
    },
    remove: async () => {
      const id = saver.current();
      if (!id || isBusy()) return false;
      await deleteSession(id);
      await open(null);
      routeTo(kind, null);
      return true;
    },
  });

  /** Opens a saved session (null: a new, empty one). @param {string | null} id */
  async function open(id) {
    let session = null;
    if (id) {
      try {
        session = await getSession(id);
      } catch (error) {
        if (errorStatus(error) !== 404) throw error;
        announce(`This ${noun} no longer exists`, "error");
      }
    }
    saver.reset(session?.id ?? null);
    show(session);
    await sidebar.refresh(saver.current());
  }

  function startNew() {
    if (isBusy()) return;
    void open(null);
    routeTo(kind, null);
  }

  let opened = false;
  return {
    sidebar: sidebar.element,
    sidebarToggle: sidebar.toggleButton,
    actionButtons: actions.buttons,
    startNew,
    /** Whether a saved session is open. */
    saved: () => saver.current() !== null,
    /** Export and Delete only for a saved session, and not while it streams. @param {boolean} busy */
    paintActions: (busy) => actions.setEnabled(!busy && saver.current() !== null),
    /** Saves the document `state()` returns when the write goes out; a failure is announced. @param {() => object | null} state */
    persist: (state) => saver.save(state).catch((error) => announce(`The session was not saved: ${errorMessage(error)}`, "error")),
    refreshList: () => sidebar.refresh(saver.current()),
    /** The app's hash listener: the session the address names. @param {string | null} sessionId */
    async activate(sessionId) {
      // While answers stream the open session stays; the address catches up when they end.
      if (isBusy()) return;
      if (opened && sessionId === saver.current()) return sidebar.refresh(saver.current());
      opened = true;
      await open(sessionId);
    },
  };
}
