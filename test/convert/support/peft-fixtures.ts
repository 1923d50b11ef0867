// The models and adapters of test/convert/golden/peft-cases.json, rebuilt in TypeScript from the same
// seeded generator scripts/golden/make_peft_golden.py reimplements: no weights are committed.
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { allocateLoraWeights, loadLlamaGguf, loraTensorName, OUTPUT_HEAD_LORA_TENSOR, type LlamaConfig, type LoraWeights } from "../../../src/engine/index.js";
import { GgufReader, seededUniformValues, writeRandomLlamaGguf } from "../../../src/gguf/index.js";
import { writeSafetensors, type SafetensorsTensorInput } from "../../../src/safetensors/index.js";
import { peftTensorName, type PeftModule } from "../../../src/convert/lora/peft-names.js";
import { writeLoraAdapterGguf } from "../../../src/train/adapter-export.js";
import { repoRoot, sharedPath } from "../../support/shared-data.js";

const caseSchema = z.object({
  name: z.string(),
  model: z.object({ dim: z.number(), layers: z.number(), heads: z.number(), kvHeads: z.number(), hiddenDim: z.number(), seed: z.number() }),
  peft: z.object({ r: z.number(), alpha: z.number(), targetModules: z.array(z.string()), seed: z.number() }),
  camelid: z.object({ rank: z.number(), alpha: z.number(), targets: z.array(z.enum(["q", "k", "v", "o", "gate", "up", "down"])), outputHead: z.boolean(), seed: z.number() }),
  tokens: z.array(z.number()),
});
export type PeftCase = z.infer<typeof caseSchema>;

const goldenDir = join(repoRoot, "test/convert/golden");
const casesFile = z.object({ vocabFrom: z.array(z.string()), cases: z.array(caseSchema) }).parse(JSON.parse(readFileSync(join(goldenDir, "peft-cases.json"), "utf8")));

export const peftCases = casesFile.cases;
export const vocabFromPath = () => sharedPath(...casesFile.vocabFrom);

/** The base model as writeRandomLlamaGguf writes it: the golden script builds its Hugging Face twin. */
export async function writeCaseBase(testCase: PeftCase, path: string): Promise<string> {
  await writeRandomLlamaGguf({ path, vocabFrom: vocabFromPath(), ...testCase.model, name: `peft-golden-${testCase.name}` });
  return path;
}

/** A PEFT LoRA tensor's values: A like its kaiming init (1/sqrt(fan_in)), B non-zero with 1/sqrt(r). */
function peftValues(name: string, shape: [number, number], seed: number, r: number): Float32Array {
  const amplitude = /lora_A|lora_embedding_A/.test(name) ? 1 / Math.sqrt(shape[1]) : 1 / Math.sqrt(r);
  return seededUniformValues(name, seed, shape[0] * shape[1], amplitude);
}

/**
 * PEFT's tensors for the case (names and shapes as get_peft_model + save_pretrained give them). With
 * lm_head or embed_tokens targeted PEFT also saves that layer's base weight (`…base_layer.weight`),
 * which convert_lora_to_gguf.py skips: it is read from the base GGUF here.
 */
export async function peftCaseTensors(testCase: PeftCase, basePath: string): Promise<SafetensorsTensorInput[]> {
  const reader = await GgufReader.open(basePath);
  const vocabSize = reader.tensorInfo("token_embd.weight").dims[1];
  const { dim, hiddenDim, heads, kvHeads, layers } = testCase.model;
  const { r, seed, targetModules } = testCase.peft;
  const kvDim = (dim / heads) * kvHeads;
  const shapes: Record<string, [number, number]> = {
    q_proj: [dim, dim], k_proj: [kvDim, dim], v_proj: [kvDim, dim], o_proj: [dim, dim],
    gate_proj: [hiddenDim, dim], up_proj: [hiddenDim, dim], down_proj: [dim, hiddenDim],
    lm_head: [vocabSize, dim], embed_tokens: [dim, vocabSize],
  };
  const tensors: SafetensorsTensorInput[] = [];
  const add = (module: PeftModule, layer: number | null) => {
    const [out, inp] = shapes[module];
    for (const [part, shape] of [["A", [r, inp]], ["B", [out, r]]] as const) {
      const name = peftTensorName({ module, layer, part });
      tensors.push({ name, dtype: "F32", shape, data: peftValues(name, [shape[0], shape[1]], seed, r) });
    }
  };
  try {
    for (const module of targetModules as PeftModule[]) {
      if (module === "lm_head" || module === "embed_tokens") {
        add(module, null);
        const [name, gguf] = module === "lm_head" ? ["base_model.model.lm_head.base_layer.weight", "output.weight"] : ["base_model.model.model.embed_tokens.base_layer.weight", "token_embd.weight"];
        tensors.push({ name, dtype: "F32", shape: [vocabSize, dim], data: await reader.tensorFloats(gguf) });
      } else for (let layer = 0; layer < layers; layer++) add(module, layer);
    }
  } finally {
    await reader.close();
  }
  return tensors;
}

/**
 * The PEFT folder as the golden script saved it: PEFT's own adapter_config.json and model card front
 * matter (from the golden), the rebuilt safetensors, and the folder name (general.name comes from it).
 */
export async function writeCasePeftFolder(testCase: PeftCase, parent: string, saved: { adapterConfig: string; modelCardFrontMatter: string }, basePath: string): Promise<string> {
  const dir = join(parent, `peft-${testCase.name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "adapter_config.json"), saved.adapterConfig);
  writeFileSync(join(dir, "README.md"), saved.modelCardFrontMatter);
  await writeSafetensors(join(dir, "adapter_model.safetensors"), await peftCaseTensors(testCase, basePath), { format: "pt" });
  return dir;
}

/** A camelid adapter as training leaves it (engine layout: GGUF rows), seeded, B non-zero. */
export function camelidCaseAdapter(testCase: PeftCase, config: LlamaConfig): LoraWeights {
  const { rank, alpha, targets, outputHead, seed } = testCase.camelid;
  const lora = allocateLoraWeights(config, { rank, alpha, dropout: 0, targets, outputHead });
  const fill = (name: string, pair: { a: Float32Array; b: Float32Array; inFeatures: number }) => {
    pair.a.set(seededUniformValues(`${name}.lora_a`, seed, pair.a.length, 1 / Math.sqrt(pair.inFeatures)));
    pair.b.set(seededUniformValues(`${name}.lora_b`, seed, pair.b.length, 1 / Math.sqrt(rank)));
  };
  lora.layers.forEach((pairs, layer) => {
    for (const [target, pair] of pairs) fill(loraTensorName(layer, target, "a").replace(/\.lora_a$/, ""), pair);
  });
  if (lora.head) fill(OUTPUT_HEAD_LORA_TENSOR, lora.head);
  return lora;
}

/** Base GGUF, camelid adapter GGUF and the model config, in `dir`. */
export async function writeCamelidCaseAdapter(testCase: PeftCase, dir: string): Promise<{ basePath: string; adapterPath: string; config: LlamaConfig; lora: LoraWeights }> {
  mkdirSync(dir, { recursive: true });
  const basePath = await writeCaseBase(testCase, join(dir, "base.gguf"));
  const { config } = await loadLlamaGguf(basePath);
  const lora = camelidCaseAdapter(testCase, config);
  const adapterPath = join(dir, "camelid-adapter.gguf");
  await writeLoraAdapterGguf(adapterPath, lora, config, { name: `camelid ${testCase.name} adapter`, architecture: "llama" });
  return { basePath, adapterPath, config, lora };
}
