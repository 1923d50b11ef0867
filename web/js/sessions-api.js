// @ts-check
// The saved playground sessions over HTTP: Arena (side by side) and Collaborate sessions under
// /api/sessions, anonymous battles under /api/arena/battles (names hidden by the server until the vote).
import { api, apiText } from "./api.js";

/** @typedef {import("../../src/server/routes/playground-sessions.js").PlaygroundSessionList} PlaygroundSessionList */
/** @typedef {import("../../src/server/arena/arena-routes.js").BattleSummaryList} BattleSummaryList */

/** @typedef {import("../../src/server/routes/playground-sessions.js").PlaygroundSessionView} PlaygroundSession */
/** @typedef {import("../../src/server/routes/playground-sessions.js").PlaygroundSessionSummaryView} PlaygroundSessionSummary */
/** @typedef {ReturnType<typeof import("../../src/server/arena/battle-rules.js").publicBattleSummary>} BattleSummary */
/** @typedef {"arena" | "collaborate"} SessionKind */

const sessionPath = (/** @type {string} */ id) => `/api/sessions/${encodeURIComponent(id)}`;
const battlePath = (/** @type {string} */ id) => `/api/arena/battles/${encodeURIComponent(id)}`;

/** @param {SessionKind} kind @returns {Promise<PlaygroundSessionSummary[]>} */
export const listSessions = async (kind) => /** @type {PlaygroundSessionList} */ (await api("GET", `/api/sessions?kind=${kind}&limit=200`)).data;
/** @param {string} id @returns {Promise<PlaygroundSession>} */
export const getSession = async (id) => /** @type {PlaygroundSession} */ (await api("GET", sessionPath(id)));
/** @param {SessionKind} kind @param {object | null} state @returns {Promise<PlaygroundSession>} */
export const createSession = async (kind, state) => /** @type {PlaygroundSession} */ (await api("POST", "/api/sessions", { kind, state }));
/** @param {string} id @param {object | null} state @returns {Promise<PlaygroundSession>} */
export const replaceSession = async (id, state) => /** @type {PlaygroundSession} */ (await api("PUT", sessionPath(id), { state }));
/** @param {string} id */
export const deleteSession = (id) => api("DELETE", sessionPath(id));
/** The session as the server exports it (JSON text). @param {string} id */
export const exportSession = (id) => apiText(`${sessionPath(id)}/export`);

/** @returns {Promise<BattleSummary[]>} */
export const listBattles = async () => /** @type {BattleSummaryList} */ (await api("GET", "/api/arena/battles?limit=200")).data;
/** @param {string} id */
export const deleteBattle = (id) => api("DELETE", battlePath(id));
/** @param {string} id */
export const exportBattle = (id) => apiText(`${battlePath(id)}/export`);

/**
 * Saves a session's document one write at a time, in order: the first save creates it (and reports
 * its id), later ones replace it. A save always sends the newest document, so none is lost or
 * overwritten by an older one arriving late.
 * @param {SessionKind} kind
 * @param {(id: string) => void} onCreated
 */
export function createSessionSaver(kind, onCreated) {
  /** @type {string | null} */
  let id = null;
  /** Counts the sessions shown: a write queued for an earlier one is dropped. */
  let generation = 0;
  let queue = Promise.resolve();
  return {
    /** The id of the session being shown, once it has been saved. */
    current: () => id,
    /** @param {string | null} sessionId the session being shown (null: a new one) */
    reset(sessionId) {
      id = sessionId;
      generation += 1;
    },
    /** @param {() => object | null} state read when the write is sent @returns {Promise<void>} */
    save(state) {
      const forGeneration = generation;
      const write = queue.then(async () => {
        // A session switched away from meanwhile is left as it was last saved.
        if (forGeneration !== generation) return;
        if (id === null) {
          const created = await createSession(kind, state());
          id = created.id;
          onCreated(created.id);
        } else {
          await replaceSession(id, state());
        }
      });
      queue = write.catch(() => undefined);
      return write;
    },
  };
}

/**
 * The numeric fields of a stream's usage or timings, as a session stores them (an upstream may nest
 * objects in its usage; the reply's numbers need only the figures).
 * @param {Record<string, unknown> | null | undefined} record
 * @returns {Record<string, number> | null}
 */
export function storedNumbers(record) {
  if (!record) return null;
  /** @type {Record<string, number>} */
  const numbers = {};
  for (const [key, value] of Object.entries(record)) if (typeof value === "number" && Number.isFinite(value)) numbers[key] = value;
  return numbers;
}
