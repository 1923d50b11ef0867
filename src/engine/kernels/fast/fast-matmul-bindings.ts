import { transposeInto } from "../reference/matmul.js";
import type { KernelHelper } from "./kernel-helper.js";
import { matmulBackwardInputFast, matmulBackwardWeightFast, matmulForwardFast } from "./matmul-fast.js";
import { SimdMatmul, simdAvailable } from "./matmul-simd.js";
import { ParallelSimdMatmul } from "./parallel-matmul.js";
import type { KernelWorkspace } from "./workspace.js";

// A fast set's matmuls: WebAssembly SIMD in the set's workspace (on two threads when the set has
// them), the blocked JS loops where WebAssembly SIMD is missing.

/** Grows a scratch array to at least `size` floats (reused between calls). */
function scratch(current: Float32Array, size: number): Float32Array {
  return current.length >= size ? current : new Float32Array(size);
}

export class FastMatmuls {
  private kernelInstance: SimdMatmul | null | undefined;
  // Transposed operands and a result for the LoRA weight gradients, grown as needed and reused.
  private transposedOperand: Float32Array = new Float32Array(0);
  private transposedResult: Float32Array = new Float32Array(0);

  constructor(
    private readonly workspace: KernelWorkspace | null,
    /** The set's one helper thread; null: the set runs on one thread. */
    private readonly helper: KernelHelper | null,
  ) {}

  /** The SIMD kernel on the workspace, created on first use; null where WebAssembly SIMD is missing. */
  private get kernel(): SimdMatmul | null {
    if (this.kernelInstance === undefined) {
      if (!simdAvailable()) this.kernelInstance = null;
      else if (this.helper && this.workspace) this.kernelInstance = new ParallelSimdMatmul({}, this.workspace, this.helper);
      else this.kernelInstance = new SimdMatmul({}, this.workspace ?? undefined);
    }
    return this.kernelInstance;
  }

  forward(out: Float32Array, inp: Float32Array, weight: Float32Array, N: number, C: number, OC: number, accumulate?: boolean, frozen?: boolean): void {
    const kernel = this.kernel;
    if (kernel) kernel.forward(out, inp, weight, N, C, OC, accumulate, frozen);
    else matmulForwardFast(out, inp, weight, N, C, OC, accumulate);
  }

  /**
   * dweight[OC, C] += dout[N, OC]^T @ inp[N, C] on the SIMD matmul, the reduction over the batch N
   * running along contiguous memory. Whichever of dout, inp is wider is packed from its stored layout,
   * and only the narrow one (a LoRA rank wide) is transposed: for a LoRA B (C = rank) the kernel
   * computes dweight^T[C, OC] = inp^T @ dout and adds it back transposed (C * OC floats); for a LoRA A
   * (OC = rank) it computes doutT[OC, N] @ (inp^T)^T straight into dweight.
   */
  backwardWeight(dweight: Float32Array, dout: Float32Array, inp: Float32Array, N: number, C: number, OC: number): void {
    const kernel = this.kernel;
    if (!kernel) return matmulBackwardWeightFast(dweight, dout, inp, N, C, OC);
    if (OC > C) {
      this.transposedOperand = scratch(this.transposedOperand, N * C);
      transposeInto(this.transposedOperand, inp, N, C);
      this.transposedResult = scratch(this.transposedResult, C * OC);
      const result = this.transposedResult.subarray(0, C * OC).fill(0);
      kernel.backwardInput(result, this.transposedOperand, dout, C, OC, N);
      for (let c = 0; c < C; c++) for (let o = 0; o < OC; o++) dweight[o * C + c] += result[c * OC + o];
      return;
    }
    this.transposedOperand = scratch(this.transposedOperand, N * OC);
    transposeInto(this.transposedOperand, dout, N, OC);
    kernel.backwardInput(dweight, this.transposedOperand, inp, OC, C, N);
  }

  /** dinp[N, C] += dout[N, OC] @ weight[OC, C] for a small, changing weight (a LoRA A). */
  backwardInput(dinp: Float32Array, dout: Float32Array, weight: Float32Array, N: number, C: number, OC: number): void {
    const kernel = this.kernel;
    if (kernel) kernel.backwardInput(dinp, dout, weight, N, C, OC);
    else matmulBackwardInputFast(dinp, dout, weight, N, C, OC);
  }

  /** dinp[N, C] (+)= dout[N, OC] @ weight[OC, C] for a frozen weight: its packed panels are kept. */
  backwardInputFrozen(dinp: Float32Array, dout: Float32Array, weight: Float32Array, N: number, C: number, OC: number, accumulate = true): void {
    const kernel = this.kernel;
    if (kernel) return kernel.backwardInput(dinp, dout, weight, N, C, OC, true, accumulate);
    if (!accumulate) dinp.fill(0, 0, N * C);
    matmulBackwardInputFast(dinp, dout, weight, N, C, OC);
  }

  /** Bytes of frozen-weight panels this set's SIMD matmul keeps. */
  get keptWeightBytes(): number {
    return this.kernelInstance?.keptWeightBytes ?? 0;
  }

  /** A buffer in the workspace, which the matmuls read and write in place (see SimdMatmul.allocateResident). */
  allocateResident(floats: number): Float32Array | null {
    return this.kernel?.allocateResident(floats) ?? null;
  }

  freeResident(array: Float32Array): void {
    this.kernelInstance?.freeResident(array);
  }

  releasePanels(buffer: ArrayBufferLike): void {
    this.kernelInstance?.releasePanels(buffer);
  }

  /** Gives the panels and scratch back and stops the helper thread. */
  dispose(): void {
    this.kernelInstance?.dispose();
    this.kernelInstance = null;
  }
}
