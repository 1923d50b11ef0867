import { IDLE, JOB, RUNNING } from "./helper-loop.js";
import {
  POINTWISE_ARRAY_COUNT as ARRAY_COUNT, POINTWISE_ARRAY_TYPES as ARRAY_TYPES, POINTWISE_FACTOR as FACTOR, POINTWISE_HELPER_UNITS as HELPER_UNITS, POINTWISE_JOB,
  POINTWISE_KIND as KIND, POINTWISE_MAX_ARRAYS as MAX_ARRAYS, POINTWISE_NEXT_UNIT as NEXT_UNIT, POINTWISE_PARAM_COUNT as PARAM_COUNT, POINTWISE_PARAMS as PARAMS,
  POINTWISE_SLOTS_BYTE as SLOTS_BYTE, POINTWISE_UNITS as UNITS,
} from "./helper-jobs.js";
import { KernelHelper } from "./kernel-helper.js";
import { CamelidError } from "../../../errors/index.js";
import type { ResidentMemory } from "./resident-memory.js";
import { PointwiseSimd, type SharedArray } from "./pointwise-runner.js";

// The element-wise SIMD kernels on two threads: this thread and the kernel set's one helper thread
// (./kernel-helper.ts, given by the set; an object run alone makes its own) take units of a job
// (blocks of softmax rows, chunks of SwiGLU elements) from a shared atomic counter, each copying its
// units through its own WebAssembly memory, so a thread slowed by another process takes fewer. The
// operands must live in SharedArrayBuffers (the model's activations and gradient scratch do), so the
// helper reads and writes them in place; the row statistics and mask copy are shared memory of ours.
// Buffers are posted to the helper once and named in a job as (id, byte offset, length, type) in the
// pointwise region of the helper's shared buffer (./helper-jobs.ts), whose control word hands jobs over
// with Atomics: the helper claims a job (job -> running) before touching
// it, so when this thread has run every unit before the helper woke (a busy machine can keep it asleep
// for a time slice), it withdraws the job (job -> idle) instead of waiting for the helper to wake.
// In-place jobs (operands in the registered shared memory, ./pointwise-resident-units.ts) name no
// arrays, only addresses: the helper gets the pointwise module compiled for that memory and the memory
// itself when one is registered, and runs their units on an instance of its own, as the matmul's does.

/**
 * Below this many elements (about a millisecond of work) one thread: waking the helper costs tens of
 * microseconds on an idle machine and can cost a scheduler time slice on a busy one.
 */
const MIN_PARALLEL_ELEMENTS = 1 << 20;
/** How long a job that only the helper runs may wait for the helper to claim it. */
const HELPER_START_LIMIT_MS = 20_000;

/** The helper thread threw (a bug, not bad input: arguments are checked before a job starts). */
export class PointwiseHelperError extends CamelidError {
  readonly code = "engine_helper_failed";
}

export class ParallelPointwise extends PointwiseSimd {
  private readonly helper: KernelHelper;
  /** Whether the helper is this object's own (run alone) rather than its kernel set's. */
  private readonly ownHelper: boolean;
  private readonly control: Int32Array;
  private readonly controlFloats: Float32Array;
  private readonly slots: Float64Array;

  private readonly minParallelElements: number;
  private readonly helperRunsEveryUnit: boolean;

  /**
   * minParallelElements: jobs smaller than this run on this thread alone. helperRunsEveryUnit: this
   * thread only waits, so a test checks the helper's copy of the code on every unit.
   */
  constructor(options: { minParallelElements?: number; helperRunsEveryUnit?: boolean } = {}, helper?: KernelHelper) {
    super();
    this.minParallelElements = options.minParallelElements ?? MIN_PARALLEL_ELEMENTS;
    this.helperRunsEveryUnit = options.helperRunsEveryUnit ?? false;
    this.ownHelper = !helper;
    this.helper = helper ?? new KernelHelper();
    this.control = this.helper.region(POINTWISE_JOB);
    this.controlFloats = new Float32Array(this.control.buffer, this.control.byteOffset, this.control.length);
    this.slots = new Float64Array(this.control.buffer, this.control.byteOffset + SLOTS_BYTE, 4 * MAX_ARRAYS);
    this.helper.post({ family: POINTWISE_JOB, module: this.module });
  }

  /** Why the helper thread stopped, if it did; jobs then run on this thread alone. */
  get helperFailure(): Error | undefined {
    return this.helper.failure;
  }

  /** Units of the last job the helper thread ran (0 when it ran on this thread alone): for tests. */
  get helperUnitsOfLastJob(): number {
    return Atomics.load(this.control, HELPER_UNITS);
  }

  /** Stops its own helper thread (tests; a process exit stops it anyway). */
  async close(): Promise<void> {
    if (this.ownHelper) await this.helper.close();
  }

  /** Gives the in-place scratch back and stops its own helper thread at once (a kernel set's helper is the set's to stop). */
  override dispose(): void {
    super.dispose();
    if (this.ownHelper) this.helper.dispose();
  }

  /** Registers the memory on this thread, then hands the helper the module compiled for it and the memory (null: none). */
  override useResidentMemory(memory: ResidentMemory | null): void {
    super.useResidentMemory(memory);
    this.helper.post({ family: POINTWISE_JOB, resident: this.resident && { module: this.resident.module, memory: this.resident.resident.memory } });
  }

  /** A shared copy of a small operand that is not in shared memory (a norm weight), so the helper reads it too. */
  protected override shareable(array: Float32Array, size: number): Float32Array {
    if (array.buffer instanceof SharedArrayBuffer) return array;
    if (this.smallOperand.length < size) this.smallOperand = new Float32Array(new SharedArrayBuffer(size * 4));
    const copy = this.smallOperand.subarray(0, size);
    copy.set(array.subarray(0, size));
    return copy;
  }
  private smallOperand: Float32Array = new Float32Array(0);

  protected override allocateRows(N: number): { stats: Float64Array; mask: Uint8Array } {
    const buffer = new SharedArrayBuffer(16 * N + N);
    return { stats: new Float64Array(buffer, 0, 2 * N), mask: new Uint8Array(buffer, 16 * N, N) };
  }

  protected override run(kind: number, arrays: SharedArray[], params: number[], factor: number, units: number, elements: number): void {
    const word = this.control;
    word[HELPER_UNITS] = 0;
    const shared = arrays.every((a) => a.buffer instanceof SharedArrayBuffer);
    if (this.helperFailure && this.helperRunsEveryUnit) throw new PointwiseHelperError("the pointwise helper thread stopped", { cause: this.helperFailure });
    if (units < 2 || elements < this.minParallelElements || !shared || arrays.length > MAX_ARRAYS || this.helperFailure) return super.run(kind, arrays, params, factor, units, elements);
    word[KIND] = kind;
    word[NEXT_UNIT] = 0;
    word[UNITS] = units;
    for (let i = 0; i < PARAM_COUNT; i++) word[PARAMS + i] = params[i] ?? 0;
    this.controlFloats[FACTOR] = factor;
    word[ARRAY_COUNT] = arrays.length;
    arrays.forEach((array, slot) => {
      const at = slot * 4;
      this.slots[at] = this.helper.buffers.idOf(array.buffer as SharedArrayBuffer);
      this.slots[at + 1] = array.byteOffset;
      this.slots[at + 2] = array.length;
      this.slots[at + 3] = ARRAY_TYPES.findIndex((type) => array instanceof type);
    });
    this.helper.start(POINTWISE_JOB);
    // the same float32 factor the helper reads
    const ownFactor = this.controlFloats[FACTOR];
    if (!this.helperRunsEveryUnit) {
      for (let unit = Atomics.add(word, NEXT_UNIT, 1); unit < units; unit = Atomics.add(word, NEXT_UNIT, 1)) this.runUnit(kind, arrays, params, ownFactor, unit);
      if (this.helper.withdraw()) return; // the helper never started
    }
    const waitingSince = performance.now();
    const state = this.helper.control;
    for (let now = Atomics.load(state, 0); now === JOB || now === RUNNING; now = Atomics.load(state, 0)) {
      // a helper that never claims the job (it failed to start) must not hang this thread
      if (now === JOB && performance.now() - waitingSince > HELPER_START_LIMIT_MS && Atomics.compareExchange(state, 0, JOB, IDLE) === JOB) {
        throw new PointwiseHelperError(`the pointwise helper thread did not take a job within ${HELPER_START_LIMIT_MS / 1000} s`);
      }
      Atomics.wait(state, 0, now, 1000);
    }
    const failure = this.helper.failed();
    if (failure !== null) throw new PointwiseHelperError(`the pointwise helper thread failed: ${failure}`);
  }
}
