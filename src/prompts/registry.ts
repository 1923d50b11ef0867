import { PromptFormatError } from "../errors/index.js";
import { alpacaFormat } from "./formats/alpaca.js";
import { chatmlFormat } from "./formats/chatml.js";
import { koalaFormat, vicunaV0Format, vicunaV11Format } from "./formats/fastchat.js";
import { llama2ChatFormat } from "./formats/llama2-chat.js";
import { llama3Format } from "./formats/llama3.js";
import type { PromptFormat } from "./types.js";

/** Every built-in format, in the order they are listed and ranked (ties keep this order). */
export const promptFormats: readonly PromptFormat[] = [
  alpacaFormat,
  vicunaV0Format,
  vicunaV11Format,
  koalaFormat,
  llama2ChatFormat,
  chatmlFormat,
  llama3Format,
];

export function promptFormatNames(): string[] {
  return promptFormats.map((format) => format.name);
}

export function findPromptFormat(name: string): PromptFormat | undefined {
  return promptFormats.find((format) => format.name === name);
}

/** The registry format with this name; an unknown name is an error that lists the known ones. */
export function getPromptFormat(name: string): PromptFormat {
  const format = findPromptFormat(name);
  if (!format) {
    throw new PromptFormatError(`unknown prompt format "${name}"; known formats: ${promptFormatNames().join(", ")}`);
  }
  return format;
}
