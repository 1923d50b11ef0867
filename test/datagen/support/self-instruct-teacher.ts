import { defaultSelfInstructSettings, type SelfInstructSettings } from "../../../src/datagen/self-instruct/self-instruct-pipeline.js";
import { hashString, promptDrivenTeacher } from "./alpaca-teacher.js";

const verbs = ["Summarize", "Critique", "Translate", "Outline", "Classify", "Rewrite", "Explain", "Compare", "Rank", "Plan"];
const objects = ["recipe", "poem", "contract", "essay", "headline", "lecture", "review", "itinerary", "budget", "letter"];
const topics = ["gardening", "astronomy", "chess", "baking", "sailing", "jazz", "volcanoes", "cycling", "pottery", "beekeeping"];
const readers = ["child", "tourist", "lawyer", "farmer", "student"];

/**
 * A deterministic teacher for the four Self-Instruct steps: answers depend only on the prompt, with a
 * length-cut completion now and then in steps 1 and 3 so the truncation rules run too.
 */
export function deterministicSelfInstructTeacher(options: { delayMs?: number } = {}) {
  return promptDrivenTeacher((prompt) => {
    const hash = hashString(prompt);
    if (prompt.startsWith("Come up with a series of tasks:")) {
      const instruction = (k: number) => {
        const h = hashString(`${prompt}#${k}`);
        return `${verbs[h % 10]} the ${objects[(h >>> 4) % 10]} about ${topics[(h >>> 8) % 10]} for a ${readers[(h >>> 12) % 5]}.`;
      };
      return { text: ` ${instruction(0)}\n10. ${instruction(1)}`, finishReason: hash % 7 === 0 ? "length" : "stop" };
    }
    if (prompt.endsWith("Is it classification?")) return { text: hash % 3 === 0 ? " Yes" : " No", finishReason: "stop" };
    const finishReason = hash % 4 === 0 ? "length" : "stop";
    if (prompt.startsWith("Given the classification task")) {
      return { text: `Class label: Good\nText: sample ${hash % 5}\nClass label: Bad\nText: sample ${hash % 7}\nClass label: Good\nText: cut`, finishReason };
    }
    return { text: `Example 1\nInput: case ${hash % 3}\nOutput: answer ${hash % 11}\nExample 2\nInput: case ${hash % 5}\nOutput: answer ${hash % 13}\nExample 3\nOutput:`, finishReason };
  }, options);
}

/** Settings shared by the killed child and the in-test runs (a resume must use the same ones). */
export const selfInstructKillSettings: SelfInstructSettings = { ...defaultSelfInstructSettings, target: 12, promptsPerBatch: 2, maxBatches: 40 };
