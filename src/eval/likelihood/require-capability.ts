import { UnsupportedFeatureError } from "../../errors/index.js";
import type { LanguageModel } from "../../spec/language-model.js";

/** The optional capabilities log-likelihood benchmarks need, or a clear error naming what is missing. */
export function requireCapabilities<K extends "tokenize" | "detokenize" | "logLikelihood">(
  model: LanguageModel,
  needed: K[],
  task: string,
): LanguageModel & Required<Pick<LanguageModel, K>> {
  const missing = needed.filter((capability) => typeof model[capability] !== "function");
  if (missing.length > 0) {
    throw new UnsupportedFeatureError(
      `${task} needs token log-probabilities, but model "${model.modelId}" (${model.provider}) lacks ${missing.join(", ")}; use a local GGUF model`,
    );
  }
  return model as LanguageModel & Required<Pick<LanguageModel, K>>;
}
