import type { AttentionShape } from "../reference/attention.js";
import type { KernelHelper } from "./kernel-helper.js";
import { attentionBackwardFast, attentionForwardFast } from "./attention-fast.js";
import { ParallelAttention } from "./parallel-attention.js";
import { SimdAttentionThread } from "./attention-simd.js";
import { ResidentAttention } from "./attention-resident.js";
import type { KernelWorkspace } from "./workspace.js";

// A fast set's attention: on two threads when the set has them and it pays, one thread otherwise;
// WebAssembly SIMD kernels where they apply (head size a multiple of 4), the generated JS kernels
// otherwise. CAMELID_ENGINE_ATTENTION=js keeps the JS kernels everywhere (an escape hatch, and the
// same-tree reference for benchmarks).
// When every operand of a call lives in the set's workspace (where the model keeps its activations
// and gradient scratch) the kernels run there in place, nothing copied (./attention-resident.ts).

const simdAllowed = () => process.env.CAMELID_ENGINE_ATTENTION !== "js";

export class FastAttention {
  private readonly simd = simdAllowed();
  private readonly oneThread = new SimdAttentionThread();
  private readonly resident: ResidentAttention | null;
  private threadsInstance: ParallelAttention | null | undefined;

  constructor(
    workspace: KernelWorkspace | null,
    /** The set's one helper thread; null: the set runs on one thread. */
    private readonly helper: KernelHelper | null,
  ) {
    this.resident = workspace && this.simd ? new ResidentAttention(workspace) : null;
  }

  forward(out: Float32Array, att: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape): void {
    if (this.runResident(shape, [out, att, q, k, v], true)) return;
    const threads = this.parallelFor(shape, [out, att, q, k, v]);
    if (threads) threads.forward(out, att, q, k, v, shape);
    else if (!this.simd || !this.oneThread.forward(out, att, q, k, v, shape)) attentionForwardFast(out, att, q, k, v, shape);
  }

  backward(dq: Float32Array, dk: Float32Array, dv: Float32Array, scratch: Float32Array, dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, att: Float32Array, shape: AttentionShape): void {
    if (this.runResident(shape, [dq, dk, dv, dout, q, k, v, att], false)) return;
    const threads = this.parallelFor(shape, [dq, dk, dv, dout, q, k, v, att]);
    if (threads) threads.backward(dq, dk, dv, scratch, dout, q, k, v, att, shape);
    else if (!this.simd || !this.oneThread.backward(dq, dk, dv, dout, q, k, v, att, shape)) attentionBackwardFast(dq, dk, dv, scratch, dout, q, k, v, att, shape);
  }

  /** Stops the helper thread and gives the in-place scratch back. */
  dispose(): void {
    this.threadsInstance?.dispose();
    this.threadsInstance = null;
    this.resident?.dispose();
  }

  /**
   * The two-thread attention when it applies: two threads in the set, at least two units to split,
   * enough work to pay for the hand-over, and every operand in shared memory.
   */
  private parallelFor(shape: AttentionShape, arrays: Float32Array[]): ParallelAttention | null {
    const { B, T, NKV, NH, HS } = shape;
    if (!this.helper || B * NKV < 2 || B * NH * T * T * HS < 1 << 16 || !ParallelAttention.canShare(...arrays)) return null;
    this.threadsInstance ??= new ParallelAttention({ simd: this.simd }, this.helper);
    return this.threadsInstance;
  }

  /** Runs the call in place (on two threads when they pay) when every operand is in the workspace; false when it cannot. */
  private runResident(shape: AttentionShape, arrays: Float32Array[], forward: boolean): boolean {
    const resident = this.resident;
    const at = resident && ResidentAttention.applies(shape) ? resident.addresses(arrays) : null;
    if (!at || !resident) return false;
    const threads = this.parallelFor(shape, arrays);
    if (threads) return forward ? threads.forwardResident(resident, at, shape) : threads.backwardResident(resident, at, shape);
    return forward ? resident.forward(at, shape) : resident.backward(at, shape);
  }
}
