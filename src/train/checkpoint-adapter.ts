// A run's adapter from its checkpoint: a run killed hard (SIGKILL, power loss) has checkpoint.bin and
// recipe.yaml but may have no adapter.gguf yet. The recipe gives the LoRA shape, the base model the
// layer sizes, the checkpoint the parameters (in allocateLoraWeights' layout, as training keeps them).
import { allocateLoraWeights, llamaConfigFromGguf, parseLoraConfig, splitTargets } from "../engine/index.js";
import { metadataString, readGgufHeader } from "../gguf/index.js";
import { writeLoraAdapterGguf } from "./adapter-export.js";
import { loadCheckpoint } from "./checkpoint.js";
import { CheckpointError } from "./errors.js";
import { mergeSettings, readRecipeFile, validateSettings } from "./recipe.js";
import { runFiles } from "./run-training.js";

/** Writes the run's latest checkpoint as a llama.cpp LoRA adapter GGUF at `outPath`; returns its step. */
export async function writeAdapterFromCheckpoint(runDir: string, basePath: string, outPath: string): Promise<{ step: number }> {
  const files = runFiles(runDir);
  const recipe = validateSettings(mergeSettings([readRecipeFile(files.recipe, { baseDir: runDir })]));
  const loraConfig = parseLoraConfig({ rank: recipe.rank, alpha: recipe.alpha, dropout: recipe.dropout, ...splitTargets(recipe.targets) });
  const { metadata, tensors } = await readGgufHeader(basePath);
  const embedding = tensors.find((tensor) => tensor.name === "token_embd.weight");
  const config = llamaConfigFromGguf(metadata, new Set(tensors.map((tensor) => tensor.name)), embedding?.dims ?? [], basePath);
  const lora = allocateLoraWeights(config, loraConfig);
  const checkpoint = loadCheckpoint(files.checkpoint);
  if (checkpoint.params.length !== lora.params.length) {
    throw new CheckpointError(files.checkpoint, `${files.checkpoint} holds ${checkpoint.params.length} LoRA parameters, but rank ${loraConfig.rank} on ${recipe.targets.join(",")} of ${basePath} has ${lora.params.length} (another base model?)`);
  }
  lora.params.set(checkpoint.params);
  await writeLoraAdapterGguf(outPath, lora, config, { name: `checkpoint of ${runDir} at step ${checkpoint.step}`, architecture: metadataString(metadata, "general.architecture") ?? "llama" });
  return { step: checkpoint.step };
}
