import { defaultDistillSettings, type DistillRun } from "../../../src/datagen/distill/distill.js";
import { defaultGattSettings, type GattRun } from "../../../src/datagen/gatt/ghost-attention.js";
import { defaultSelfInstructSettings, type SelfInstructSettings } from "../../../src/datagen/self-instruct/self-instruct-pipeline.js";

/** What the killed child and the in-test resume share (a resume must use the same settings and input). */
export const killDistillRun: Omit<DistillRun, "teacher" | "outputDirectory"> = {
  prompts: Array.from({ length: 30 }, (_, i) => ({ id: `q${i}`, prompt: `Question number ${i}: what is ${i} squared?` })),
  settings: { ...defaultDistillSettings, followUps: 1 },
  concurrency: 6,
};

export const killSelfInstructSettings: SelfInstructSettings = { ...defaultSelfInstructSettings, target: 16, promptsPerBatch: 2, giveUpAfterEmptyBatches: 50 };

/** Ghost Attention over 20 three-turn dialogues, two instructions drawn per dialogue. */
export const killGattRun: Omit<GattRun, "teacher" | "outputDirectory"> = {
  dialogues: Array.from({ length: 20 }, (_, i) => ({ id: `d${i}`, users: [`Hello ${i}.`, `Tell me about ${i}.`, `Thanks, ${i}.`], instruction: i % 3 === 0 ? "Speak like a pirate." : "Always answer in French." })),
  instructions: ["Always answer in French.", "Speak like a pirate."],
  settings: defaultGattSettings,
  concurrency: 6,
};
