// A LoRA adapter GGUF for stories260K written with camelid's own GGUF writer, in the layout llama.cpp's
// convert_lora_to_gguf.py produces (general.type "adapter", <weight>.lora_a [in, r] and <weight>.lora_b [r, out]
// in ggml order) on attn_q and attn_output of every layer; `bValue` decides how strong it is (0: no effect).
import { writeGguf } from "../../src/gguf/index.js";

const DIM = 64;
const RANK = 4;
const LAYERS = 5;

export async function writeStories260KAdapter(path: string, bValue: (i: number) => number): Promise<void> {
  const tensors = [];
  for (let layer = 0; layer < LAYERS; layer++) {
    for (const target of ["attn_q", "attn_output"]) {
      const a = Float32Array.from({ length: DIM * RANK }, (_, i) => Math.sin(i * 0.7 + layer) * 0.5);
      const b = Float32Array.from({ length: RANK * DIM }, (_, i) => bValue(i + layer * 31));
      tensors.push({ name: `blk.${layer}.${target}.weight.lora_a`, dims: [DIM, RANK], type: "F32" as const, data: a });
      tensors.push({ name: `blk.${layer}.${target}.weight.lora_b`, dims: [RANK, DIM], type: "F32" as const, data: b });
    }
  }
  await writeGguf(path, {
    metadata: [
      ["general.architecture", { type: "string", value: "llama" }],
      ["general.type", { type: "string", value: "adapter" }],
      ["adapter.type", { type: "string", value: "lora" }],
      ["adapter.lora.alpha", { type: "float32", value: RANK }],
    ],
    tensors,
  });
}

/** An adapter that changes stories260K's greedy text. */
export const strongAdapterValues = (i: number) => Math.cos(i * 1.3) * 2;
