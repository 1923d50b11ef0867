// @ts-check
// Every model picker (an <option> or a checkbox label carrying data-model-pick="<id>") shows its model's
// load state from /v1/models: a "loading…" (with the percentage loaded, once the loader reports one) or
// "failed" suffix, the load error as its title, and data-state (and data-progress) for scripts.
// States are re-read when a reply starts or ends (a first request loads a model, or fails to) and,
// while a model is loading or a reply is in flight, every `pollMs`.
import { listModelStatuses } from "./api.js";

/** @typedef {Awaited<ReturnType<typeof listModelStatuses>>[number]} ModelStatus */

/** @type {Partial<Record<ModelStatus["state"], string>>} */
const suffixes = { loading: " (loading…)", failed: " (failed)" };

/** @param {HTMLElement} element a picker: an <option> or a checkbox's label @param {ModelStatus} status */
function label(element, status) {
  element.dataset.state = status.state;
  if (status.error) element.title = `Failed to load: ${status.error}`;
  else element.removeAttribute("title");
  const percent = status.state === "loading" && typeof status.progress === "number" ? Math.floor(status.progress * 100) : null;
  if (percent === null) delete element.dataset.progress;
  else element.dataset.progress = String(percent);
  const suffix = percent === null ? (suffixes[status.state] ?? "") : ` (loading ${percent}%)`;
  if (element instanceof HTMLOptionElement) element.textContent = `${status.id}${suffix}`;
  else {
    let note = element.querySelector(".model-state");
    if (!note) element.append((note = Object.assign(document.createElement("span"), { className: "model-state" })));
    note.textContent = suffix;
  }
}

export function watchModelStatuses({ pollMs = 1000 } = {}) {
  let inFlight = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer = undefined;
  let reading = false;
  let readAgain = false;

  async function refresh() {
    // One read at a time; a request during a read gets a fresh read after it (a reply that ended
    // meanwhile may have changed a state that read had already missed).
    if (reading) {
      readAgain = true;
      return;
    }
    reading = true;
    clearTimeout(timer);
    let statuses = null;
    try {
      statuses = await listModelStatuses();
    } catch {
      // The server is away: keep the last states shown; the next reply or poll tries again.
    } finally {
      reading = false;
    }
    if (readAgain) {
      readAgain = false;
      return refresh();
    }
    if (!statuses) return;
    const byId = new Map(statuses.map((status) => [status.id, status]));
    for (const element of document.querySelectorAll("[data-model-pick]")) {
      if (!(element instanceof HTMLElement)) continue;
      const status = byId.get(element.dataset.modelPick ?? "");
      if (status) label(element, status);
    }
    if (inFlight > 0 || statuses.some((status) => status.state === "loading")) timer = setTimeout(() => void refresh(), pollMs);
  }

  document.addEventListener("camelid:reply-started", () => {
    inFlight++;
    void refresh();
  });
  document.addEventListener("camelid:reply-ended", () => {
    inFlight = Math.max(inFlight - 1, 0);
    void refresh();
  });
  return { refresh };
}
