// @ts-check
// The versions of an Arena answer as its saved session keeps them: the answer record itself is the
// version on screen (what exports, the next turn and a reload use), `versions` every answer that
// finished for the turn (the first, then each regeneration) and `version` which of them is shown.

/** @typedef {import("../../src/server/routes/playground-session-schemas.js").ArenaAnswer} ArenaAnswer */
/** @typedef {import("../../src/server/routes/playground-session-schemas.js").ArenaAnswerVersion} ArenaAnswerVersion */

/** The fields one version has (the answer less its list of versions). */
const versionFields = /** @type {const} */ (["model", "text", "status", "finish_reason", "error", "usage", "timings"]);

/**
 * The versions kept so far: an answer never regenerated is its own only version when it finished
 * (a failed or unfinished one is replaced by its regeneration instead).
 * @param {ArenaAnswer} answer
 * @returns {ArenaAnswerVersion[]}
 */
export function answerVersions(answer) {
  if (answer.versions) return answer.versions;
  if (answer.status !== "done") return [];
  return [/** @type {ArenaAnswerVersion} */ (Object.fromEntries(versionFields.filter((key) => answer[key] !== undefined).map((key) => [key, answer[key]])))];
}

/**
 * Makes version `index` the answer on screen: its fields replace the answer's.
 * @param {ArenaAnswer} answer
 * @param {number} index
 */
export function showAnswerVersion(answer, index) {
  const chosen = answer.versions?.[index];
  if (!chosen) return;
  for (const key of versionFields) delete answer[key];
  Object.assign(answer, structuredClone(chosen), { version: index });
}
