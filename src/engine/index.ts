// The training engine: kernels (forward/backward pairs), the LLaMA model, LoRA, and the optimizer.
export * from "./config.js";
export * from "./random.js";
export * from "./kernels/kernel-set.js";
export * from "./model/base-weights.js";
export * from "./model/random-init.js";
export * from "./model/activations.js";
export * from "./model/llama-model.js";
export * from "./lora/lora-config.js";
export * from "./lora/lora-weights.js";
export * from "./optim/adamw.js";
export * from "./optim/clip.js";
export * from "./model/load-weights.js";
export * from "./model/gguf-model.js";
