import { crossEntropyBackward, crossEntropyForward } from "../reference/cross-entropy.js";
import type { KernelHelper } from "./kernel-helper.js";
import { rmsnormBackward, rmsnormForward } from "../reference/rmsnorm.js";
import { ropeBackward, ropeForward } from "../reference/rope.js";
import { swigluBackward, swigluForward } from "../reference/swiglu.js";
import { ParallelPointwise } from "./parallel-pointwise.js";
import { PointwiseSimd } from "./pointwise-runner.js";
import { pointwiseSimdAvailable } from "./pointwise-simd.js";
import type { KernelWorkspace } from "./workspace.js";

// A fast set's element-wise kernels (softmax cross-entropy over the vocabulary, SwiGLU, RMSNorm, RoPE):
// WebAssembly SIMD with a vectorised exp, in place on operands in the set's workspace, on two threads
// when the set has them; the JS reference kernels where WebAssembly SIMD is missing.

export class FastPointwise {
  private instance: PointwiseSimd | null | undefined;

  constructor(
    private readonly workspace: KernelWorkspace | null,
    /** The set's one helper thread; null: the set runs on one thread. */
    private readonly helper: KernelHelper | null,
  ) {}

  /** The SIMD kernels, created on first use and given the workspace to run in place in; null without WebAssembly SIMD. */
  private get kernels(): PointwiseSimd | null {
    if (this.instance === undefined) {
      this.instance = !pointwiseSimdAvailable() ? null : this.helper ? new ParallelPointwise({}, this.helper) : new PointwiseSimd();
      this.instance?.useResidentMemory(this.workspace);
    }
    return this.instance;
  }

  crossEntropyForward(losses: Float32Array, probs: Float32Array, logits: Float32Array, targets: Int32Array, mask: Uint8Array, N: number, V: number): number {
    const kernels = this.kernels;
    return kernels ? kernels.crossEntropyForward(losses, probs, logits, targets, mask, N, V) : crossEntropyForward(losses, probs, logits, targets, mask, N, V);
  }

  crossEntropyBackward(dlogits: Float32Array, probs: Float32Array, targets: Int32Array, mask: Uint8Array, N: number, V: number): void {
    const kernels = this.kernels;
    if (kernels) kernels.crossEntropyBackward(dlogits, probs, targets, mask, N, V);
    else crossEntropyBackward(dlogits, probs, targets, mask, N, V);
  }

  /**
   * crossEntropyBackwardWeighted on the SIMD backward: with every row counted it gives (probs - onehot) / N,
   * then each row is scaled to its own weight.
   */
  crossEntropyBackwardWeighted(dlogits: Float32Array, probs: Float32Array, targets: Int32Array, weights: Float32Array, N: number, V: number): void {
    this.crossEntropyBackward(dlogits, probs, targets, new Uint8Array(N).fill(1), N, V);
    for (let n = 0; n < N; n++) {
      const row = n * V, scale = weights[n] * N;
      for (let v = 0; v < V; v++) dlogits[row + v] *= scale;
    }
  }

  /**
   * crossEntropyForward then crossEntropyBackward as one pass (writes the loss gradient, never the
   * probabilities): half the memory traffic over the [N, V] logits. What a training step calls
   * instead of the two.
   */
  crossEntropyForwardBackward(losses: Float32Array, dlogits: Float32Array, logits: Float32Array, targets: Int32Array, mask: Uint8Array, N: number, V: number): number {
    const kernels = this.kernels;
    if (kernels) return kernels.crossEntropyForwardBackward(losses, dlogits, logits, targets, mask, N, V);
    const loss = crossEntropyForward(losses, dlogits, logits, targets, mask, N, V);
    crossEntropyBackward(dlogits, dlogits, targets, mask, N, V);
    return loss;
  }

  swigluForward(out: Float32Array, gate: Float32Array, up: Float32Array, size: number): void {
    const kernels = this.kernels;
    if (kernels) kernels.swigluForward(out, gate, up, size);
    else swigluForward(out, gate, up, size);
  }

  swigluBackward(dgate: Float32Array, dup: Float32Array, dout: Float32Array, gate: Float32Array, up: Float32Array, size: number): void {
    const kernels = this.kernels;
    if (kernels) kernels.swigluBackward(dgate, dup, dout, gate, up, size);
    else swigluBackward(dgate, dup, dout, gate, up, size);
  }

  swigluBackwardOverwrite(dgate: Float32Array, dup: Float32Array, dout: Float32Array, gate: Float32Array, up: Float32Array, size: number): void {
    const kernels = this.kernels;
    if (kernels) return kernels.swigluBackwardOverwrite(dgate, dup, dout, gate, up, size);
    dgate.fill(0, 0, size);
    dup.fill(0, 0, size);
    swigluBackward(dgate, dup, dout, gate, up, size);
  }

  rmsnormForward(out: Float32Array, rstd: Float32Array, inp: Float32Array, weight: Float32Array, N: number, C: number, eps: number): void {
    const kernels = this.kernels;
    if (kernels) kernels.rmsnormForward(out, rstd, inp, weight, N, C, eps);
    else rmsnormForward(out, rstd, inp, weight, N, C, eps);
  }

  rmsnormBackward(dinp: Float32Array, dweight: Float32Array | null, dout: Float32Array, inp: Float32Array, weight: Float32Array, rstd: Float32Array, N: number, C: number): void {
    const kernels = this.kernels;
    if (kernels) kernels.rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C);
    else rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C);
  }

  ropeForward(out: Float32Array, inp: Float32Array, cos: Float32Array, sin: Float32Array, B: number, T: number, nHeads: number, headSize: number, nRot: number): void {
    const kernels = this.kernels;
    if (kernels) kernels.ropeForward(out, inp, cos, sin, B, T, nHeads, headSize, nRot);
    else ropeForward(out, inp, cos, sin, B, T, nHeads, headSize, nRot);
  }

  ropeBackward(dinp: Float32Array, dout: Float32Array, cos: Float32Array, sin: Float32Array, B: number, T: number, nHeads: number, headSize: number, nRot: number): void {
    const kernels = this.kernels;
    if (kernels) kernels.ropeBackward(dinp, dout, cos, sin, B, T, nHeads, headSize, nRot);
    else ropeBackward(dinp, dout, cos, sin, B, T, nHeads, headSize, nRot);
  }

  /** Gives the in-place scratch back and stops the helper thread. */
  dispose(): void {
    this.instance?.dispose();
    this.instance = null;
  }
}
