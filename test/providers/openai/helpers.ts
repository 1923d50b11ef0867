import { AbortError } from "../../../src/errors/index.js";
import { createOpenAICompatibleModel, type OpenAICompatibleSettings } from "../../../src/providers/openai/index.js";
import type { StreamPart } from "../../../src/spec/stream-parts.js";
import type { FakeOpenAIServer } from "../../support/fake-openai-server.js";

/** A model pointed at the fake server, with fast retries so failure tests stay quick (`settings.retry` adds to them). */
export function modelFor(server: FakeOpenAIServer, settings: Partial<OpenAICompatibleSettings> = {}) {
  return createOpenAICompatibleModel({
    baseURL: server.baseURL,
    model: "test-model",
    api: "chat",
    timeoutMs: 5_000,
    ...settings,
    retry: { initialDelayMs: 5, maxDelayMs: 20, ...settings.retry },
  });
}

/**
 * A sleep for the retry policy that records each wait and returns at once (an already aborted signal
 * still rejects, as the real one does): what the client waited, without the test waiting it.
 */
export function recordingSleep(onWait?: (ms: number) => void) {
  const waits: number[] = [];
  const sleep = async (ms: number, signal?: AbortSignal) => {
    waits.push(ms);
    onWait?.(ms);
    if (signal?.aborted) throw new AbortError();
  };
  return { waits, sleep };
}

/** Read a part stream to its end (bounded, so a stream that never closes fails the test instead of hanging it). */
export async function collectParts(stream: ReadableStream<StreamPart>, maxParts = 10_000): Promise<StreamPart[]> {
  const reader = stream.getReader();
  const parts: StreamPart[] = [];
  for (let count = 0; count < maxParts; count++) {
    const { done, value } = await reader.read();
    if (done) return parts;
    parts.push(value);
  }
  throw new Error(`stream produced more than ${maxParts} parts`);
}

/** The text of one choice, joined from its deltas. */
export function textOf(parts: StreamPart[], choiceIndex = 0): string {
  return parts
    .filter((part): part is Extract<StreamPart, { type: "text-delta" }> => part.type === "text-delta" && part.choiceIndex === choiceIndex)
    .map((part) => part.delta)
    .join("");
}

export function partsOfType<T extends StreamPart["type"]>(parts: StreamPart[], type: T): Array<Extract<StreamPart, { type: T }>> {
  return parts.filter((part): part is Extract<StreamPart, { type: T }> => part.type === type);
}
