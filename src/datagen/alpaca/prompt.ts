import { collapseWhitespace, pythonStrip } from "../../text/python-compat.js";

export interface InstructionExample {
  instruction: string;
  input: string;
  output: string;
}

/**
 * Alpaca's encode_prompt: the prompt.txt text, a newline, then each example as
 * `###\n{i}. Instruction: …\n{i}. Input:\n{input or <noinput>}\n{i}. Output:\n{output}\n`, ending with
 * `###\n{k+1}. Instruction:` so the teacher continues the numbered list.
 */
export function encodeAlpacaPrompt(template: string, examples: readonly InstructionExample[]): string {
  let prompt = `${template}\n`;
  examples.forEach((example, index) => {
    const instruction = pythonStrip(collapseWhitespace(example.instruction)).replace(/:+$/, "");
    const input = example.input.toLowerCase() === "" ? "<noinput>" : example.input;
    prompt += "###\n";
    prompt += `${index + 1}. Instruction: ${instruction}\n`;
    prompt += `${index + 1}. Input:\n${input}\n`;
    prompt += `${index + 1}. Output:\n${example.output}\n`;
  });
  prompt += "###\n";
  prompt += `${examples.length + 1}. Instruction:`;
  return prompt;
}

/** Alpaca's decoding settings for instruction generation (generate_instruction.py). */
export const alpacaDecoding = {
  temperature: 1.0,
  topP: 1.0,
  maxTokens: 3072,
  stop: ["\n20", "20.", "20."],
  promptsPerBatch: 5,
  examplesPerPrompt: 3,
} as const;
