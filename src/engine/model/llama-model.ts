import { InvalidArgumentError } from "../../errors/index.js";
import { headSizeOf, kvDimOf, type LlamaConfig } from "../config.js";
import type { AttentionShape } from "../kernels/attention.js";
import { fastKernels, type KernelSet } from "../kernels/kernel-set.js";
import { ropeTables } from "../kernels/rope.js";
import { sampleDropoutMask } from "../lora/dropout.js";
import type { LoraConfig, LoraTarget } from "../lora/lora-config.js";
import { loraBackward, loraForward, type LoraBranchActivations, type LoraScratch } from "../lora/lora-linear.js";
import { allocateLoraWeights, initLoraWeights, type LoraWeights } from "../lora/lora-weights.js";
import { SeededRandom } from "../../random/seeded-random.js";
import { allocateActivations, allocateGradientScratch, type Activations, type GradientScratch } from "./activations.js";
import type { BaseWeights, LayerMatrix } from "./base-weights.js";
import { frozenWeightsFor, type BackwardOperands, type EncodedFrozenOptions, type FrozenWeights } from "./frozen-weights.js";
import type { QuantizedBaseWeights } from "./quantized-weights.js";

export interface LlamaModelOptions {
  /** Defaults to the fast kernels; tests pass referenceKernels to run the oracle. */
  kernels?: KernelSet;
  /** Adds trainable LoRA branches (A random, B = 0) to the frozen base weights. */
  lora?: LoraConfig;
  /** Seeds LoRA init and dropout masks. */
  seed?: number;
  /**
   * Keep only each layer's input (the residual stream) through the forward pass and recompute one
   * layer's activations at a time during backward: about one layer's activations instead of all of
   * them, for one extra forward pass. Gradients are bit-identical to the non-checkpointed run.
   */
  checkpointActivations?: boolean;
  /** How encoded (quantized) base weights are decoded; ignored for float32 weights. */
  encoded?: EncodedFrozenOptions;
}

/** Bytes held by the engine's buffers. */
export interface EngineMemory {
  /** The frozen base weights as held (float32, or encoded). */
  baseWeights: number;
  /** Scratch that encoded weights are decoded into (0 for float32 weights). */
  dequantScratch: number;
  /**
   * Prepared copies of float32 frozen weights kept by the kernels (the SIMD matmul's packed panels;
   * 0 for encoded weights). The kernels are per process, so this counts every float32 model of it.
   */
  kernelWeights: number;
  lora: number;
  activations: number;
  gradientScratch: number;
  total: number;
}

export interface Batch {
  /** [B, T] token ids. */
  tokens: Int32Array;
  /** [B, T] next-token ids; omit for logits only. */
  targets?: Int32Array;
  /** [B, T] 1 where the target counts toward the loss; omit to count every position. */
  lossMask?: Uint8Array;
}

const loraInputs: Record<LoraTarget, LayerMatrix> = { q: "wq", k: "wk", v: "wv", o: "wo", gate: "wGate", up: "wUp", down: "wDown" };

/** Calls visit(first, row, count) for each run of consecutive source rows in rows[0, M) (a gather's or scatter's copies). */
function forEachRun(rows: Int32Array, M: number, visit: (first: number, row: number, count: number) => void): void {
  for (let first = 0; first < M; ) {
    let count = 1;
    while (first + count < M && rows[first + count] === rows[first] + count) count++;
    visit(first, rows[first], count);
    first += count;
  }
}

/**
 * A LLaMA-1/2 decoder written out layer by layer, llm.c style: forward keeps what backward needs in
 * one activation buffer (with checkpointActivations, only each layer's input, and backward recomputes
 * one layer at a time); backward propagates through the frozen base weights and accumulates
 * gradients only for the LoRA parameters. The base weights are float32 (BaseWeights) or kept in their
 * GGUF encoding (QuantizedBaseWeights) and decoded one matrix at a time just before use.
 */
export class LlamaModel {
  readonly kernels: KernelSet;
  readonly lora: LoraWeights | null;
  readonly random: SeededRandom;
  /** Dropout is applied only while training. */
  training = true;
  /**
   * With false, every forward pass runs the frozen base model alone, as if the LoRA adapter were not
   * there (peft's disable_adapter()): DPO's reference policy without a second copy of the weights.
   */
  adapterEnabled = true;
  private acts: Activations | null = null;
  private scratch: GradientScratch | null = null;
  /**
   * Set by a forward pass with targets (or forwardHidden): how many positions went through the output
   * head, whether the logits buffer already holds the mean loss's gradient (else the probabilities),
   * whether the adapter ran, and whether it was a hidden-state pass (no vocabulary head).
   */
  private batch: { headCount: number; dropout: number; lossGradientReady: boolean; adapter: boolean; hidden: boolean } | null = null;
  private allOnes = new Uint8Array(0);
  /** Per head row loss weights of backwardFromSequenceLogProbs (grown as needed). */
  private tokenWeights = new Float32Array(0);
  private headLora: { acts: LoraBranchActivations; scratch: LoraScratch } | null = null;
  private readonly frozen: FrozenWeights;
  readonly checkpointActivations: boolean;
  /** The dropout generator's state as each layer's forward began, so a recomputation draws the same masks. */
  private readonly layerRandomStates: number[];

  constructor(
    readonly config: LlamaConfig,
    readonly weights: BaseWeights | QuantizedBaseWeights,
    options: LlamaModelOptions = {},
  ) {
    this.kernels = options.kernels ?? fastKernels;
    this.frozen = frozenWeightsFor(config, weights, options.encoded);
    this.checkpointActivations = options.checkpointActivations ?? false;
    this.layerRandomStates = new Array<number>(config.nLayers).fill(0);
    this.random = new SeededRandom(options.seed ?? 1337);
    this.lora = options.lora ? allocateLoraWeights(config, options.lora) : null;
    if (this.lora) initLoraWeights(this.lora, this.random);
  }

  /**
   * Logits [B*T, V] of the last forward pass without targets. (With targets the buffer holds, for the
   * unmasked positions only, compacted: the loss gradient while training, else the probabilities.)
   */
  get logits(): Float32Array {
    if (!this.acts) throw new InvalidArgumentError("forward", "logits are available only after a forward pass");
    return this.acts.logits.subarray(0, this.acts.B * this.acts.T * this.config.vocabSize);
  }

  get activations(): Activations | null {
    return this.acts;
  }

  /** Runs the model; with targets returns the mean cross-entropy over unmasked positions, else NaN. */
  forward(batch: Batch, B: number, T: number): number {
    // while training, backward follows: the loss and its gradient come out of one pass over the
    // [M, vocab] logits (the largest buffer), which then hold dlogits instead of probabilities
    return this.run(batch, B, T, this.training);
  }

  /**
   * A forward pass with targets that writes, for each of the B sequences, the sum of log p(target) over
   * its unmasked positions into out[b] (trl's get_batch_logps). The probabilities are kept, so that
   * backwardFromSequenceLogProbs can follow with any loss of these sums; with the adapter disabled
   * (adapterEnabled false) it gives the reference model's sums and is not meant to be back-propagated.
   */
  sequenceLogProbs(batch: Batch, B: number, T: number, out: Float64Array): void {
    if (!batch.targets) throw new InvalidArgumentError("targets", "sequenceLogProbs needs targets");
    if (out.length < B) throw new InvalidArgumentError("out", `out has ${out.length} entries, expected at least B = ${B}`);
    this.run(batch, B, T, false);
    const acts = this.acts!;
    out.fill(0, 0, B);
    for (let m = 0; m < this.batch!.headCount; m++) out[Math.floor(acts.headRows[m] / T)] -= acts.losses[m];
  }

  /**
   * Accumulates dLoss/dLoRA after sequenceLogProbs, for a loss of the sequences' log-prob sums whose
   * gradient dLoss/d(sum b) is dLogProbs[b]: every unmasked token of sequence b weighs -dLogProbs[b] in
   * the cross-entropy's backward (the log-prob is minus the token's loss).
   */
  backwardFromSequenceLogProbs(dLogProbs: Float64Array): void {
    const acts = this.acts;
    if (!acts || !this.batch || this.batch.lossGradientReady) throw new InvalidArgumentError("backward", "backwardFromSequenceLogProbs() needs sequenceLogProbs() first");
    const M = this.batch.headCount, T = acts.T;
    if (this.tokenWeights.length < M) this.tokenWeights = new Float32Array(M);
    for (let m = 0; m < M; m++) this.tokenWeights[m] = -dLogProbs[Math.floor(acts.headRows[m] / T)];
    this.kernels.crossEntropyBackwardWeighted(acts.logits, acts.logits, acts.headTargets, this.tokenWeights, M, this.config.vocabSize);
    this.batch.lossGradientReady = true;
    this.backward();
  }

  /** forward() with the loss gradient fused into the loss pass or not (then backward() derives it, or another loss's). */
  private run(batch: Batch, B: number, T: number, fuseLossGradient: boolean): number {
    this.validateBatch(batch, B, T);
    const { config, kernels } = this;
    const acts = this.ensureActivations(B, T);
    const N = B * T, C = config.dim;
    const dropout = this.activeDropout();
    this.bodyForward(acts, batch.tokens, dropout);
    if (!batch.targets) {
      this.headForward(acts.logits, acts.finalNormOut, N);
      this.headLoraForward(acts.logits, acts.finalNormOut, N);
      this.batch = null;
      return Number.NaN;
    }
    // only positions that count toward the loss go through the output head
    const mask = batch.lossMask ?? this.onesMask(N);
    let M = 0;
    for (let n = 0; n < N; n++) {
      if (!mask[n]) continue;
      acts.headRows[M] = n;
      acts.headTargets[M] = batch.targets[n];
      M++;
    }
    // every position counts (plain pretraining batches): the norm output is the head input as it is
    const headInput = M === N ? acts.finalNormOut : acts.headInput;
    if (M < N) forEachRun(acts.headRows, M, (first, row, count) => headInput.set(acts.finalNormOut.subarray(row * C, (row + count) * C), first * C));
    this.headForward(acts.logits, headInput, M);
    this.headLoraForward(acts.logits, headInput, M);
    const lossGradientReady = fuseLossGradient;
    this.batch = { headCount: M, dropout, lossGradientReady, adapter: this.adapterEnabled, hidden: false };
    const crossEntropy = lossGradientReady ? kernels.crossEntropyForwardBackward : kernels.crossEntropyForward;
    return crossEntropy(acts.losses, acts.logits, acts.logits, acts.headTargets, this.onesMask(M), M, config.vocabSize);
  }

  /**
   * The body without the vocabulary head: the final-norm hidden states (Hugging Face's
   * last_hidden_state) at `positions`, flat indices b*T + t in increasing order, compacted to [M, dim]
   * in that order. This is what a sequence-level head reads (a reward model's score on the last token).
   * The view is valid until the next forward pass; backwardHidden() continues from a gradient on it.
   */
  forwardHidden(tokens: Int32Array, B: number, T: number, positions: Int32Array): Float32Array {
    this.validateBatch({ tokens }, B, T);
    const N = B * T, C = this.config.dim, M = positions.length;
    if (M < 1) throw new InvalidArgumentError("positions", "forwardHidden needs at least one position");
    for (let m = 0; m < M; m++) {
      if (!Number.isInteger(positions[m]) || positions[m] < 0 || positions[m] >= N) throw new InvalidArgumentError(`positions[${m}]`, `positions[${m}] = ${positions[m]} is outside [0, B*T = ${N})`);
      if (m > 0 && positions[m] <= positions[m - 1]) throw new InvalidArgumentError(`positions[${m}]`, "positions must be strictly increasing");
    }
    const acts = this.ensureActivations(B, T);
    const dropout = this.activeDropout();
    this.bodyForward(acts, tokens, dropout);
    acts.headRows.set(positions);
    forEachRun(acts.headRows, M, (first, row, count) => acts.headInput.set(acts.finalNormOut.subarray(row * C, (row + count) * C), first * C));
    this.batch = { headCount: M, dropout, lossGradientReady: false, adapter: this.adapterEnabled, hidden: true };
    return acts.headInput.subarray(0, M * C);
  }

  /**
   * Accumulates dLoss/dLoRA from dLoss/d(hidden) [M, dim] at the positions of the last forwardHidden()
   * (the other positions' hidden states get zero gradient).
   */
  backwardHidden(dHidden: Float32Array): void {
    const acts = this.acts;
    if (!acts || !this.batch?.hidden) throw new InvalidArgumentError("backwardHidden", "backwardHidden() needs a forwardHidden() pass first");
    const N = acts.B * acts.T, C = this.config.dim, M = this.batch.headCount;
    if (dHidden.length !== M * C) throw new InvalidArgumentError("dHidden", `dHidden has ${dHidden.length} entries, expected positions * dim = ${M * C}`);
    const scratch = this.ensureScratch(acts.B, acts.T);
    scratch.normOut.fill(0, 0, N * C);
    forEachRun(acts.headRows, M, (first, row, count) => scratch.normOut.set(dHidden.subarray(first * C, (first + count) * C), row * C));
    this.backwardBody(acts, scratch);
  }

  /** Embedding, every decoder layer and the final norm: tokens -> acts.finalNormOut [N, C]. */
  private bodyForward(acts: Activations, tokens: Int32Array, dropout: number): void {
    const { config } = this;
    const N = acts.B * acts.T;
    this.frozen.embed(acts.residual[0], tokens, N);
    for (let l = 0; l < config.nLayers; l++) {
      this.layerRandomStates[l] = this.random.getState();
      this.layerForward(l, acts, dropout);
    }
    this.kernels.rmsnormForward(acts.finalNormOut, acts.finalRstd, acts.residual[config.nLayers], this.frozen.finalNorm, N, config.dim, config.normEps);
  }

  /** One decoder layer: residual[l] -> residual[l + 1], keeping what backward needs in acts.layers[l]. */
  private layerForward(l: number, acts: Activations, dropout: number): void {
    const { config, kernels } = this;
    const { B, T } = acts;
    const N = B * T, C = config.dim, H = config.hiddenDim, KVC = kvDimOf(config), HS = headSizeOf(config);
    const shape: AttentionShape = { B, T, NH: config.nHeads, NKV: config.nKvHeads, HS };
    const a = acts.layers[l];
    const input = acts.residual[l];
    kernels.rmsnormForward(a.attnNormOut, a.attnRstd, input, this.frozen.attnNorm(l), N, C, config.normEps);
    this.linear(l, "q", a.q, a.attnNormOut, N, C, C, dropout);
    this.linear(l, "k", a.k, a.attnNormOut, N, C, KVC, dropout);
    this.linear(l, "v", a.v, a.attnNormOut, N, C, KVC, dropout);
    kernels.ropeForward(a.q, a.q, acts.ropeCos, acts.ropeSin, B, T, config.nHeads, HS, config.ropeDim);
    kernels.ropeForward(a.k, a.k, acts.ropeCos, acts.ropeSin, B, T, config.nKvHeads, HS, config.ropeDim);
    kernels.attentionForward(a.attnOut, a.att, a.q, a.k, a.v, shape);
    // resid2 = input + attnOut @ wo^T: copy the residual, then accumulate the projection into it
    a.resid2.set(input);
    this.linear(l, "o", a.resid2, a.attnOut, N, C, C, dropout, true);
    kernels.rmsnormForward(a.ffnNormOut, a.ffnRstd, a.resid2, this.frozen.ffnNorm(l), N, C, config.normEps);
    this.linear(l, "gate", a.gate, a.ffnNormOut, N, C, H, dropout);
    this.linear(l, "up", a.up, a.ffnNormOut, N, C, H, dropout);
    kernels.swigluForward(a.hidden, a.gate, a.up, N * H);
    const output = acts.residual[l + 1];
    output.set(a.resid2);
    this.linear(l, "down", output, a.hidden, N, H, C, dropout, true);
  }

  /** logits[M, V] = input[M, C] @ output^T, chunk by chunk of vocabulary rows when the head is decoded on the fly. */
  private headForward(logits: Float32Array, input: Float32Array, M: number): void {
    const C = this.config.dim, V = this.config.vocabSize, chunk = this.frozen.headChunkRows;
    if (chunk >= V) {
      this.kernels.matmulForward(logits, input, this.frozen.headRows(0, V), M, C, V, false, this.frozen.stable);
      return;
    }
    const part = this.frozen.headChunkBuffer(M * chunk);
    for (let first = 0; first < V; first += chunk) {
      const rows = Math.min(chunk, V - first);
      this.kernels.matmulForward(part, input, this.frozen.headRows(first, rows), M, C, rows, false, this.frozen.stable);
      for (let m = 0; m < M; m++) logits.set(part.subarray(m * rows, (m + 1) * rows), m * V + first);
    }
  }

  /** logits[M, V] += the output head's LoRA branch (no dropout on it), when the head is adapted. */
  private headLoraForward(logits: Float32Array, input: Float32Array, M: number): void {
    const pair = this.lora?.head;
    if (!pair || !this.lora || !this.adapterEnabled) return;
    loraForward(this.kernels, logits, input, pair, this.headBranch(M).acts, M, this.lora.config.rank, this.lora.scale, 0);
  }

  /** dinput[M, C] += the head branch's input gradient; accumulates its dA, dB. */
  private headLoraBackward(dinput: Float32Array, dlogits: Float32Array, input: Float32Array, M: number): void {
    const pair = this.lora?.head;
    if (!pair || !this.lora) return;
    const branch = this.headBranch(M);
    loraBackward(this.kernels, dinput, dlogits, input, pair, branch.acts, branch.scratch, M, this.lora.config.rank, this.lora.scale, 0);
  }

  /** The head branch's activations and scratch, grown to `rows` head rows (they belong to this model). */
  private headBranch(rows: number): { acts: LoraBranchActivations; scratch: LoraScratch } {
    const rank = this.lora!.config.rank, V = this.config.vocabSize;
    if (!this.headLora || this.headLora.acts.h.length < rows * rank) {
      this.headLora = {
        acts: { h: new Float32Array(rows * rank), dropped: null, keep: null },
        scratch: { dh: new Float32Array(rows * rank), bT: new Float32Array(rank * V), dDropped: new Float32Array(0) },
      };
    }
    return this.headLora;
  }

  /** dinput[M, C] (+)= dlogits[M, V] @ output, chunked like headForward (the sum over V then runs chunk by chunk). */
  private headBackward(dinput: Float32Array, dlogits: Float32Array, M: number, accumulate: boolean): void {
    const C = this.config.dim, V = this.config.vocabSize, chunk = this.frozen.headChunkRows;
    if (chunk >= V) {
      this.frozenBackwardInput(dinput, dlogits, this.frozen.headRowsBackward(0, V), M, C, V, accumulate);
      return;
    }
    const part = this.frozen.headChunkBuffer(M * chunk);
    for (let first = 0; first < V; first += chunk) {
      const rows = Math.min(chunk, V - first);
      for (let m = 0; m < M; m++) part.set(dlogits.subarray(m * V + first, m * V + first + rows), m * rows);
      this.frozenBackwardInput(dinput, part, this.frozen.headRowsBackward(first, rows), M, C, rows, accumulate || first > 0);
    }
  }

  /**
   * dx[N, C] += dy[N, OC] @ weight (= without accumulate, so dx needs no zeroing first): as a frozen
   * weight when it is a stable one (kernels may keep it prepared).
   */
  private frozenBackwardInput(dx: Float32Array, dy: Float32Array, operands: BackwardOperands, N: number, C: number, OC: number, accumulate: boolean): void {
    if (operands.stable) return this.kernels.matmulBackwardInputFrozen(dx, dy, operands.weight, N, C, OC, accumulate);
    if (!accumulate) dx.fill(0, 0, N * C);
    this.kernels.matmulBackwardInput(dx, dy, operands.weight, N, C, OC);
  }

  /** Bytes held by the engine's buffers (the WebAssembly kernel memory and optimizer state are extra). */
  memoryBytes(): EngineMemory {
    const baseWeights = this.frozen.residentBytes;
    const dequantScratch = this.frozen.scratchBytes();
    const lora = this.lora ? this.lora.params.byteLength + this.lora.grads.byteLength : 0;
    const acts = this.acts;
    const residentLogits = acts && acts.logits.buffer !== acts.floats.buffer ? acts.logits.byteLength : 0;
    const activations = acts ? acts.floats.byteLength + residentLogits + acts.masks.byteLength + acts.headRows.byteLength * 2 : 0;
    const gradientScratch = this.scratch ? this.scratch.floats.byteLength : 0;
    // only float32 weights go to the kernels as frozen (decoded ones are changing scratch)
    const kernelWeights = this.weights.storage === "dequantized" ? (this.kernels.keptWeightBytes?.() ?? 0) : 0;
    const total = baseWeights + dequantScratch + kernelWeights + lora + activations + gradientScratch;
    return { baseWeights, dequantScratch, kernelWeights, lora, activations, gradientScratch, total };
  }

  /** Sets the LoRA gradients to zero; backward() accumulates, which is what gradient accumulation needs. */
  zeroGradients(): void {
    this.lora?.grads.fill(0);
  }

  /** Accumulates dLoss/dLoRA of the last forward pass (which must have had targets). */
  backward(): void {
    const acts = this.acts;
    if (!acts || !this.batch || this.batch.hidden) throw new InvalidArgumentError("backward", "backward() needs a forward pass with targets first");
    // the adapter's gradients need the adapter's activations: a reference (adapter-off) pass has none
    if (!this.batch.adapter || !this.adapterEnabled) throw new InvalidArgumentError("backward", "backward() follows a forward pass with the adapter disabled: there is nothing to train");
    const scratch = this.ensureScratch(acts.B, acts.T);
    const { config, kernels } = this;
    const N = acts.B * acts.T, C = config.dim, V = config.vocabSize;
    const M = this.batch.headCount;
    if (!this.batch.lossGradientReady) kernels.crossEntropyBackward(acts.logits, acts.logits, acts.headTargets, this.onesMask(M), M, V);

    const dNorm = scratch.normOut;
    // the head's input gradient goes straight to the norm output's when every position went through
    // the head; else compacted, then scattered back to the positions (masked ones get zero)
    if (M === N) {
      this.headBackward(dNorm, acts.logits, M, false);
      this.headLoraBackward(dNorm, acts.logits, acts.finalNormOut, M);
    } else {
      this.headBackward(scratch.headInput, acts.logits, M, false);
      this.headLoraBackward(scratch.headInput, acts.logits, acts.headInput, M);
      dNorm.fill(0, 0, N * C);
      forEachRun(acts.headRows, M, (first, row, count) => dNorm.set(scratch.headInput.subarray(first * C, (first + count) * C), row * C));
    }
    this.backwardBody(acts, scratch);
  }

  /**
   * From dL/d(final norm output) in scratch.normOut down through every layer, accumulating the LoRA
   * gradients; then the pass is spent (a second backward asks for a new forward).
   */
  private backwardBody(acts: Activations, scratch: GradientScratch): void {
    const { config, kernels, frozen } = this;
    const { B, T } = acts;
    const N = B * T, C = config.dim, H = config.hiddenDim, KVC = kvDimOf(config), HS = headSizeOf(config);
    const shape: AttentionShape = { B, T, NH: config.nHeads, NKV: config.nKvHeads, HS };
    const dResidual = scratch.residual;
    const dNorm = scratch.normOut;
    dResidual.fill(0, 0, N * C);
    kernels.rmsnormBackward(dResidual, null, dNorm, acts.residual[config.nLayers], frozen.finalNorm, acts.finalRstd, N, C);

    for (let l = config.nLayers - 1; l >= 0; l--) {
      // checkpointed: the shared buffer still holds the last layer from the forward pass; refill it
      // for the others from their kept input, replaying the dropout draws of the forward pass
      if (acts.checkpointed && l < config.nLayers - 1) this.recomputeLayer(l, acts);
      const a = acts.layers[l];
      // residual[l+1] = resid2 + down(hidden): dResidual already is dL/d(resid2) from the skip path
      // the first gradient into each scratch buffer writes it (no zeroing); the next ones add to it
      this.linearBackward(l, "down", scratch.hidden, dResidual, a.hidden, N, H, C, { accumulate: false });
      kernels.swigluBackwardOverwrite(scratch.gate, scratch.up, scratch.hidden, a.gate, a.up, N * H);
      this.linearBackward(l, "gate", dNorm, scratch.gate, a.ffnNormOut, N, C, H, { accumulate: false });
      this.linearBackward(l, "up", dNorm, scratch.up, a.ffnNormOut, N, C, H);
      kernels.rmsnormBackward(dResidual, null, dNorm, a.resid2, frozen.ffnNorm(l), a.ffnRstd, N, C);
      // resid2 = residual[l] + o(attnOut)
      this.linearBackward(l, "o", scratch.attnOut, dResidual, a.attnOut, N, C, C, { accumulate: false });
      scratch.q.fill(0, 0, N * C);
      scratch.k.fill(0, 0, N * KVC);
      scratch.v.fill(0, 0, N * KVC);
      kernels.attentionBackward(scratch.q, scratch.k, scratch.v, scratch.attentionRow, scratch.attnOut, a.q, a.k, a.v, a.att, shape);
      kernels.ropeBackward(scratch.q, scratch.q, acts.ropeCos, acts.ropeSin, B, T, config.nHeads, HS, config.ropeDim);
      kernels.ropeBackward(scratch.k, scratch.k, acts.ropeCos, acts.ropeSin, B, T, config.nKvHeads, HS, config.ropeDim);
      // below layer 0's q, k, v lies only the frozen embedding: their LoRA gradients are all that is
      // left (what their LoRA branches add to dNorm there is never read)
      const inputGradient = l > 0;
      this.linearBackward(l, "q", dNorm, scratch.q, a.attnNormOut, N, C, C, { inputGradient, accumulate: false });
      this.linearBackward(l, "k", dNorm, scratch.k, a.attnNormOut, N, C, KVC, { inputGradient });
      this.linearBackward(l, "v", dNorm, scratch.v, a.attnNormOut, N, C, KVC, { inputGradient });
      if (inputGradient) kernels.rmsnormBackward(dResidual, null, dNorm, acts.residual[l], frozen.attnNorm(l), a.attnRstd, N, C);
    }
    // the embedding is frozen: dResidual stops here. The logits now hold dlogits, so this forward
    // pass cannot be back-propagated again: a second backward() asks for a new forward instead.
    this.batch = null;
  }

  /**
   * Layer l's forward again, from its kept input. It rewrites residual[l + 1] with the same values
   * (nothing reads it any more) and leaves the dropout generator where it was.
   */
  private recomputeLayer(l: number, acts: Activations): void {
    const state = this.random.getState();
    this.random.setState(this.layerRandomStates[l]);
    this.layerForward(l, acts, this.batch!.dropout);
    this.random.setState(state);
  }

  /** y = x @ W^T (+ the LoRA branch when this projection is adapted). */
  private linear(l: number, target: LoraTarget, y: Float32Array, x: Float32Array, N: number, C: number, OC: number, dropout: number, accumulate = false): void {
    this.kernels.matmulForward(y, x, this.frozen.matrix(l, loraInputs[target]), N, C, OC, accumulate, this.frozen.stable);
    const pair = this.lora?.layers[l].get(target);
    if (!pair || !this.lora || !this.adapterEnabled) return;
    const branch = this.acts!.layers[l].lora.get(target)!;
    const { rank } = this.lora.config;
    if (branch.keep && dropout > 0) sampleDropoutMask(branch.keep, N * C, dropout, this.random);
    loraForward(this.kernels, y, x, pair, branch, N, rank, this.lora.scale, dropout);
  }

  /**
   * dx += dy @ W (frozen; = with accumulate false; skipped without inputGradient), then the LoRA
   * branch's gradients, its input gradient added to dx.
   */
  private linearBackward(l: number, target: LoraTarget, dx: Float32Array, dy: Float32Array, x: Float32Array, N: number, C: number, OC: number, options: { inputGradient?: boolean; accumulate?: boolean } = {}): void {
    if (options.inputGradient ?? true) this.frozenBackwardInput(dx, dy, this.frozen.matrixBackward(l, loraInputs[target]), N, C, OC, options.accumulate ?? true);
    const pair = this.lora?.layers[l].get(target);
    if (!pair || !this.lora) return;
    const branch = this.acts!.layers[l].lora.get(target)!;
    loraBackward(this.kernels, dx, dy, x, pair, branch, this.scratch!.lora, N, this.lora.config.rank, this.lora.scale, this.batch!.dropout);
  }

  /** LoRA dropout applies only in training mode (inverted dropout: nothing to rescale at eval). */
  private activeDropout(): number {
    return this.training && this.lora && this.adapterEnabled ? this.lora.config.dropout : 0;
  }

  private ensureActivations(B: number, T: number): Activations {
    if (!this.acts || this.acts.B !== B || this.acts.T !== T) {
      this.acts = allocateActivations(this.config, this.lora?.config ?? null, B, T, this.checkpointActivations, this.kernels.allocateResident?.bind(this.kernels));
      this.scratch = null;
      const { ropeDim, ropeTheta, ropeFreqScale } = this.config;
      ropeTables(this.acts.ropeCos, this.acts.ropeSin, T, ropeDim, ropeTheta, ropeFreqScale);
    }
    return this.acts;
  }

  private ensureScratch(B: number, T: number): GradientScratch {
    this.scratch ??= allocateGradientScratch(this.config, this.lora?.config ?? null, B, T, this.kernels.allocateResident?.bind(this.kernels));
    return this.scratch;
  }

  private onesMask(N: number): Uint8Array {
    if (this.allOnes.length < N) this.allOnes = new Uint8Array(N).fill(1);
    return this.allOnes;
  }

  private validateBatch(batch: Batch, B: number, T: number): void {
    if (!Number.isInteger(B) || B < 1) throw new InvalidArgumentError("B", `batch size must be a positive integer, got ${B}`);
    if (!Number.isInteger(T) || T < 1) throw new InvalidArgumentError("T", `sequence length must be a positive integer, got ${T}`);
    const N = B * T;
    const V = this.config.vocabSize;
    const check = (name: string, ids: Int32Array | undefined) => {
      if (!ids) return;
      if (ids.length !== N) throw new InvalidArgumentError(name, `${name} has ${ids.length} entries, expected B*T = ${N}`);
      for (let i = 0; i < N; i++) {
        if (ids[i] < 0 || ids[i] >= V) throw new InvalidArgumentError(`${name}[${i}]`, `${name}[${i}] = ${ids[i]} is outside the vocabulary [0, ${V})`);
      }
    };
    check("tokens", batch.tokens);
    check("targets", batch.targets);
    if (batch.lossMask && batch.lossMask.length !== N) throw new InvalidArgumentError("lossMask", `lossMask has ${batch.lossMask.length} entries, expected B*T = ${N}`);
  }
}
