// @ts-check
// Where the user had scrolled in each screen and session (the screen's own scroll and each of its
// scrolling parts: transcripts, Arena's and Battle's columns), kept for this browser tab in session
// storage and put back once the session has been drawn again: after a reload, or when going back to
// it. The page itself never scrolls (styles.css): a screen scrolls inside <main>. The browser's own
// restoration is off: it would act before the session's messages arrive from the server.

const storageKey = (/** @type {string} */ route) => `camelid.scroll.${route}`;

/** @typedef {{ page: number, transcripts: number[] }} ScrollPositions */

/** The parts of a screen that scroll on their own, in document order. @param {HTMLElement} panel */
const scrollingParts = (panel) => /** @type {HTMLElement[]} */ ([...panel.querySelectorAll(".transcript, .columns")]);

export function takeOverScrollRestoration() {
  if ("scrollRestoration" in history) history.scrollRestoration = "manual";
}

/** @param {HTMLElement} panel the screen's panel @param {string} route "arena/<id>" */
export function rememberScroll(panel, route) {
  /** @type {ScrollPositions} */
  const positions = { page: panel.parentElement?.scrollTop ?? 0, transcripts: scrollingParts(panel).map((element) => element.scrollTop) };
  try {
    sessionStorage.setItem(storageKey(route), JSON.stringify(positions));
  } catch {
    // storage full or disabled: the session still reopens, at its end
  }
}

/** @param {HTMLElement} panel @param {string} route */
export function restoreScroll(panel, route) {
  /** @type {ScrollPositions | null} */
  let positions = null;
  try {
    positions = JSON.parse(sessionStorage.getItem(storageKey(route)) ?? "null");
  } catch {
    return;
  }
  if (!positions) return;
  const parts = scrollingParts(panel);
  positions.transcripts.forEach((top, index) => {
    if (parts[index]) parts[index].scrollTop = top;
  });
  if (panel.parentElement) panel.parentElement.scrollTop = positions.page;
}
