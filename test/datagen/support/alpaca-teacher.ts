import type { CallOptions, GenerateResult, LanguageModel, RenderedPrompt, StreamResult } from "../../../src/spec/index.js";

/** Tasks a scripted teacher writes; some repeat on purpose so the ROUGE filter has work. */
export const taskBank = [
  { instruction: "Suggest a name for a small bakery that sells sourdough bread.", input: "", output: "Rise & Crumb." },
  { instruction: "Classify the sentiment of the review as positive or negative.", input: "The food was cold and the staff ignored us.", output: "Negative" },
  { instruction: "Rewrite the sentence in the passive voice.", input: "The committee approved the budget.", output: "The budget was approved by the committee." },
  { instruction: "List three benefits of regular exercise for older adults.", input: "", output: "Better balance, stronger bones, improved mood." },
  { instruction: "Explain why the sky appears blue during the day.", input: "", output: "Air molecules scatter short blue wavelengths more than red ones." },
  { instruction: "Convert the temperature from Celsius to Fahrenheit.", input: "25 degrees Celsius", output: "77 degrees Fahrenheit" },
  { instruction: "Write a haiku about the first snow of winter.", input: "", output: "Silent flakes descend / the garden holds its white breath / footprints wait for dawn" },
  { instruction: "Describe the image of a sunset over the ocean.", input: "", output: "Orange light." }, // blacklisted word
  { instruction: "Summarize the main idea of the paragraph in one sentence.", input: "Cities are planting trees to cool streets during heat waves.", output: "Cities plant trees to fight urban heat." },
  { instruction: "Give three tips for staying healthy.", input: "", output: "Eat well, move, sleep." }, // a seed near-duplicate
  { instruction: "Name two", input: "", output: "A, B" }, // too short
  { instruction: "Translate the phrase into Spanish.", input: "Good morning, my friend.", output: "Buenos días, mi amigo." },
];

export function hashString(text: string): number {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619) >>> 0;
  return hash;
}

/** An Alpaca-style continuation (starting after "4. Instruction:") listing `count` tasks from the bank. */
export function alpacaCompletionText(start: number, count: number, firstNumber = 4): string {
  const pieces: string[] = [];
  for (let k = 0; k < count; k++) {
    const task = taskBank[(start + k) % taskBank.length];
    const n = firstNumber + k;
    const head = k === 0 ? ` ${task.instruction}` : `${n}. Instruction: ${task.instruction}`;
    pieces.push(`${head}\n${n}. Input:\n${task.input || "<noinput>"}\n${n}. Output:\n${task.output}\n`);
  }
  return pieces.join("###\n");
}

/**
 * A LanguageModel whose completion depends only on the prompt (so a resumed run gets exactly the
 * answers the killed one would have). `delayMs` slows it for kill tests.
 */
export function promptDrivenTeacher(
  answer: (prompt: string) => { text: string; finishReason: "stop" | "length" },
  options: { delayMs?: number; modelId?: string } = {},
): LanguageModel & { calls: number } {
  const model = {
    specificationVersion: "camelid-v1" as const,
    provider: "scripted",
    modelId: options.modelId ?? "scripted-teacher",
    calls: 0,
    async renderPrompt(call: CallOptions): Promise<RenderedPrompt> {
      return { text: call.prompt ?? "", format: { name: "raw", source: "raw", reason: "test" }, formatStops: [] };
    },
    async doGenerate(call: CallOptions): Promise<GenerateResult> {
      model.calls++;
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      const prompt = call.prompt ?? call.messages?.at(-1)?.content ?? "";
      const { text, finishReason } = answer(prompt);
      return {
        modelId: model.modelId,
        choices: [{ index: 0, text, finishReason, completionTokens: Math.ceil(text.length / 4) }],
        usage: { promptTokens: Math.ceil(prompt.length / 4), completionTokens: Math.ceil(text.length / 4), totalTokens: Math.ceil((prompt.length + text.length) / 4) },
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

/**
 * A deterministic Alpaca teacher: tasks from the bank, with a truncated tail on every third prompt
 * and a malformed piece on every fifth.
 */
export function deterministicAlpacaTeacher(options: { delayMs?: number; modelId?: string } = {}): LanguageModel & { calls: number } {
  return promptDrivenTeacher((prompt) => {
    const hash = hashString(prompt);
    let text = alpacaCompletionText(hash % taskBank.length, 3 + (hash % 3));
    let finishReason: "stop" | "length" = "stop";
    if (hash % 3 === 0) {
      text += "###\n9. Instruction: Describe how tides are caused by the\n9. Inp";
      finishReason = "length";
    }
    if (hash % 5 === 0) text += "###\n10. Instruction: A task whose fields went missing entirely.\n";
    return { text, finishReason };
  }, options);
}
