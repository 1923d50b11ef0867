import { InvalidArgumentError } from "../../errors/index.js";
import type { CallOptions } from "../../spec/index.js";

/** llama.cpp's own defaults (common/common.h), so an unset option samples as llama-server would. */
export const SAMPLING_DEFAULTS = {
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1,
  repeatLastN: 64,
  frequencyPenalty: 0,
  presencePenalty: 0,
} as const;

export interface SamplingSettings {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repeatPenalty: number;
  repeatLastN: number;
  frequencyPenalty: number;
  presencePenalty: number;
  seed: number;
}

function check(ok: boolean, parameter: string, message: string): void {
  if (!ok) throw new InvalidArgumentError(parameter, `${parameter} ${message}`);
}

const isNumber = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);

/** Rejects out-of-range options with an error naming the option; nothing is silently clamped. */
export function validateCallOptions(options: CallOptions): void {
  const optional = (name: keyof CallOptions, test: (value: number) => boolean, rule: string) => {
    const value = options[name];
    if (value === undefined) return;
    check(isNumber(value) && test(value), name, `must be ${rule} (got ${JSON.stringify(value)})`);
  };
  optional("maxTokens", (v) => Number.isInteger(v) && v >= 0, "an integer >= 0");
  optional("temperature", (v) => v >= 0 && v <= 100, "between 0 and 100");
  optional("topP", (v) => v > 0 && v <= 1, "in (0, 1]");
  optional("topK", (v) => Number.isInteger(v) && v >= 0, "an integer >= 0");
  optional("minP", (v) => v >= 0 && v <= 1, "between 0 and 1");
  optional("repeatPenalty", (v) => v > 0, "> 0");
  optional("repeatLastN", (v) => Number.isInteger(v) && v >= 0 && v <= 65536, "an integer between 0 and 65536");
  optional("frequencyPenalty", (v) => v >= -2 && v <= 2, "between -2 and 2");
  optional("presencePenalty", (v) => v >= -2 && v <= 2, "between -2 and 2");
  optional("seed", (v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff, "an integer between 0 and 2^32-1");
  optional("n", (v) => Number.isInteger(v) && v >= 1 && v <= 128, "an integer between 1 and 128");
  optional("topLogprobs", (v) => Number.isInteger(v) && v >= 0 && v <= 20, "an integer between 0 and 20");
  if (options.stop !== undefined) {
    check(Array.isArray(options.stop) && options.stop.every((s) => typeof s === "string"), "stop", "must be an array of strings");
  }
  const hasMessages = options.messages !== undefined;
  const hasPrompt = options.prompt !== undefined;
  check(hasMessages !== hasPrompt, hasMessages ? "prompt" : "messages", "exactly one of messages or prompt must be given");
  if (hasPrompt) check(typeof options.prompt === "string", "prompt", "must be a string");
  if (hasMessages) check(Array.isArray(options.messages), "messages", "must be an array of messages");
}

/** A fresh seed when the caller gave none, so unseeded calls differ from each other. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0xffffffff);
}

export function resolveSampling(options: CallOptions, choiceIndex: number, baseSeed: number): SamplingSettings {
  return {
    temperature: options.temperature ?? SAMPLING_DEFAULTS.temperature,
    topK: options.topK ?? SAMPLING_DEFAULTS.topK,
    topP: options.topP ?? SAMPLING_DEFAULTS.topP,
    minP: options.minP ?? SAMPLING_DEFAULTS.minP,
    repeatPenalty: options.repeatPenalty ?? SAMPLING_DEFAULTS.repeatPenalty,
    repeatLastN: options.repeatLastN ?? SAMPLING_DEFAULTS.repeatLastN,
    frequencyPenalty: options.frequencyPenalty ?? SAMPLING_DEFAULTS.frequencyPenalty,
    presencePenalty: options.presencePenalty ?? SAMPLING_DEFAULTS.presencePenalty,
    // Choice i of n uses seed+i: reproducible per choice, different across choices.
    seed: (baseSeed + choiceIndex) >>> 0,
  };
}

export function penaltiesActive(settings: SamplingSettings): boolean {
  return (
    settings.repeatLastN > 0 &&
    (settings.repeatPenalty !== 1 || settings.frequencyPenalty !== 0 || settings.presencePenalty !== 0)
  );
}
