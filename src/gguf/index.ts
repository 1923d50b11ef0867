// camelid/gguf: read, write and describe GGUF files in pure TypeScript.
export { FileByteSource, MemoryByteSource, type ByteSource } from "./byte-source.js";
export { DEFAULT_GGUF_LIMITS, type GgufLimits } from "./header-parser.js";
export { checkModelFile, checkModelHeader, checkTensorFile, checkTensorLayout, checkVocabularyFile } from "./model-check.js";
export { GgufReader, parseGgufBytes, readGgufHeader, type GgufReadOptions } from "./reader.js";
export { planGgufFile, serializeGguf, writeGguf, type GgufTensorInput, type GgufWriteInput, type TensorData } from "./writer.js";
export {
  DEQUANTIZABLE_TYPES,
  QUANTIZABLE_TYPES,
  dequantize,
  quantize,
  quantizeQ4_0,
  quantizeQ8_0,
  type QuantizableType,
} from "./quantization.js";
export { bfloat16ToFloat, floatToHalf, halfToFloat } from "./half-float.js";
export { describeGguf, describeGgufHeader, formatGgufDescription, type GgufDescription, type SpecialToken } from "./describe.js";
export {
  metadataBoolean,
  metadataNumber,
  metadataString,
  plainArray,
  plainValue,
  type PlainGgufValue,
} from "./metadata-values.js";
export {
  countParameters,
  parseRandomLlamaOptions,
  randomLlama24MOptions,
  randomLlamaTensorShapes,
  writeRandomLlama24M,
  writeRandomLlamaGguf,
  type RandomLlamaConfig,
  type RandomLlamaOptions,
  type RandomLlamaResult,
  type RandomLlamaTensorShape,
} from "./random-llama.js";
export { seededUniformValues } from "./seeded-random.js";
export { describeImageTokens, projectorImageTokens, type ProjectorImageTokens } from "./projector-image-tokens.js";
export {
  GGML_TYPE_LAYOUT,
  GGUF_DEFAULT_ALIGNMENT,
  GgmlType,
  ggmlTypeName,
  tensorByteLength,
  type GgmlTypeName,
  type GgufArray,
  type GgufHeader,
  type GgufMetadata,
  type GgufTensorInfo,
  type GgufValue,
  type GgufValueType,
} from "./types.js";
export { LORA_ADAPTER_KEYS, loraAdapterTypeEntries, loraAlphaEntry, readLoraAdapterHeader, writeGgufReplacing } from "./lora-adapter.js";
