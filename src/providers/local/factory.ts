import { LocalLanguageModel } from "./local-language-model.js";
import { parseLocalModelOptions, type LocalModelOptions } from "./options.js";

/**
 * A LanguageModel over a local GGUF file, run by llama.cpp (node-llama-cpp). Nothing loads until
 * the first call; options are validated now, so a bad option fails here with its name.
 */
export function createLocalModelFromOptions(options: LocalModelOptions): LocalLanguageModel {
  return new LocalLanguageModel(parseLocalModelOptions(options));
}
