import type { LlamaConfig } from "../config.js";
import { matrixShape } from "../model/base-weights.js";
import type { SeededRandom } from "../../random/seeded-random.js";
import { OUTPUT_HEAD_TARGET, targetMatrix, type LoraConfig, type LoraTarget } from "./lora-config.js";

// All LoRA parameters in ONE Float32Array (the only trainable parameters), with a gradient buffer of
// the same layout so AdamW and clipping run over flat arrays. Per layer and target: A [r, in], B [out, r].

export interface LoraPair {
  target: LoraTarget | typeof OUTPUT_HEAD_TARGET;
  inFeatures: number;
  outFeatures: number;
  a: Float32Array; // [r, in]
  b: Float32Array; // [out, r]
  gradA: Float32Array;
  gradB: Float32Array;
}

export interface LoraWeights {
  config: LoraConfig;
  scale: number;
  params: Float32Array;
  grads: Float32Array;
  /** layers[l] has one pair per configured target, in canonical order. */
  layers: Map<LoraTarget, LoraPair>[];
  /** The output head's pair (in = dim, out = vocabulary), after every layer's in params; null when not adapted. */
  head: LoraPair | null;
}

export function loraPairShape(model: LlamaConfig, target: LoraTarget): { inFeatures: number; outFeatures: number } {
  const [rows, cols] = matrixShape(model, targetMatrix[target]);
  return { inFeatures: cols, outFeatures: rows };
}

export function allocateLoraWeights(model: LlamaConfig, config: LoraConfig): LoraWeights {
  const r = config.rank;
  let total = 0;
  for (const target of config.targets) {
    const { inFeatures, outFeatures } = loraPairShape(model, target);
    total += r * (inFeatures + outFeatures);
  }
  total *= model.nLayers;
  if (config.outputHead) total += r * (model.dim + model.vocabSize);
  const params = new Float32Array(total);
  const grads = new Float32Array(total);
  let offset = 0;
  const layers: Map<LoraTarget, LoraPair>[] = [];
  for (let l = 0; l < model.nLayers; l++) {
    const pairs = new Map<LoraTarget, LoraPair>();
    for (const target of config.targets) {
      const { inFeatures, outFeatures } = loraPairShape(model, target);
      const aSize = r * inFeatures, bSize = outFeatures * r;
      pairs.set(target, {
        target,
        inFeatures,
        outFeatures,
        a: params.subarray(offset, offset + aSize),
        gradA: grads.subarray(offset, offset + aSize),
        b: params.subarray(offset + aSize, offset + aSize + bSize),
        gradB: grads.subarray(offset + aSize, offset + aSize + bSize),
      });
      offset += aSize + bSize;
    }
    layers.push(pairs);
  }
  let head: LoraPair | null = null;
  if (config.outputHead) {
    const aSize = r * model.dim, bSize = model.vocabSize * r;
    head = {
      target: OUTPUT_HEAD_TARGET,
      inFeatures: model.dim,
      outFeatures: model.vocabSize,
      a: params.subarray(offset, offset + aSize),
      gradA: grads.subarray(offset, offset + aSize),
      b: params.subarray(offset + aSize, offset + aSize + bSize),
      gradB: grads.subarray(offset + aSize, offset + aSize + bSize),
    };
  }
  return { config, scale: config.alpha / config.rank, params, grads, layers, head };
}

/** Every pair: the layers' in order, then the output head's. */
export function allLoraPairs(weights: LoraWeights): LoraPair[] {
  return [...weights.layers.flatMap((pairs) => [...pairs.values()]), ...(weights.head ? [weights.head] : [])];
}

/**
 * LoRA-paper init as PEFT does it: A ~ kaiming_uniform(a = sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in));
 * B = 0, so the adapted model starts exactly equal to the base model.
 */
export function initLoraWeights(weights: LoraWeights, random: SeededRandom): void {
  for (const pair of allLoraPairs(weights)) {
    const bound = 1 / Math.sqrt(pair.inFeatures);
    for (let i = 0; i < pair.a.length; i++) pair.a[i] = random.uniform(-bound, bound);
    pair.b.fill(0);
  }
}
