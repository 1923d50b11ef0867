// camelid's reward-model GGUF (`<out>/reward.gguf` of `camelid train --method reward`): one file with
// the LoRA of the body in llama.cpp's adapter layout and the scalar head beside it.
//
//   general.architecture        the base model's (as a LoRA adapter's)
//   general.type                "adapter"
//   adapter.type                "reward" (not "lora": llama.cpp would refuse the head tensor with an
//                               "unexpected suffix" error; with "reward" it refuses the file by its type)
//   adapter.lora.alpha          float32, the LoRA scale is alpha / rank as in llama.cpp
//   general.name                "<base name> reward model"
//   camelid.reward.version      uint32 1
//   camelid.reward.head         the head tensor's name, "reward_head.weight"
//   camelid.reward.pooling      "last": the reward is w · h of the last token of prompt + answer
//   camelid.reward.prompt_format the prompt format the pairs were rendered with (scoring renders the same)
//   camelid.reward.lora.rank    uint32
//   camelid.reward.lora.targets string, e.g. "q,k,v,o"
// tensors:
//   blk.N.<proj>.weight.lora_a  F32, ggml dims [in, r]   } exactly as adapter.gguf / llama.cpp
//   blk.N.<proj>.weight.lora_b  F32, ggml dims [r, out]  }
//   reward_head.weight          F32, ggml dims [dim, 1]: Hugging Face's score.weight [1, dim]
//                               (LlamaForSequenceClassification, num_labels 1, no bias)
import { allocateLoraWeights, loadLoraGguf, parseLoraConfig, splitTargets, type LlamaConfig, type LoraWeights, type TrainableTarget } from "../../engine/index.js";
import { ModelLoadError } from "../../errors/index.js";
import { GgufReader, loraAlphaEntry, metadataNumber, metadataString, writeGgufReplacing, type GgufMetadata, type GgufValue } from "../../gguf/index.js";
import { adapterTensors, checkAdapter } from "../adapter-export.js";
import { AdapterExportError } from "../errors.js";

export const REWARD_KEYS = {
  version: "camelid.reward.version",
  head: "camelid.reward.head",
  pooling: "camelid.reward.pooling",
  promptFormat: "camelid.reward.prompt_format",
  rank: "camelid.reward.lora.rank",
  targets: "camelid.reward.lora.targets",
} as const;
export const REWARD_HEAD_TENSOR = "reward_head.weight";
export const REWARD_ADAPTER_TYPE = "reward";

export interface RewardGgufInfo {
  name: string;
  architecture: string;
  promptFormat: string;
}

/** Writes the reward model (LoRA + head) atomically; refuses a non-finite head as the adapter check refuses LoRA. */
export async function writeRewardGguf(path: string, lora: LoraWeights, head: Float32Array, config: LlamaConfig, info: RewardGgufInfo): Promise<{ tensors: number; bytes: number }> {
  checkAdapter(lora, config);
  if (head.length !== config.dim) throw new AdapterExportError(`the reward head has ${head.length} weights, the model's width is ${config.dim}`);
  if (!head.every(Number.isFinite)) throw new AdapterExportError("the reward head holds a non-finite value");
  if (lora.head) throw new AdapterExportError("a reward model does not adapt the vocabulary head (lm_head)");
  const entries: [string, GgufValue][] = [
    ["general.architecture", { type: "string", value: info.architecture }],
    ["general.type", { type: "string", value: "adapter" }],
    ["adapter.type", { type: "string", value: REWARD_ADAPTER_TYPE }],
    ["general.name", { type: "string", value: info.name }],
    loraAlphaEntry(lora.config.alpha),
    [REWARD_KEYS.version, { type: "uint32", value: 1 }],
    [REWARD_KEYS.head, { type: "string", value: REWARD_HEAD_TENSOR }],
    [REWARD_KEYS.pooling, { type: "string", value: "last" }],
    [REWARD_KEYS.promptFormat, { type: "string", value: info.promptFormat }],
    [REWARD_KEYS.rank, { type: "uint32", value: lora.config.rank }],
    [REWARD_KEYS.targets, { type: "string", value: lora.config.targets.join(",") }],
  ];
  const tensors = [...adapterTensors(lora), { name: REWARD_HEAD_TENSOR, dims: [config.dim, 1], type: "F32" as const, data: head.slice() }];
  const { bytes } = await writeGgufReplacing(path, { metadata: new Map(entries) as GgufMetadata, tensors });
  return { tensors: tensors.length, bytes };
}

export interface LoadedRewardAdapter {
  lora: LoraWeights;
  head: Float32Array;
  promptFormat: string;
  architecture: string;
}

/** Reads a reward GGUF for a base model of `config`: its LoRA (into fresh weights) and head. */
export async function readRewardGguf(path: string, config: LlamaConfig): Promise<LoadedRewardAdapter> {
  const reader = await GgufReader.open(path);
  let metadata: GgufMetadata, head: Float32Array;
  try {
    metadata = reader.metadata;
    const type = metadataString(metadata, "general.type"), adapterType = metadataString(metadata, "adapter.type");
    if (type !== "adapter" || adapterType !== REWARD_ADAPTER_TYPE) {
      throw new ModelLoadError(path, `${path} is not a camelid reward model (general.type ${type ?? "missing"}, adapter.type ${adapterType ?? "missing"}; camelid train --method reward writes one)`);
    }
    const headName = metadataString(metadata, REWARD_KEYS.head) ?? REWARD_HEAD_TENSOR;
    if (!reader.hasTensor(headName)) throw new ModelLoadError(path, `${path}: the reward head tensor ${headName} is missing`);
    head = await reader.tensorFloats(headName);
    if (head.length !== config.dim) throw new ModelLoadError(path, `${path}: the reward head has ${head.length} weights, the base model's width is ${config.dim} (another base model?)`);
  } finally {
    await reader.close();
  }
  const rank = metadataNumber(metadata, REWARD_KEYS.rank), targets = metadataString(metadata, REWARD_KEYS.targets);
  const alpha = metadataNumber(metadata, "adapter.lora.alpha"), promptFormat = metadataString(metadata, REWARD_KEYS.promptFormat);
  if (rank === undefined || targets === undefined || alpha === undefined || promptFormat === undefined) {
    throw new ModelLoadError(path, `${path}: missing one of ${REWARD_KEYS.rank}, ${REWARD_KEYS.targets}, adapter.lora.alpha, ${REWARD_KEYS.promptFormat}`);
  }
  let lora: LoraWeights;
  try {
    lora = allocateLoraWeights(config, parseLoraConfig({ rank, alpha, dropout: 0, ...splitTargets(targets.split(",") as TrainableTarget[]) }));
  } catch (error) {
    throw new ModelLoadError(path, `${path}: bad LoRA settings (rank ${rank}, targets ${targets}): ${(error as Error).message}`, { cause: error });
  }
  await loadLoraGguf(lora, path);
  return { lora, head, promptFormat, architecture: metadataString(metadata, "general.architecture") ?? "llama" };
}
