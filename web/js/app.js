// @ts-check
// The playground shell: tabs (kept in the URL hash so a reload returns to the same screen), the
// API key dialog, and the views, each built once with the list of served models.
import { apiKey, ApiError, errorMessage, errorStatus, listModels, setApiKey } from "./api.js";
import { watchModelStatuses } from "./model-status.js";
import { createArenaView } from "./arena.js";
import { createBattleView } from "./battle.js";
import { createChatView } from "./chat.js";
import { createCollaborateView } from "./collaborate.js";
import { announce, byId, h } from "./dom.js";
import { createLeaderboardView } from "./leaderboard.js";
import { installCodeCopy } from "./markdown.js";
import { createSafetyView } from "./safety.js";
import { createSettingsCatalog } from "./settings-catalog.js";
import { createSettingsForms } from "./settings-form.js";
import { rememberScroll, restoreScroll, takeOverScrollRestoration } from "./scroll-memory.js";
import { createThemePicker } from "./theme.js";
import { createTrainView } from "./train.js";
import { createEvalView } from "./eval-results.js";

/**
 * A tab's view: built once, activated each time its tab is shown, with the session its address names ("#arena/<id>").
 * @typedef {{ element: HTMLElement, activate(session?: string | null): unknown }} View
 */

/** @type {{ id: string, label: string, create: (options: { models: string[], settingsForms: import("./settings-form.js").SettingsForms }) => View }[]} */
const tabs = [
  { id: "chat", label: "Chat", create: createChatView },
  { id: "arena", label: "Arena", create: createArenaView },
  { id: "battle", label: "Battle", create: createBattleView },
  { id: "leaderboard", label: "Leaderboard", create: createLeaderboardView },
  { id: "collaborate", label: "Collaborate", create: createCollaborateView },
  { id: "safety", label: "Safety", create: createSafetyView },
  { id: "train", label: "Train", create: createTrainView },
  { id: "eval", label: "Eval", create: createEvalView },
];

function keyDialog() {
  const dialog = byId("key-dialog", HTMLDialogElement);
  const input = byId("key-input", HTMLInputElement);
  input.value = apiKey();
  dialog.showModal();
  input.focus();
}

/** On a phone the tabs scroll sideways: the active one is brought into view (the page itself never scrolls). */
/** @param {HTMLElement} tabList @param {HTMLElement | undefined} button */
function scrollTabIntoView(tabList, button) {
  if (!button) return;
  const left = button.offsetParent === tabList ? button.offsetLeft : button.offsetLeft - tabList.offsetLeft;
  if (left < tabList.scrollLeft || left + button.offsetWidth > tabList.scrollLeft + tabList.clientWidth) {
    tabList.scrollLeft = Math.max(0, left - (tabList.clientWidth - button.offsetWidth) / 2);
  }
}

async function start() {
  const main = byId("main", HTMLElement);
  const tabList = byId("tabs", HTMLElement);
  byId("key-button", HTMLButtonElement).before(createThemePicker());
  byId("key-button", HTMLButtonElement).addEventListener("click", keyDialog);
  byId("key-form", HTMLFormElement).addEventListener("submit", (event) => {
    if (event.submitter instanceof HTMLButtonElement && event.submitter.value === "cancel") return;
    setApiKey(byId("key-input", HTMLInputElement).value.trim());
    location.reload();
  });
  document.addEventListener("camelid:unauthorized", (event) => {
    announce(`${/** @type {CustomEvent<string>} */ (event).detail} — set the API key`, "error");
  });

  /** @type {string[]} */
  let models = [];
  try {
    models = await listModels();
  } catch (error) {
    announce(error instanceof ApiError ? error.message : `Cannot reach the server: ${errorMessage(error)}`, "error");
    if (errorStatus(error) === 401) keyDialog();
  }
  if (models.length === 0) announce("No models are served: start camelid serve with --model", "error");
  byId("model-count", HTMLElement).textContent = `${models.length} model${models.length === 1 ? "" : "s"}`;

  // One catalog (the server's sampling bounds and prompt formats) for every tab's settings form.
  const settingsForms = createSettingsForms(createSettingsCatalog());
  /** @type {Map<string, View>} */
  const views = new Map();
  /** @type {Map<string, HTMLButtonElement>} */
  const buttons = new Map();
  /** Each tab's last address ("arena/<id>"): going back to a tab reopens the session it showed. */
  const lastRoutes = new Map();
  for (const tab of tabs) {
    const view = tab.create({ models, settingsForms });
    view.element.hidden = true;
    view.element.setAttribute("role", "tabpanel");
    view.element.setAttribute("tabindex", "-1");
    // The tab's own status line (dom.js announce), its room reserved in styles.css.
    view.element.prepend(h("p", { class: "tab-status", role: "status", "aria-live": "polite" }));
    main.append(view.element);
    views.set(tab.id, view);
    const button = h("button", { type: "button", role: "tab", id: `tab-${tab.id}`, "aria-controls": view.element.id, "aria-selected": "false", tabindex: -1 }, tab.label);
    view.element.setAttribute("aria-labelledby", button.id);
    button.addEventListener("click", () => {
      location.hash = lastRoutes.get(tab.id) ?? tab.id;
    });
    buttons.set(tab.id, button);
    tabList.append(button);
  }

  // Arrow keys move between tabs (WAI-ARIA tabs pattern); Tab moves into the panel.
  tabList.addEventListener("keydown", (event) => {
    const ids = tabs.map((tab) => tab.id);
    const index = ids.indexOf(document.activeElement?.id.replace("tab-", "") ?? "");
    if (index < 0) return;
    let next = null;
    if (event.key === "ArrowRight") next = ids[(index + 1) % ids.length];
    if (event.key === "ArrowLeft") next = ids[(index - 1 + ids.length) % ids.length];
    if (event.key === "Home") next = ids[0];
    if (event.key === "End") next = ids[ids.length - 1];
    if (next) {
      event.preventDefault();
      location.hash = lastRoutes.get(next) ?? next;
      buttons.get(next)?.focus();
    }
  });

  /** @type {string | null} */
  let shown = null;
  const show = async () => {
    // "#arena/<id>": the tab, then the session open in it (a reload and back/forward reopen it).
    const [tab, ...rest] = location.hash.slice(1).split("/");
    const id = views.has(tab) ? tab : "chat";
    let session = null;
    try {
      session = views.has(tab) && rest.length > 0 ? decodeURIComponent(rest.join("/")) : null;
    } catch {
      // a malformed address: the tab without a session
    }
    const route = session ? `${id}/${rest.join("/")}` : id;
    if (shown === route) return;
    const previous = shown ? views.get(shown.split("/")[0]) : undefined;
    if (shown && previous) rememberScroll(previous.element, shown);
    shown = route;
    lastRoutes.set(id, route);
    for (const [tabId, view] of views) {
      const active = tabId === id;
      view.element.hidden = !active;
      const button = buttons.get(tabId);
      if (!button) continue;
      button.setAttribute("aria-selected", String(active));
      button.tabIndex = active ? 0 : -1;
    }
    scrollTabIntoView(tabList, buttons.get(id));
    try {
      const view = views.get(id);
      await view?.activate(session);
      if (view && shown === route) restoreScroll(view.element, route);
    } catch (error) {
      announce(errorMessage(error), "error");
    }
  };
  window.addEventListener("hashchange", () => void show());
  // A reload (or closing the tab) keeps where the open screen was scrolled.
  takeOverScrollRestoration();
  window.addEventListener("pagehide", () => {
    const open = shown ? views.get(shown.split("/")[0]) : undefined;
    if (shown && open) rememberScroll(open.element, shown);
  });
  await show();
  await watchModelStatuses().refresh();
  installCodeCopy(document);
  document.body.dataset.ready = "true";
}

void start();
