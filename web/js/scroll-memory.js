// @ts-check
// Where the user had scrolled in each screen and session (the page and each transcript), kept for
// this browser tab in session storage and put back once the session has been drawn again: after a
// reload, or when going back to it. The browser's own restoration is off: it would act before the
// session's messages arrive from the server.

const storageKey = (/** @type {string} */ route) => `camelid.scroll.${route}`;

/** @typedef {{ page: number, transcripts: number[] }} ScrollPositions */

export function takeOverScrollRestoration() {
  if ("scrollRestoration" in history) history.scrollRestoration = "manual";
}

/** @param {HTMLElement} panel the screen's panel @param {string} route "arena/<id>" */
export function rememberScroll(panel, route) {
  /** @type {ScrollPositions} */
  const positions = { page: window.scrollY, transcripts: [...panel.querySelectorAll(".transcript")].map((element) => element.scrollTop) };
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
  const transcripts = [...panel.querySelectorAll(".transcript")];
  positions.transcripts.forEach((top, index) => {
    if (transcripts[index]) transcripts[index].scrollTop = top;
  });
  window.scrollTo(0, positions.page);
}
