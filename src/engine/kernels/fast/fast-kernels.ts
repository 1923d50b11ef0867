import { CamelidError } from "../../../errors/index.js";
import type { KernelSet } from "../kernel-set.js";
import { engineThreads } from "./engine-threads.js";
import { FastAttention } from "./fast-attention-bindings.js";
import { FastMatmuls } from "./fast-matmul-bindings.js";
import { FastPointwise } from "./fast-pointwise-bindings.js";
import { KernelHelper } from "./kernel-helper.js";
import { threadsAvailable } from "./parallel-matmul.js";
import { KernelWorkspace } from "./workspace.js";

// The fast kernel set as an object: its own WebAssembly workspace (where the model's activations,
// gradient scratch and logits live, beside the packed panels of frozen weights it keeps), its own
// helper thread (one, for every kernel family), its own budgets. Nothing is registered anywhere: two sets in one process (two models,
// or a set on one thread beside one on two) share nothing, and dispose() gives everything back.

export interface FastKernelOptions {
  /** 1 or 2 threads; default two unless CAMELID_ENGINE_THREADS=1, the machine has one core, or shared memory is missing. */
  threads?: number;
  /**
   * false: hand out no buffers in the workspace (allocateResident gives null), so a model keeps its
   * activations outside it and every kernel copies its operands in: the copying path, for tests and
   * benchmarks that compare the two.
   */
  inPlace?: boolean;
}

/** A kernel set used after dispose(). */
export class KernelSetDisposedError extends CamelidError {
  readonly code = "engine_kernels_disposed";
}

export class FastKernels implements KernelSet {
  readonly name = "fast";
  readonly threads: 1 | 2;
  /** Where in-place operands live; null where shared WebAssembly memory is missing (every operand is then copied). */
  readonly workspace: KernelWorkspace | null;
  private readonly inPlace: boolean;
  private readonly matmuls: FastMatmuls;
  private readonly attention: FastAttention;
  private readonly pointwise: FastPointwise;
  /** The one helper thread every family's jobs run on (started on the first job); null on one thread. */
  private readonly helper: KernelHelper | null;
  private disposed = false;

  constructor(options: FastKernelOptions = {}) {
    const shared = threadsAvailable();
    this.threads = options.threads === 1 || !shared ? 1 : options.threads === 2 ? 2 : (engineThreads() as 1 | 2);
    this.inPlace = options.inPlace ?? true;
    this.workspace = shared ? new KernelWorkspace({ shared: true }) : null;
    this.helper = this.threads === 2 ? new KernelHelper() : null;
    this.matmuls = new FastMatmuls(this.workspace, this.helper);
    this.attention = new FastAttention(this.workspace, this.helper);
    this.pointwise = new FastPointwise(this.workspace, this.helper);
  }

  matmulForward: KernelSet["matmulForward"] = (...args) => (this.check(), this.matmuls.forward(...args));
  matmulBackwardInputFrozen: KernelSet["matmulBackwardInputFrozen"] = (...args) => (this.check(), this.matmuls.backwardInputFrozen(...args));
  matmulBackwardInput: KernelSet["matmulBackwardInput"] = (...args) => (this.check(), this.matmuls.backwardInput(...args));
  matmulBackwardWeight: KernelSet["matmulBackwardWeight"] = (...args) => (this.check(), this.matmuls.backwardWeight(...args));
  attentionForward: KernelSet["attentionForward"] = (...args) => (this.check(), this.attention.forward(...args));
  attentionBackward: KernelSet["attentionBackward"] = (...args) => (this.check(), this.attention.backward(...args));
  crossEntropyForward: KernelSet["crossEntropyForward"] = (...args) => (this.check(), this.pointwise.crossEntropyForward(...args));
  crossEntropyBackward: KernelSet["crossEntropyBackward"] = (...args) => (this.check(), this.pointwise.crossEntropyBackward(...args));
  crossEntropyForwardBackward: KernelSet["crossEntropyForwardBackward"] = (...args) => (this.check(), this.pointwise.crossEntropyForwardBackward(...args));
  crossEntropyBackwardWeighted: KernelSet["crossEntropyBackwardWeighted"] = (...args) => (this.check(), this.pointwise.crossEntropyBackwardWeighted(...args));
  swigluForward: KernelSet["swigluForward"] = (...args) => (this.check(), this.pointwise.swigluForward(...args));
  swigluBackward: KernelSet["swigluBackward"] = (...args) => (this.check(), this.pointwise.swigluBackward(...args));
  swigluBackwardOverwrite: KernelSet["swigluBackwardOverwrite"] = (...args) => (this.check(), this.pointwise.swigluBackwardOverwrite(...args));
  rmsnormForward: KernelSet["rmsnormForward"] = (...args) => (this.check(), this.pointwise.rmsnormForward(...args));
  rmsnormBackward: KernelSet["rmsnormBackward"] = (...args) => (this.check(), this.pointwise.rmsnormBackward(...args));
  ropeForward: KernelSet["ropeForward"] = (...args) => (this.check(), this.pointwise.ropeForward(...args));
  ropeBackward: KernelSet["ropeBackward"] = (...args) => (this.check(), this.pointwise.ropeBackward(...args));

  // Every member is an own property (arrow functions bound to this set), so `{ ...set, one: override }`
  // makes a set that differs in one kernel and still allocates from, and disposes, this one.

  /** Zeroed floats in the workspace, which every kernel of this set uses in place; null when there is none or no room. */
  allocateResident = (floats: number): Float32Array | null => {
    this.check();
    return this.inPlace ? this.matmuls.allocateResident(floats) : null;
  };

  /** Gives a buffer from allocateResident back (arrays that live elsewhere are ignored). */
  freeResident = (array: Float32Array): void => {
    if (!this.disposed) this.matmuls.freeResident(array);
  };

  /** Bytes of the packed panels of frozen weights this set keeps (its own, not the process's). */
  keptWeightBytes = (): number => (this.disposed ? 0 : this.matmuls.keptWeightBytes);

  /** Gives back the packed panels of frozen weights that view `buffer` (a model done with its weights). */
  releaseWeights = (buffer: ArrayBufferLike): void => {
    if (!this.disposed) this.matmuls.releasePanels(buffer);
  };

  /** Helper threads this set has started: at most one, whatever kernels it ran (0 before its first two-thread job, or on one thread). */
  helperThreads = (): number => this.helper?.workersStarted ?? 0;

  /** Whether the set's helper thread is stopped (true once disposed). */
  helperStopped = (): boolean => this.helper?.isStopped ?? true;

  /** Stops the helper thread and gives the workspace's blocks back; the set cannot be used afterwards. */
  dispose = (): void => {
    if (this.disposed) return;
    this.disposed = true;
    this.matmuls.dispose();
    this.attention.dispose();
    this.pointwise.dispose();
    this.helper?.dispose();
  };

  private check(): void {
    if (this.disposed) throw new KernelSetDisposedError("this kernel set was disposed; create a new one (createFastKernels)");
  }
}

/** A fast kernel set of its own for a caller (a model), with its own workspace and one helper thread. */
export function createFastKernels(options: FastKernelOptions = {}): FastKernels {
  return new FastKernels(options);
}
