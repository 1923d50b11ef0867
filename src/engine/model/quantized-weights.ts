import type { LlamaConfig } from "../config.js";
import { allocateBaseWeights, layerMatrices, matrixShape, type BaseWeights, type LayerMatrix } from "./base-weights.js";
import { dequantizeRows, encodeMatrix, type QuantizedMatrix, type StorableType } from "./quantized-matrix.js";

// The frozen base model with its matrices (token embedding, layer projections, output head) kept in
// their GGUF encoding: resident memory is about the file's size instead of 4 bytes per weight plus a
// transposed copy. LlamaModel decodes one matrix at a time into a reusable scratch buffer
// (./frozen-weights.ts). Norm weights are tiny and stay float32.

export interface QuantizedLayerWeights {
  attnNorm: Float32Array; // [C]
  ffnNorm: Float32Array; // [C]
  matrices: Record<LayerMatrix, QuantizedMatrix>;
}

export interface QuantizedBaseWeights {
  storage: "quantized";
  tokenEmbedding: QuantizedMatrix; // [V, C]
  layers: QuantizedLayerWeights[];
  finalNorm: Float32Array; // [C]
  /** The output head [V, C]; the same object as tokenEmbedding when tied. */
  output: QuantizedMatrix;
}

/** Bytes the encoded weights occupy (a tied head counted once). */
export function quantizedWeightBytes(weights: QuantizedBaseWeights): number {
  let bytes = weights.tokenEmbedding.bytes.byteLength + weights.finalNorm.byteLength;
  if (weights.output !== weights.tokenEmbedding) bytes += weights.output.bytes.byteLength;
  for (const layer of weights.layers) {
    bytes += layer.attnNorm.byteLength + layer.ffnNorm.byteLength;
    for (const name of layerMatrices) bytes += layer.matrices[name].bytes.byteLength;
  }
  return bytes;
}

/** Encodes float32 base weights as `type` (tests and benchmarks; a GGUF file is loaded encoded directly). */
export function quantizeBaseWeights(config: LlamaConfig, dense: BaseWeights, type: StorableType): QuantizedBaseWeights {
  const C = config.dim, V = config.vocabSize;
  const tokenEmbedding = encodeMatrix(type, dense.tokenEmbedding, V, C, "token_embd");
  return {
    storage: "quantized",
    tokenEmbedding,
    layers: dense.layers.map((layer, l) => {
      const matrices = {} as Record<LayerMatrix, QuantizedMatrix>;
      for (const name of layerMatrices) {
        const [rows, cols] = matrixShape(config, name);
        matrices[name] = encodeMatrix(type, layer[name], rows, cols, `layer ${l} ${name}`);
      }
      return { attnNorm: layer.attnNorm.slice(), ffnNorm: layer.ffnNorm.slice(), matrices };
    }),
    finalNorm: dense.finalNorm.slice(),
    output: config.tiedOutput ? tokenEmbedding : encodeMatrix(type, dense.output, V, C, "output"),
  };
}

/** Decodes everything into float32 base weights: what dequantising on load gives for the same bytes. */
export function dequantizeBaseWeights(config: LlamaConfig, weights: QuantizedBaseWeights): BaseWeights {
  const dense = allocateBaseWeights(config);
  const decode = (into: Float32Array, matrix: QuantizedMatrix) => dequantizeRows(into, matrix, 0, matrix.rows);
  decode(dense.tokenEmbedding, weights.tokenEmbedding);
  weights.layers.forEach((layer, l) => {
    dense.layers[l].attnNorm.set(layer.attnNorm);
    dense.layers[l].ffnNorm.set(layer.ffnNorm);
    for (const name of layerMatrices) decode(dense.layers[l][name], layer.matrices[name]);
  });
  dense.finalNorm.set(weights.finalNorm);
  if (!config.tiedOutput) decode(dense.output, weights.output);
  return dense;
}
