// A created model's defaults around any LanguageModel: its SYSTEM prompt when a conversation has none, and
// its PARAMETERs under the call's own options (a value the request sets always wins, as in Ollama).
import type { CallOptions, LanguageModel } from "../spec/index.js";
import type { PackagedSampling } from "./modelfile.js";

export interface PackagedDefaults {
  system?: string;
  sampling: PackagedSampling;
}

export function hasPackagedDefaults(defaults: PackagedDefaults): boolean {
  return defaults.system !== undefined || Object.keys(defaults.sampling).length > 0;
}

export function applyPackagedDefaults(options: CallOptions, defaults: PackagedDefaults): CallOptions {
  const merged: CallOptions = { ...options };
  for (const [key, value] of Object.entries(defaults.sampling) as [keyof PackagedSampling, unknown][]) {
    if (merged[key] === undefined) (merged as Record<string, unknown>)[key] = value;
  }
  if (defaults.system !== undefined && merged.messages && !merged.messages.some((message) => message.role === "system")) {
    merged.messages = [{ role: "system", content: defaults.system }, ...merged.messages];
  }
  return merged;
}

/** The model with the package's defaults applied to every generation and dry run; other calls pass through. */
export function withPackagedDefaults(model: LanguageModel, defaults: PackagedDefaults): LanguageModel {
  if (!hasPackagedDefaults(defaults)) return model;
  return {
    specificationVersion: model.specificationVersion,
    provider: model.provider,
    modelId: model.modelId,
    doGenerate: (options) => model.doGenerate(applyPackagedDefaults(options, defaults)),
    doStream: (options) => model.doStream(applyPackagedDefaults(options, defaults)),
    renderPrompt: (options) => model.renderPrompt(applyPackagedDefaults(options, defaults)),
    ...(model.tokenize ? { tokenize: model.tokenize.bind(model) } : {}),
    ...(model.detokenize ? { detokenize: model.detokenize.bind(model) } : {}),
    ...(model.logLikelihood ? { logLikelihood: model.logLikelihood.bind(model) } : {}),
    ...(model.logLikelihoodTokens ? { logLikelihoodTokens: model.logLikelihoodTokens.bind(model) } : {}),
    ...(model.describe ? { describe: model.describe.bind(model) } : {}),
    ...(model.processState ? { processState: model.processState.bind(model) } : {}),
    ...(model.engineInfo ? { engineInfo: model.engineInfo.bind(model) } : {}),
    ...(model.dispose ? { dispose: model.dispose.bind(model) } : {}),
  };
}
