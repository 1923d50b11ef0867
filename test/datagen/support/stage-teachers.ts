import type { CallOptions, GenerateResult, LanguageModel, RenderedPrompt, StreamResult } from "../../../src/spec/index.js";

function hashString(text: string): number {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619) >>> 0;
  return hash;
}

const verbs = ["Describe", "Compare", "Summarize", "Explain", "Classify", "Rank", "Critique", "Translate", "Outline", "Predict"];
const subjects = ["volcanoes", "tax policy", "sourdough", "chess openings", "tides", "jazz chords", "bird migration", "compilers", "glaciers", "marathons", "poetry meters", "solar panels"];
const angles = ["for a child", "in one tweet", "with three examples", "as a table", "from a historian's view", "for a beginner"];

/**
 * A deterministic teacher for every datagen stage: its answer depends only on the request (so a resumed
 * run gets exactly what the killed one would have), after `delayMs` (kill tests slow it down). It
 * writes Self-Instruct's numbered instructions, Yes/No classification answers, input-first and
 * output-first instances, and chat replies for distillation.
 */
export function deterministicStageTeacher(options: { delayMs?: number } = {}): LanguageModel {
  const reply = (call: CallOptions): string => {
    const prompt = call.prompt ?? call.messages!.map((m) => `${m.role}: ${m.content}`).join("\n");
    const hash = hashString(prompt);
    const pick = <T>(list: T[], salt: number) => list[(hash >>> salt) % list.length];
    if (call.prompt?.startsWith("Come up with a series of tasks:")) {
      const next = Number(/(\d+)\.$/.exec(call.prompt)?.[1] ?? 9);
      const lines = [0, 1, 2].map((k) => `${pick(verbs, k * 3)} ${pick(subjects, k * 5 + 1)} ${pick(angles, k * 7 + 2)}.`);
      return ` ${lines[0]}\n${next + 1}. ${lines[1]}\n${next + 2}. ${lines[2]}`;
    }
    if (call.prompt?.endsWith("Is it classification?")) return /Task: (Classify|Rank)[^\n]*\nIs it classification\?$/.test(call.prompt) ? " Yes" : " No";
    if (call.prompt?.includes("Class label:")) return `Class label: ${pick(["Low", "High"], 1)}\nInput: item ${hash % 97}\nClass label: Medium\nInput: item ${hash % 89}\n`;
    if (call.prompt !== undefined) return `Example 1\nInput: case ${hash % 101}\nOutput: result ${hash % 103}\nExample 2\nOutput: result ${hash % 107}\n`;
    return `reply ${hash % 1009}: ${pick(subjects, 2)} ${pick(angles, 4)}`;
  };
  const model: LanguageModel = {
    specificationVersion: "camelid-v1",
    provider: "scripted",
    modelId: "stage-teacher",
    async renderPrompt(call: CallOptions): Promise<RenderedPrompt> {
      return { text: call.prompt ?? "", format: { name: "raw", source: "raw", reason: "test" }, formatStops: [] };
    },
    async doGenerate(call: CallOptions): Promise<GenerateResult> {
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      const text = reply(call);
      return {
        modelId: model.modelId,
        choices: [{ index: 0, text, finishReason: "stop", completionTokens: Math.ceil(text.length / 4) }],
        usage: { promptTokens: 10, completionTokens: Math.ceil(text.length / 4), totalTokens: 10 + Math.ceil(text.length / 4) },
        timings: { timeToFirstTokenMs: 1, totalMs: 1, tokensPerSecond: 1 },
        warnings: [],
      };
    },
    async doStream(): Promise<StreamResult> {
      throw new Error("not used");
    },
  };
  return model;
}
