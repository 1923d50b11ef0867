// camelid/convert: Hugging Face LLaMA checkpoints → GGUF, as llama.cpp's convert_hf_to_gguf.py writes them.
export { convertHfModel, type ConvertedTensor, type ConvertHfModelOptions, type ConvertHfModelResult, type TensorSource, type VocabularyConverter } from "./convert-model.js";
export { HfCheckpointError, type CheckpointProblem } from "./errors.js";
export { LLAMA_ARCHITECTURES, readLlamaConfig, type LlamaHparams } from "./hf-config.js";
export { OUTPUT_TYPES, tensorType, type OutputType } from "./llama-tensors.js";
export { randomHfLlamaConfig, randomHfLlamaTensors, writeRandomHfLlama, type RandomHfLlamaOptions } from "./random-hf-llama.js";
export { convertHfVocabulary } from "./vocabulary/index.js";
export { authorshipMetadata, type AuthorshipOptions } from "./authorship-metadata.js";
export { idToTitle, modelIdComponents, type ModelNameComponents } from "./model-name.js";
export { AdapterFormatError, UnsupportedAdapterError } from "./lora/errors.js";
export { exportPeftAdapter, type GgufToPeftOptions, type GgufToPeftResult } from "./lora/gguf-to-peft.js";
export { convertPeftToGguf, loraOutTypes, type LoraOutType, type PeftToGgufOptions, type PeftToGgufResult } from "./lora/peft-to-gguf.js";
