import { kvDimOf, type LlamaConfig } from "../config.js";

// The frozen base model in ONE Float32Array; every tensor is a view by offset. Matrices are row-major
// [out, in] exactly as GGUF stores them (ne0 = in). Transposed copies of the matrices live in the same
// buffer: the input gradient dX = dY @ W is then a row-dot-row matmul like the forward pass.

export interface LayerWeights {
  attnNorm: Float32Array; // [C]
  wq: Float32Array; // [C, C]
  wk: Float32Array; // [KVC, C]
  wv: Float32Array; // [KVC, C]
  wo: Float32Array; // [C, C]
  ffnNorm: Float32Array; // [C]
  wGate: Float32Array; // [H, C]
  wUp: Float32Array; // [H, C]
  wDown: Float32Array; // [C, H]
}

export type LayerMatrix = "wq" | "wk" | "wv" | "wo" | "wGate" | "wUp" | "wDown";
export const layerMatrices: readonly LayerMatrix[] = ["wq", "wk", "wv", "wo", "wGate", "wUp", "wDown"];

export interface BaseWeights {
  /** Decoded to float32 on load (see ./quantized-weights.ts for the encoded alternative). */
  storage: "dequantized";
  buffer: Float32Array;
  tokenEmbedding: Float32Array; // [V, C]
  layers: LayerWeights[];
  finalNorm: Float32Array; // [C]
  /** The output head [V, C]; the same view as tokenEmbedding when tied. */
  output: Float32Array;
}

/** [rows (out), cols (in)] of each layer matrix. */
export function matrixShape(config: LlamaConfig, name: LayerMatrix): [number, number] {
  const C = config.dim, H = config.hiddenDim, KVC = kvDimOf(config);
  switch (name) {
    case "wq":
    case "wo":
      return [C, C];
    case "wk":
    case "wv":
      return [KVC, C];
    case "wGate":
    case "wUp":
      return [H, C];
    case "wDown":
      return [C, H];
  }
}

/** Allocates the zeroed buffer and its views. */
export function allocateBaseWeights(config: LlamaConfig): BaseWeights {
  const C = config.dim, V = config.vocabSize;
  const matrixSizes = layerMatrices.map((name) => {
    const [rows, cols] = matrixShape(config, name);
    return rows * cols;
  });
  const perLayer = 2 * C + matrixSizes.reduce((a, b) => a + b, 0);
  const outputSize = config.tiedOutput ? 0 : V * C;
  const total = V * C + config.nLayers * perLayer + C + outputSize;
  const buffer = new Float32Array(total);
  let offset = 0;
  const take = (size: number) => {
    const view = buffer.subarray(offset, offset + size);
    offset += size;
    return view;
  };
  const tokenEmbedding = take(V * C);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.nLayers; l++) {
    const layer = { attnNorm: take(C) } as LayerWeights;
    layerMatrices.forEach((name, i) => {
      layer[name] = take(matrixSizes[i]);
    });
    layer.ffnNorm = take(C);
    layers.push(layer);
  }
  const finalNorm = take(C);
  const output = config.tiedOutput ? tokenEmbedding : take(V * C);
  return { storage: "dequantized", buffer, tokenEmbedding, layers, finalNorm, output };
}
