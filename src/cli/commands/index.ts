// Command table: one line per command; the module itself loads only when the command runs.
import { registerCommand } from "../main.js";

registerCommand("generate", "generate a completion from a prompt or a chat message", () => import("./generate.js"));
registerCommand("chat", "interactive chat with streaming replies, /system /reset /prompt /format", () => import("./chat.js"));
registerCommand("serve", "OpenAI-compatible server for local GGUF and remote models", () => import("./serve.js"));
registerCommand("inspect", "describe a GGUF file: architecture, sizes, RoPE, tokenizer, template", () => import("./inspect.js"));
registerCommand("formats", "list prompt formats or render a conversation exactly", () => import("./formats.js"));
registerCommand("eval", "answer, judge, show, ratings, perplexity, multiple choice", () => import("./eval.js"));
registerCommand("bench", "prefill and decode tokens/s of a local model (min/median/max over runs)", () => import("./bench.js"));
registerCommand("data", "instruction data: self-instruct, filter, distill, refine, convert, clean, stats, split", () => import("./data.js"));
registerCommand("train", "LoRA fine-tuning with assistant-only loss → llama.cpp adapter; --export axolotl|trl", () => import("./train.js"));
registerCommand("convert", "Hugging Face LLaMA folder (safetensors, tokenizer) → GGUF F32/F16/Q8_0/Q4_0, as convert_hf_to_gguf.py; --lora: PEFT adapter → LoRA GGUF", () => import("./convert.js"));
registerCommand("pull", "download a GGUF from the Hugging Face Hub (hf:owner/repo:quant) or a URL: resumable, verified", () => import("./pull.js"));
registerCommand("create", "package a model from a Modelfile: base, adapters, format, system prompt, parameters", () => import("./create.js"));
registerCommand("show", "what a created or pulled model is made of; --modelfile recreates it", () => import("./show.js"));
registerCommand("list", "pulled and created models in the local cache: name, size, quant, when, path", () => import("./list.js"));
registerCommand("rm", "remove a pulled model and its files, or a created model", () => import("./rm.js"));
registerCommand("export-peft", "a camelid/llama.cpp LoRA adapter → PEFT folder (adapter_config.json + safetensors)", () => import("./export-peft.js"));
registerCommand("engine", "the llama-server engine's executable: build it from node-llama-cpp's llama.cpp, or print its path", () => import("./engine.js"));
