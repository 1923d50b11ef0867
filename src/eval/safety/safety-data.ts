import { fileURLToPath } from "node:url";

/**
 * data/safety/ beside src/: the starter prompt set, the rubric prompts and the refusal phrases, kept
 * as data so they can be read, diffed and replaced without touching code.
 */
export const safetyDataDirectory = fileURLToPath(new URL("../../../data/safety/", import.meta.url));
export const defaultStarterPromptsPath = `${safetyDataDirectory}starter.jsonl`;
export const defaultRubricsPath = `${safetyDataDirectory}rubrics.jsonl`;
export const defaultRefusalPhrasesPath = `${safetyDataDirectory}refusal-phrases.txt`;
