import { kvDimOf, type LlamaConfig } from "../config.js";
import type { LoraBranchActivations, LoraScratch } from "../lora/lora-linear.js";
import type { LoraConfig, LoraTarget } from "../lora/lora-config.js";
import { loraPairShape } from "../lora/lora-weights.js";

// Everything the forward pass keeps for the backward pass, in ONE Float32Array (plus one Uint8Array
// for dropout masks), and the backward pass's gradient scratch in another. Gradients of activations
// are not kept per layer: the backward pass walks the layers in reverse and reuses one set.
// With activation checkpointing only the residual stream (each layer's input) is kept per layer: every
// entry of `layers` is the same single buffer, which the backward pass refills by recomputing one
// layer's forward at a time.

export interface LayerActivations {
  attnNormOut: Float32Array; // [N, C]
  attnRstd: Float32Array; // [N]
  q: Float32Array; // [N, C] after RoPE
  k: Float32Array; // [N, KVC] after RoPE
  v: Float32Array; // [N, KVC]
  att: Float32Array; // [B, NH, T, T] softmax probabilities
  attnOut: Float32Array; // [N, C] before the output projection
  resid2: Float32Array; // [N, C] residual stream after attention
  ffnNormOut: Float32Array; // [N, C]
  ffnRstd: Float32Array; // [N]
  gate: Float32Array; // [N, H]
  up: Float32Array; // [N, H]
  hidden: Float32Array; // [N, H] silu(gate) * up
  lora: Map<LoraTarget, LoraBranchActivations>;
}

export interface Activations {
  B: number;
  T: number;
  floats: Float32Array;
  masks: Uint8Array;
  /** True when `layers` holds one shared buffer that backward refills by recomputation. */
  checkpointed: boolean;
  /** residual[l] is the input of layer l; residual[nLayers] feeds the final norm. [N, C] each */
  residual: Float32Array[];
  layers: LayerActivations[];
  finalNormOut: Float32Array; // [N, C]
  finalRstd: Float32Array; // [N]
  /**
   * Logits [N, V]. With targets only the M unmasked rows are computed, compacted to rows 0..M-1, and
   * overwritten in place by probabilities and then by their gradient: masked prompt tokens cost no
   * output-head work, which at a 32000-token vocabulary is most of the model.
   */
  logits: Float32Array;
  /** finalNormOut's unmasked rows, compacted. [N, C] */
  headInput: Float32Array;
  /** Source row and target of each compacted row. [N] */
  headRows: Int32Array;
  headTargets: Int32Array;
  losses: Float32Array; // [N]
  ropeCos: Float32Array; // [T, ropeDim/2]
  ropeSin: Float32Array;
}

export interface GradientScratch {
  floats: Float32Array;
  residual: Float32Array; // [N, C] dL/d(residual stream), flows down through the layers
  headInput: Float32Array; // [N, C] dL/d(compacted head input)
  normOut: Float32Array; // [N, C] dL/d(norm output)
  q: Float32Array; // [N, C]
  k: Float32Array; // [N, KVC]
  v: Float32Array; // [N, KVC]
  attnOut: Float32Array; // [N, C]
  gate: Float32Array; // [N, H]
  up: Float32Array; // [N, H]
  hidden: Float32Array; // [N, H]
  attentionRow: Float32Array; // [T]
  lora: LoraScratch;
}

/**
 * Zeroed floats in a SharedArrayBuffer where the runtime has one, so the attention helper thread works
 * on the activations in place (see ../kernels/fast/parallel-attention.ts); a plain array otherwise.
 */
function sharedFloats(count: number): Float32Array {
  return typeof SharedArrayBuffer === "function" ? new Float32Array(new SharedArrayBuffer(count * 4)) : new Float32Array(count);
}

/** Hands out consecutive views of a buffer; without a buffer it only measures (first pass). */
class Carver {
  offset = 0;
  constructor(readonly buffer?: Float32Array | Uint8Array) {}
  take<A extends Float32Array | Uint8Array>(size: number): A {
    const start = this.offset;
    this.offset += size;
    return (this.buffer ? this.buffer.subarray(start, start + size) : null) as A;
  }
}

function layoutActivations(config: LlamaConfig, lora: LoraConfig | null, B: number, T: number, checkpointed: boolean, floats: Carver, masks: Carver, logits: Float32Array | null) {
  const N = B * T, C = config.dim, H = config.hiddenDim, KVC = kvDimOf(config);
  const residual: Float32Array[] = [];
  for (let l = 0; l <= config.nLayers; l++) residual.push(floats.take(N * C));
  const layers: LayerActivations[] = [];
  for (let l = 0; l < config.nLayers; l++) {
    if (checkpointed && l > 0) {
      layers.push(layers[0]);
      continue;
    }
    const layer: LayerActivations = {
      attnNormOut: floats.take(N * C),
      attnRstd: floats.take(N),
      q: floats.take(N * C),
      k: floats.take(N * KVC),
      v: floats.take(N * KVC),
      att: floats.take(B * config.nHeads * T * T),
      attnOut: floats.take(N * C),
      resid2: floats.take(N * C),
      ffnNormOut: floats.take(N * C),
      ffnRstd: floats.take(N),
      gate: floats.take(N * H),
      up: floats.take(N * H),
      hidden: floats.take(N * H),
      lora: new Map(),
    };
    for (const target of lora?.targets ?? []) {
      const { inFeatures } = loraPairShape(config, target);
      const withDropout = lora!.dropout > 0;
      layer.lora.set(target, {
        h: floats.take(N * lora!.rank),
        dropped: withDropout ? floats.take(N * inFeatures) : null,
        keep: withDropout ? masks.take(N * inFeatures) : null,
      });
    }
    layers.push(layer);
  }
  return {
    residual,
    layers,
    finalNormOut: floats.take<Float32Array>(N * C),
    finalRstd: floats.take<Float32Array>(N),
    logits: logits ?? floats.take<Float32Array>(N * config.vocabSize),
    headInput: floats.take<Float32Array>(N * C),
    losses: floats.take<Float32Array>(N),
    ropeCos: floats.take<Float32Array>((T * config.ropeDim) / 2),
    ropeSin: floats.take<Float32Array>((T * config.ropeDim) / 2),
  };
}

/**
 * With `allocate` (KernelSet.allocateResident) the activations live where the matmuls use them in
 * place: all of them when they fit, else the [B*T, vocab] logits alone (the largest); otherwise
 * everything is carved from one SharedArrayBuffer.
 */
export function allocateActivations(config: LlamaConfig, lora: LoraConfig | null, B: number, T: number, checkpointed = false, allocate?: (floats: number) => Float32Array | null): Activations {
  const floatSizer = new Carver(), maskSizer = new Carver();
  layoutActivations(config, lora, B, T, checkpointed, floatSizer, maskSizer, null);
  let floats = allocate?.(floatSizer.offset) ?? null;
  const logits = floats ? null : (allocate?.(B * T * config.vocabSize) ?? null);
  if (!floats) {
    const sizer = new Carver();
    layoutActivations(config, lora, B, T, checkpointed, sizer, new Carver(), logits);
    floats = sharedFloats(sizer.offset);
  }
  const masks = new Uint8Array(maskSizer.offset);
  const headIndices = new Int32Array(2 * B * T);
  return {
    B,
    T,
    checkpointed,
    floats,
    masks,
    headRows: headIndices.subarray(0, B * T),
    headTargets: headIndices.subarray(B * T),
    ...layoutActivations(config, lora, B, T, checkpointed, new Carver(floats), new Carver(masks), logits),
  };
}

/** The backward pass's buffers; with `allocate`, where the matmuls use them in place (as for activations). */
export function allocateGradientScratch(config: LlamaConfig, lora: LoraConfig | null, B: number, T: number, allocate?: (floats: number) => Float32Array | null): GradientScratch {
  const N = B * T, C = config.dim, H = config.hiddenDim, KVC = kvDimOf(config);
  const rank = lora?.rank ?? 0;
  const widest = Math.max(C, H);
  const sizes = { residual: N * C, headInput: N * C, normOut: N * C, q: N * C, k: N * KVC, v: N * KVC, attnOut: N * C, gate: N * H, up: N * H, hidden: N * H, attentionRow: T, dh: N * rank, bT: rank * widest, dDropped: lora && lora.dropout > 0 ? N * widest : 0 };
  const total = Object.values(sizes).reduce((a, b) => a + b, 0);
  const floats = allocate?.(total) ?? sharedFloats(total);
  const carver = new Carver(floats);
  const take = (size: number) => carver.take<Float32Array>(size);
  return {
    floats,
    residual: take(sizes.residual),
    headInput: take(sizes.headInput),
    normOut: take(sizes.normOut),
    q: take(sizes.q),
    k: take(sizes.k),
    v: take(sizes.v),
    attnOut: take(sizes.attnOut),
    gate: take(sizes.gate),
    up: take(sizes.up),
    hidden: take(sizes.hidden),
    attentionRow: take(sizes.attentionRow),
    lora: { dh: take(sizes.dh), bT: take(sizes.bT), dDropped: take(sizes.dDropped) },
  };
}
