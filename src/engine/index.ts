// camelid's training engine, llm.c style: every layer a forward/backward pair on flat Float32Arrays
// (kernels/, a plain reference set and a fast set: WebAssembly SIMD kernels emitted at startup, on two
// threads), the LLaMA-1/2 model written out in order (model/), LoRA (lora/) and AdamW + clipping
// (optim/). Base weights are frozen and loaded from GGUF; only LoRA parameters train.
export * from "./config.js";
export { SeededRandom } from "../random/seeded-random.js";
export * from "./kernels/kernel-set.js";
export * from "./model/base-weights.js";
export * from "./model/random-init.js";
export * from "./model/activations.js";
export * from "./model/llama-model.js";
export * from "./model/load-weights.js";
export * from "./model/gguf-model.js";
export * from "./model/quantized-matrix.js";
export * from "./model/quantized-weights.js";
export * from "./model/frozen-weights.js";
export * from "./lora/lora-config.js";
export * from "./lora/lora-weights.js";
export * from "./optim/adamw.js";
export * from "./optim/clip.js";
