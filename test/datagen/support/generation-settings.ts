import { defaultAlpacaSettings, type AlpacaGenerationSettings } from "../../../src/datagen/self-instruct/alpaca-generation.js";

/** Settings shared by the killed child and the in-test resume (a resume must use the same ones). */
export const killTestSettings: AlpacaGenerationSettings = {
  ...defaultAlpacaSettings,
  target: 10_000, // never reached: the bank holds few distinct tasks, so the run ends by max-batches
  maxBatches: 60,
  giveUpAfterEmptyBatches: 1000,
  filter: { details: "full" },
};
