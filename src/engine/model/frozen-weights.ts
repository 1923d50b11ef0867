import type { LlamaConfig } from "../config.js";
import { embeddingForward } from "../kernels/reference/embedding.js";
import { layerMatrices, matrixShape, type BaseWeights, type LayerMatrix } from "./base-weights.js";
import { dequantizeRows, gatherRows, type QuantizedMatrix } from "./quantized-matrix.js";
import { quantizedWeightBytes, type QuantizedBaseWeights } from "./quantized-weights.js";

// How LlamaModel reaches its frozen weights, whichever way they are stored. Matmul operands are
// handed out one matrix at a time: float32 weights give their own views; encoded weights are decoded
// into one reusable scratch buffer, valid until the next request. The output head is handed out in
// chunks of rows so that its scratch stays as small as one layer matrix.
// Only float32 weights may be passed to the kernels as frozen (`stable`): a kernel may keep a prepared
// copy keyed by the weight's memory, and the decode scratch is the same memory with new values.

/** A weight for dinp += dout @ weight; stable for float32 weights (the kernels may keep a prepared copy), not for decoded scratch. */
export interface BackwardOperands {
  weight: Float32Array;
  stable: boolean;
}

export interface FrozenWeights {
  /** True when every operand handed out keeps its memory and values for the model's life. */
  readonly stable: boolean;
  /** Resident bytes of the base weights themselves. */
  readonly residentBytes: number;
  /** Rows of the output head per chunk (the whole vocabulary when it is held as float32). */
  readonly headChunkRows: number;
  /** Bytes of decode scratch currently allocated. */
  scratchBytes(): number;
  embed(out: Float32Array, tokens: Int32Array, N: number): void;
  attnNorm(l: number): Float32Array;
  ffnNorm(l: number): Float32Array;
  readonly finalNorm: Float32Array;
  /** Layer matrix [out, in] for a forward matmul. */
  matrix(l: number, name: LayerMatrix): Float32Array;
  matrixBackward(l: number, name: LayerMatrix): BackwardOperands;
  /** Rows first..first+count of the output head [V, C]. */
  headRows(first: number, count: number): Float32Array;
  headRowsBackward(first: number, count: number): BackwardOperands;
  /** A buffer of at least `size` floats for one head chunk's logits (grown as needed, reused). */
  headChunkBuffer(size: number): Float32Array;
}

export class DenseFrozenWeights implements FrozenWeights {
  readonly stable = true;
  readonly residentBytes: number;
  readonly headChunkRows: number;
  readonly finalNorm: Float32Array;

  constructor(
    private readonly config: LlamaConfig,
    private readonly weights: BaseWeights,
  ) {
    this.residentBytes = weights.buffer.byteLength;
    this.headChunkRows = config.vocabSize;
    this.finalNorm = weights.finalNorm;
  }

  scratchBytes(): number {
    return 0;
  }

  embed(out: Float32Array, tokens: Int32Array, N: number): void {
    embeddingForward(out, tokens, this.weights.tokenEmbedding, N, this.config.dim);
  }

  attnNorm(l: number): Float32Array {
    return this.weights.layers[l].attnNorm;
  }

  ffnNorm(l: number): Float32Array {
    return this.weights.layers[l].ffnNorm;
  }

  matrix(l: number, name: LayerMatrix): Float32Array {
    return this.weights.layers[l][name];
  }

  matrixBackward(l: number, name: LayerMatrix): BackwardOperands {
    return { weight: this.weights.layers[l][name], stable: true };
  }

  headRows(first: number, count: number): Float32Array {
    const C = this.config.dim;
    return this.weights.output.subarray(first * C, (first + count) * C);
  }

  headRowsBackward(first: number, count: number): BackwardOperands {
    if (first !== 0 || count !== this.config.vocabSize) throw new RangeError("float32 heads are used whole");
    return { weight: this.weights.output, stable: true };
  }

  headChunkBuffer(): Float32Array {
    throw new RangeError("float32 heads write their logits in place");
  }
}

export interface EncodedFrozenOptions {
  /** Output-head rows per chunk; defaults to as many as fit the largest layer matrix's scratch. */
  headChunkRows?: number;
}

export class EncodedFrozenWeights implements FrozenWeights {
  readonly stable = false;
  readonly residentBytes: number;
  readonly headChunkRows: number;
  readonly finalNorm: Float32Array;
  private readonly scratch: Float32Array;
  private headBuffer = new Float32Array(0);

  constructor(
    private readonly config: LlamaConfig,
    private readonly weights: QuantizedBaseWeights,
    options: EncodedFrozenOptions = {},
  ) {
    const C = config.dim, V = config.vocabSize;
    const largestMatrix = Math.max(...layerMatrices.map((name) => matrixShape(config, name)).map(([rows, cols]) => rows * cols));
    this.headChunkRows = Math.min(V, Math.max(1, options.headChunkRows ?? Math.floor(largestMatrix / C)));
    const size = Math.max(largestMatrix, this.headChunkRows * C);
    this.scratch = new Float32Array(size);
    this.residentBytes = quantizedWeightBytes(weights);
    this.finalNorm = weights.finalNorm;
  }

  scratchBytes(): number {
    return this.scratch.byteLength + this.headBuffer.byteLength;
  }

  embed(out: Float32Array, tokens: Int32Array, N: number): void {
    gatherRows(out, this.weights.tokenEmbedding, tokens, N);
  }

  attnNorm(l: number): Float32Array {
    return this.weights.layers[l].attnNorm;
  }

  ffnNorm(l: number): Float32Array {
    return this.weights.layers[l].ffnNorm;
  }

  matrix(l: number, name: LayerMatrix): Float32Array {
    const matrix = this.weights.layers[l].matrices[name];
    dequantizeRows(this.scratch, matrix, 0, matrix.rows);
    return this.scratch.subarray(0, matrix.rows * matrix.cols);
  }

  matrixBackward(l: number, name: LayerMatrix): BackwardOperands {
    const matrix = this.weights.layers[l].matrices[name];
    return this.decodeForBackward(matrix, 0, matrix.rows);
  }

  headRows(first: number, count: number): Float32Array {
    dequantizeRows(this.scratch, this.weights.output, first, count);
    return this.scratch.subarray(0, count * this.config.dim);
  }

  headRowsBackward(first: number, count: number): BackwardOperands {
    return this.decodeForBackward(this.weights.output, first, count);
  }

  headChunkBuffer(size: number): Float32Array {
    if (this.headBuffer.length < size) this.headBuffer = new Float32Array(size);
    return this.headBuffer;
  }

  /**
   * The decoded rows as a changing weight (no transpose): measured on the 15M shape, decoding a
   * transpose too for the frozen-weight kernel cost more than the changing-weight kernel's own handling.
   */
  private decodeForBackward(matrix: QuantizedMatrix, first: number, count: number): BackwardOperands {
    dequantizeRows(this.scratch, matrix, first, count);
    return { weight: this.scratch.subarray(0, count * matrix.cols), stable: false };
  }
}

export function frozenWeightsFor(config: LlamaConfig, weights: BaseWeights | QuantizedBaseWeights, options: EncodedFrozenOptions = {}): FrozenWeights {
  return weights.storage === "quantized" ? new EncodedFrozenWeights(config, weights, options) : new DenseFrozenWeights(config, weights);
}
