import { LlamaServerLanguageModel } from "./llama-server-model.js";
import { parseLlamaServerModelOptions, type LlamaServerModelOptions } from "./options.js";

export { LlamaServerLanguageModel, LLAMA_SERVER_PROVIDER } from "./llama-server-model.js";
export { llamaServerModelOptionsSchema, parseLlamaServerModelOptions, type LlamaServerModelOptions, type ResolvedLlamaServerModelOptions } from "./options.js";
export { bundledLlamaCppSource, cachedLlamaServerPath, llamaServerBuildFolder, resolveLlamaServerBinary, type BundledLlamaCppSource } from "./engine-binary.js";
export { EngineSupervisor, type EngineLease, type EngineState, type SupervisedProcess } from "./engine-supervisor.js";
export { EngineProcess } from "./engine-process.js";
export { EngineLog } from "./engine-log.js";

/**
 * A LanguageModel over a local GGUF file, run by llama.cpp's own server (one supervised process per model).
 * Nothing starts until the first call; options are validated now, so a bad option fails here with its name.
 */
export function createLlamaServerModel(options: LlamaServerModelOptions): LlamaServerLanguageModel {
  return new LlamaServerLanguageModel(parseLlamaServerModelOptions(options));
}
