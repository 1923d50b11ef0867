// @ts-check
// One chat completion streamed into an answer view (Arena columns, Collaboration): the text as it
// arrives, then the model, finish reason and the reply's numbers; a failure shown on the answer.
import { streamChat } from "./api.js";
import { finishLabel } from "./transcript.js";

/**
 * @typedef {object} AnswerView the part of transcript.js's message view this uses
 * @property {(full: string) => void} update
 * @property {() => void} flush
 * @property {(value: string) => void} setMeta
 * @property {(result: object) => void} setNumbers
 * @property {(message: string) => void} setError
 * @property {(on: boolean) => void} setStreaming
 */

/**
 * @param {AnswerView} answer
 * @param {{ model: string, messages: { role: string, content: string }[] } & Record<string, unknown>} request
 * @param {AbortSignal} signal
 * @returns {Promise<string | null>} the answer's text, or null when it failed
 */
export async function streamChatInto(answer, request, signal) {
  try {
    const result = await streamChat(request, { signal, onDelta: (/** @type {string} */ _, /** @type {string} */ full) => answer.update(full) });
    answer.update(result.text);
    answer.flush();
    answer.setMeta(`${request.model} · ${finishLabel(result.finishReason, result.usage?.completion_tokens)}`);
    answer.setNumbers(result);
    return result.text;
  } catch (error) {
    answer.setError(error instanceof Error ? error.message : String(error));
    return null;
  } finally {
    answer.setStreaming(false);
  }
}
