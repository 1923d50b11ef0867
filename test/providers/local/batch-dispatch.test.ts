// When the provider's contexts send queued decodes to llama.cpp (batch-dispatch.ts): as soon as the step's
// generations have all queued, not an event-loop turn later, and still with every generating sequence in
// the batch. Observed through the context's native batch calls (test/support/native-batch-watch.ts), by
// count and by the callback each decode was started from, never by time.
import { executionAsyncResource } from "node:async_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dispatchAfterQueuedDecodes } from "../../../src/providers/local/batch-dispatch.js";
import { createLocalModel, type LocalLanguageModel } from "../../../src/providers/local/index.js";
import { watchNativeBatches } from "../../support/native-batch-watch.js";
import { stories260KPath } from "../../support/shared-data.js";

/** The class of setImmediate's handles: a decode started from one waited for the event loop's check phase. */
const Immediate = clearAndReturnClass();
function clearAndReturnClass(): new (...args: never[]) => object {
  const handle = setImmediate(() => undefined);
  clearImmediate(handle);
  return handle.constructor as new (...args: never[]) => object;
}

describe("dispatchAfterQueuedDecodes", () => {
  it("dispatches after the microtasks already queued (the step's other generations) and before the next I/O turn", async () => {
    const order: string[] = [];
    const done = new Promise<void>((resolve) => setImmediate(() => (order.push("immediate"), resolve())));
    await Promise.resolve().then(() => {
      dispatchAfterQueuedDecodes(() => order.push("dispatch"));
      // A generation released in the same run reaches the queue a few promise hops later.
      void Promise.resolve()
        .then(() => undefined)
        .then(() => order.push("late member queued"));
    });
    await done;
    expect(order).toEqual(["late member queued", "dispatch", "immediate"]);
  });
});

describe("a context with 8 of its 16 sequences generating", () => {
  let model: LocalLanguageModel;
  const steps: { sequences: number; fromImmediate: boolean }[] = [];

  beforeAll(async () => {
    model = createLocalModel({ modelPath: stories260KPath(), contextSize: 128, sequences: 16 });
    const { context } = await model.load();
    watchNativeBatches(context, {
      onDecode: (sequenceIds, singleTokens) => {
        if (singleTokens) steps.push({ sequences: sequenceIds.length, fromImmediate: executionAsyncResource() instanceof Immediate });
      },
    });
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it("decodes each step with all 8 sequences, started without waiting for an event-loop turn", async () => {
    // Greedy with a stop-free prompt and no end-of-text within 24 tokens: all 8 generate to the end.
    const requests = Array.from({ length: 8 }, (_, index) => ({ prompt: `Once upon a time, Lily ${index}`, maxTokens: 24, temperature: 0.8, seed: index + 1 }));
    const results = await Promise.all(requests.map((request) => model.doGenerate(request)));
    const lengths = results.map((result) => result.usage.completionTokens);
    const fullSteps = Math.min(...lengths) - 1;
    expect(fullSteps).toBeGreaterThanOrEqual(10);
    // The first fullSteps decode steps of the 8 (after every prompt was evaluated) carry all of them.
    const firstFull = steps.findIndex((step) => step.sequences === 8);
    expect(firstFull).toBeGreaterThanOrEqual(0);
    expect(steps.slice(firstFull, firstFull + fullSteps - 1).map((step) => step.sequences)).toEqual(Array(fullSteps - 1).fill(8));
    expect(steps.filter((step) => step.fromImmediate)).toEqual([]);
  });
});
