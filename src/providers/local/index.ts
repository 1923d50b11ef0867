import { createLocalModelFromOptions } from "./factory.js";

export { LocalLanguageModel, LOCAL_PROVIDER } from "./local-language-model.js";
export {
  localModelOptionsSchema,
  parseLocalModelOptions,
  DEFAULT_THREADS,
  DEFAULT_FLASH_ATTENTION,
  DEFAULT_SEQUENCES,
  DEFAULT_MAX_CONTEXT,
  type LocalModelOptions,
  type ResolvedLocalModelOptions,
} from "./options.js";
export { loadedModelCount, type LoadProgressListener } from "./model-cache.js";
export { buildTokenBytesTable, decodeTokenBytes, IncrementalTokenDecoder, type TokenBytesTable, type VocabularyMetadata } from "./token-bytes.js";
export { StopStringMatcher } from "./stop-matcher.js";
export { SAMPLING_DEFAULTS } from "./sampling.js";
export type { LocalProviderOptions } from "./warnings.js";
export {
  benchmarkDecode,
  spread,
  type DecodeBenchmarkOptions,
  type DecodeBenchmarkResult,
  type ThroughputSample,
  type ThroughputSummary,
  type Spread,
} from "./benchmark.js";

/**
 * A LanguageModel over a local GGUF file, run by llama.cpp (node-llama-cpp). Nothing loads until
 * the first call; options are validated now, so a bad option fails here with its name.
 */
export const createLocalModel = createLocalModelFromOptions;
