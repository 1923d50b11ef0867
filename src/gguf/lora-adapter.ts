// llama.cpp's LoRA adapter GGUF (llama-adapter.cpp reads it; convert_lora_to_gguf.py and camelid write
// it): general.type "adapter", adapter.type "lora", adapter.lora.alpha, and per adapted weight W the
// tensors `W.lora_a` (ggml dims [in, r]) and `W.lora_b` ([r, out]); the update is alpha / r * B A x.
import { replaceFileAtomic } from "../files/atomic-write.js";
import { metadataNumber, metadataString } from "./metadata-values.js";
import type { GgufMetadata, GgufValue } from "./types.js";
import { writeGguf, type GgufWriteInput } from "./writer.js";

export const LORA_ADAPTER_KEYS = {
  fileType: "general.type",
  adapterType: "adapter.type",
  alpha: "adapter.lora.alpha",
  aloraInvocationTokens: "adapter.alora.invocation_tokens",
} as const;

/** The two entries that make a GGUF a LoRA adapter (written right after general.architecture). */
export function loraAdapterTypeEntries(): [string, GgufValue][] {
  return [
    [LORA_ADAPTER_KEYS.fileType, { type: "string", value: "adapter" }],
    [LORA_ADAPTER_KEYS.adapterType, { type: "string", value: "lora" }],
  ];
}

export function loraAlphaEntry(alpha: number): [string, GgufValue] {
  // llama.cpp scales the update by alpha / rank, the rank read from each lora_b's ne[0]
  return [LORA_ADAPTER_KEYS.alpha, { type: "float32", value: alpha }];
}

/** The adapter's architecture and alpha, or why the GGUF is not a llama.cpp LoRA adapter. */
export function readLoraAdapterHeader(metadata: GgufMetadata): { architecture: string; alpha: number } | { problem: string } {
  const type = metadataString(metadata, LORA_ADAPTER_KEYS.fileType);
  const adapterType = metadataString(metadata, LORA_ADAPTER_KEYS.adapterType);
  if (type !== "adapter" || adapterType !== "lora") {
    return { problem: `not a llama.cpp LoRA adapter (general.type ${type ?? "missing"}, adapter.type ${adapterType ?? "missing"})` };
  }
  const architecture = metadataString(metadata, "general.architecture");
  if (!architecture) return { problem: "no general.architecture" };
  // llama.cpp reads a missing alpha as 0: the update is then scaled by 1, not by alpha / r
  return { architecture, alpha: metadataNumber(metadata, LORA_ADAPTER_KEYS.alpha) ?? 0 };
}

/** writeGguf beside the target, then renamed: a kill never leaves a truncated file under its name. */
export async function writeGgufReplacing(path: string, input: GgufWriteInput): Promise<{ bytes: number }> {
  return replaceFileAtomic(path, (temporary) => writeGguf(temporary, input));
}
