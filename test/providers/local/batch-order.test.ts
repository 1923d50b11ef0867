// The batched decode path against llama.cpp's batch splitting: without a unified KV cache (node-llama-cpp's
// setting) llama.cpp decodes a batch in one pass over the weights only when its sequence ids are
// consecutive and increasing; the provider's lockstep (decode-lockstep.ts) exists to make every step so.
// Watches the context's native batch calls through a private field (test/support/native-batch-watch.ts,
// diagnostics only, shared with bench/batch-scaling.ts) and checks the texts against the same requests decoded one at a time.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalModel, type LocalLanguageModel } from "../../../src/providers/local/index.js";
import { watchNativeBatches } from "../../support/native-batch-watch.js";
import { stories260KPath } from "../../support/shared-data.js";

let model: LocalLanguageModel;
/** Sequence ids of each batch whose items are one token each (decode steps), in queue order. */
const steps: number[][] = [];

beforeAll(async () => {
  model = createLocalModel({ modelPath: stories260KPath(), contextSize: 256, sequences: 4 });
  const { context } = await model.load();
  watchNativeBatches(context, {
    onDecode: (sequenceIds, singleTokens) => {
      if (singleTokens && sequenceIds.length > 1) steps.push(sequenceIds.slice());
    },
  });
});
afterAll(async () => {
  await model?.dispose();
});

describe("batched decoding on one context", () => {
  it("decodes concurrent generations in one pass per step (sequence ids consecutive and increasing) with the texts they get alone", async () => {
    const requests = [11, 12, 13, 14].map((seed) => ({ prompt: "Once upon a time", maxTokens: 40, temperature: 0.8, seed }));
    const alone = [];
    for (const request of requests) alone.push((await model.doGenerate(request)).choices[0].text);
    steps.length = 0;
    const together = await Promise.all(requests.map(async (request) => (await model.doGenerate(request)).choices[0].text));
    expect(together).toEqual(alone);
    const onePass = steps.filter((ids) => ids.every((id, index) => index === 0 || id === ids[index - 1] + 1));
    // Generations that end early (an end-of-text token) leave gaps; those steps may take two passes.
    expect(steps.length).toBeGreaterThanOrEqual(20);
    expect(onePass.length / steps.length).toBeGreaterThanOrEqual(0.9);
    expect(steps.filter((ids) => ids.length === 4).length).toBeGreaterThanOrEqual(15);
  });
});
