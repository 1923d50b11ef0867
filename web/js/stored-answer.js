// @ts-check
// An answer in a saved Arena or Collaborate session: streamed into its transcript view while the
// session records how it ended, and drawn back from that record when the session is reopened.
import { errorMessage, isMidStreamError, streamChat } from "./api.js";
import { storedNumbers } from "./sessions-api.js";
import { finishLabel } from "./transcript.js";

/** @typedef {import("../../src/server/routes/playground-session-schemas.js").ArenaState["turns"][number]["answers"][number]} StoredAnswer */
/** @typedef {ReturnType<ReturnType<typeof import("./transcript.js").createTranscript>["addMessage"]>} MessageView */

/**
 * An answer as the session keeps it, drawn into its transcript view.
 * @param {MessageView} view @param {StoredAnswer} answer
 */
export function paintStoredAnswer(view, answer) {
  view.flush();
  if (answer.status === "done") {
    // As a streamed answer that ended: scripts and tests wait on this marker.
    view.article.dataset.state = "done";
    view.setMeta(`${answer.model} · ${finishLabel(answer.finish_reason, answer.usage?.completion_tokens)}`);
    if (answer.usage || answer.timings) view.setNumbers({ finishReason: answer.finish_reason, usage: answer.usage, timings: answer.timings });
  } else if (answer.status === "failed") {
    view.setError(answer.error ?? "This answer failed.");
  } else {
    view.setInterrupted("Not finished: the answer was cut short (page reloaded or server restarted).");
  }
}

/**
 * Streams one model's answer into `view` and records how it ended in `stored` (the session's answer).
 * @param {MessageView} view @param {StoredAnswer} stored @param {Record<string, unknown>} body the chat request @param {AbortSignal} signal
 * @returns {Promise<boolean>} whether it finished
 */
export async function streamStoredAnswer(view, stored, body, signal) {
  view.setStreaming(true);
  try {
    const result = await streamChat(body, { signal, onDelta: (_, full) => view.update(full) });
    Object.assign(stored, { text: result.text, status: "done", finish_reason: result.finishReason, usage: storedNumbers(result.usage), timings: storedNumbers(result.timings) });
    view.update(result.text);
    view.flush();
    view.setMeta(`${stored.model} · ${finishLabel(result.finishReason, result.usage?.completion_tokens)}`);
    view.setNumbers(result);
    return true;
  } catch (error) {
    Object.assign(stored, { text: isMidStreamError(error) ? error.partialText : "", status: "failed", error: errorMessage(error) });
    view.setError(errorMessage(error));
    return false;
  } finally {
    view.setStreaming(false);
  }
}
