import type { LlamaConfig } from "../config.js";
import type { SeededRandom } from "../../random/seeded-random.js";
import { layerMatrices, type BaseWeights } from "./base-weights.js";

/**
 * Random base weights for tests and benchmarks: matrices and embeddings ~ U(-std*sqrt(3), std*sqrt(3))
 * (standard deviation std), norm weights around 1 so activations stay in a realistic range.
 */
export function randomizeBaseWeights(config: LlamaConfig, weights: BaseWeights, random: SeededRandom, std = 0.1): void {
  const bound = std * Math.sqrt(3);
  const fillUniform = (view: Float32Array) => {
    for (let i = 0; i < view.length; i++) view[i] = random.uniform(-bound, bound);
  };
  const fillNorm = (view: Float32Array) => {
    for (let i = 0; i < view.length; i++) view[i] = random.uniform(0.8, 1.2);
  };
  fillUniform(weights.tokenEmbedding);
  for (const layer of weights.layers) {
    fillNorm(layer.attnNorm);
    fillNorm(layer.ffnNorm);
    for (const name of layerMatrices) fillUniform(layer[name]);
  }
  fillNorm(weights.finalNorm);
  if (!config.tiedOutput) fillUniform(weights.output);
}
