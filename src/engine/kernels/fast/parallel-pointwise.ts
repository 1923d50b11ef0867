import { receiveMessageOnPort, MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import { FAILED, helperLoopSource, IDLE, JOB, RUNNING, stopHelperOf, stopHelperWhenCollected } from "./helper-loop.js";
import { PostedBuffers } from "./posted-buffers.js";
import { createPointwiseWorkspace, reserveWorkspace, rmsnormBackwardBlock, rmsnormForwardBlock, ropeBlock, runPointwiseUnit, scaleBlock, softmaxBlock, swigluBackwardBlock, swigluForwardBlock } from "./pointwise-blocks.js";
import { CamelidError } from "../../../errors/index.js";
import type { ResidentMemory } from "./resident-memory.js";
import { isResidentKind, runResidentUnit } from "./pointwise-resident-units.js";
import { PointwiseSimd, type SharedArray } from "./pointwise-runner.js";

// The element-wise SIMD kernels on two threads: this thread and one helper worker take units of a job
// (blocks of softmax rows, chunks of SwiGLU elements) from a shared atomic counter, each copying its
// units through its own WebAssembly memory, so a thread slowed by another process takes fewer. The
// operands must live in SharedArrayBuffers (the model's activations and gradient scratch do), so the
// helper reads and writes them in place; the row statistics and mask copy are shared memory of ours.
// Buffers are posted to the helper once and named in a job as (id, byte offset, length, type); a
// control word (0 idle, 1 job, 2 quit, 3 failed, 4 running) hands jobs over with Atomics, as in
// ./parallel-matmul.ts, with one difference: the helper claims a job (job -> running) before touching
// it, so when this thread has run every unit before the helper woke (a busy machine can keep it asleep
// for a time slice), it withdraws the job (job -> idle) instead of waiting for the helper to wake.
// In-place jobs (operands in the registered shared memory, ./pointwise-resident-units.ts) name no
// arrays, only addresses: the helper gets the pointwise module compiled for that memory and the memory
// itself when one is registered, and runs their units on an instance of its own, as the matmul's does.

// control words (int32): state, kind, next unit, units, params[8], factor (float bits), array count, units
// the helper ran; then, from byte SLOTS_BYTE, the arrays as float64 (id, byte offset, length, type), as
// offsets into a large model's activations pass 2^31 (addresses in the registered memory, which is at
// most 2 GiB, fit the int32 params)
const KIND = 1, NEXT_UNIT = 2, UNITS = 3, PARAMS = 4, PARAM_COUNT = 8, FACTOR = 12, ARRAY_COUNT = 13, HELPER_UNITS = 14, SLOTS_BYTE = 64, MAX_ARRAYS = 6;
const ARRAY_TYPES = [Float32Array, Uint8Array, Float64Array];
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

// Plain CommonJS for `eval: true`; the unit functions arrive as source text so both threads run one code.
const helperSource = `
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const { control, port, module, source } = workerData;
const { createPointwiseWorkspace, runPointwiseUnit, isResidentKind, runResidentUnit } = new Function(source + "\\nreturn { createPointwiseWorkspace, runPointwiseUnit, isResidentKind, runResidentUnit };")();
const workspace = createPointwiseWorkspace(module);
let resident = null;
const word = new Int32Array(control), float = new Float32Array(control), slots = new Float64Array(control, ${SLOTS_BYTE});
const types = [Float32Array, Uint8Array, Float64Array];
const buffers = new Map();
function drain() {
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
    if (m.message.forget !== undefined) buffers.delete(m.message.forget);
    else if (m.message.resident !== undefined) resident = m.message.resident && { exports: new WebAssembly.Instance(m.message.resident.module, { env: { memory: m.message.resident.memory } }).exports, memory: m.message.resident.memory };
    else buffers.set(m.message.id, m.message.buffer);
  }
}
function view(slot) {
  const at = slot * 4;
  const buffer = buffers.get(slots[at]);
  if (!buffer) throw new Error("pointwise helper: unknown buffer " + slots[at]);
  return new types[slots[at + 3]](buffer, slots[at + 1], slots[at + 2]);
}
${helperLoopSource(`    drain();
    const arrays = [];
    for (let slot = 0; slot < word[${ARRAY_COUNT}]; slot++) arrays.push(view(slot));
    const kind = word[${KIND}], units = word[${UNITS}], factor = float[${FACTOR}];
    const params = word.slice(${PARAMS}, ${PARAMS + PARAM_COUNT});
    let done = 0;
    const inPlace = isResidentKind(kind);
    if (inPlace && !resident) throw new Error("pointwise helper: an in-place job but no registered memory");
    for (let u = Atomics.add(word, ${NEXT_UNIT}, 1); u < units; u = Atomics.add(word, ${NEXT_UNIT}, 1)) {
      if (inPlace) runResidentUnit(resident, kind, params, factor, u);
      else runPointwiseUnit(workspace, kind, arrays, params, factor, u);
      done++;
    }
    word[${HELPER_UNITS}] = done;`, `    port.postMessage({ error: String((error && error.stack) || error) });`)}
`;

export class ParallelPointwise extends PointwiseSimd {
  private readonly control = new Int32Array(new SharedArrayBuffer(SLOTS_BYTE + 8 * 4 * MAX_ARRAYS));
  private readonly controlFloats = new Float32Array(this.control.buffer);
  private readonly slots = new Float64Array(this.control.buffer, SLOTS_BYTE);
  private readonly port: MessagePort;
  private readonly worker: Worker;
  /** Buffers posted to the helper, each once. */
  private readonly buffers: PostedBuffers;

  private readonly minParallelElements: number;
  private readonly helperRunsEveryUnit: boolean;

  /**
   * minParallelElements: jobs smaller than this run on this thread alone. helperRunsEveryUnit: this
   * thread only waits, so a test checks the helper's copy of the code on every unit.
   */
  constructor(options: { minParallelElements?: number; helperRunsEveryUnit?: boolean } = {}) {
    super();
    this.minParallelElements = options.minParallelElements ?? MIN_PARALLEL_ELEMENTS;
    this.helperRunsEveryUnit = options.helperRunsEveryUnit ?? false;
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.buffers = new PostedBuffers(port1);
    const source = [createPointwiseWorkspace, reserveWorkspace, softmaxBlock, scaleBlock, swigluForwardBlock, swigluBackwardBlock, rmsnormForwardBlock, rmsnormBackwardBlock, ropeBlock, runPointwiseUnit, isResidentKind, runResidentUnit].map(String).join("\n");
    this.worker = new Worker(helperSource, {
      eval: true,
      workerData: { control: this.control.buffer, port: port2, module: this.module, source },
      transferList: [port2],
    });
    this.worker.unref(); // never keeps the process alive
    this.port.unref();
    stopHelperWhenCollected(this, this.worker, this.control);
    // a helper that dies (it failed to start) leaves the jobs to this thread rather than crashing the process
    // (through a WeakRef: the worker must not keep this object alive, see stopHelperWhenCollected)
    const self = new WeakRef(this);
    this.worker.on("error", (error) => {
      const owner = self.deref();
      if (owner) owner.helperFailure = error;
    });
  }

  /** Why the helper thread stopped, if it did; jobs then run on this thread alone. */
  helperFailure: Error | undefined;

  /** Units of the last job the helper thread ran (0 when it ran on this thread alone): for tests. */
  get helperUnitsOfLastJob(): number {
    return Atomics.load(this.control, HELPER_UNITS);
  }

  /** Stops the helper thread (tests; a process exit stops it anyway). */
  async close(): Promise<void> {
    this.port.close();
    stopHelperOf(this, this.worker, this.control);
    await this.worker.terminate();
  }


  /** Stops the helper thread at once (without waiting for it to exit) and gives the in-place scratch back. */
  override dispose(): void {
    super.dispose();
    this.port.close();
    stopHelperOf(this, this.worker, this.control);
  }

  /** Registers the memory on this thread, then hands the helper the module compiled for it and the memory (null: none). */
  override useResidentMemory(memory: ResidentMemory | null): void {
    super.useResidentMemory(memory);
    this.port.postMessage({ resident: this.resident && { module: this.resident.module, memory: this.resident.resident.memory } });
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
      this.slots[at] = this.buffers.idOf(array.buffer as SharedArrayBuffer);
      this.slots[at + 1] = array.byteOffset;
      this.slots[at + 2] = array.length;
      this.slots[at + 3] = ARRAY_TYPES.findIndex((type) => array instanceof type);
    });
    Atomics.store(word, 0, JOB);
    Atomics.notify(word, 0);
    // the same float32 factor the helper reads
    const ownFactor = this.controlFloats[FACTOR];
    if (!this.helperRunsEveryUnit) {
      for (let unit = Atomics.add(word, NEXT_UNIT, 1); unit < units; unit = Atomics.add(word, NEXT_UNIT, 1)) this.runUnit(kind, arrays, params, ownFactor, unit);
      if (Atomics.compareExchange(word, 0, JOB, IDLE) === JOB) return; // the helper never started
    }
    const waitingSince = performance.now();
    for (let state = Atomics.load(word, 0); state === JOB || state === RUNNING; state = Atomics.load(word, 0)) {
      // a helper that never claims the job (it failed to start) must not hang this thread
      if (state === JOB && performance.now() - waitingSince > HELPER_START_LIMIT_MS && Atomics.compareExchange(word, 0, JOB, IDLE) === JOB) {
        throw new PointwiseHelperError(`the pointwise helper thread did not take a job within ${HELPER_START_LIMIT_MS / 1000} s`);
      }
      Atomics.wait(word, 0, state, 1000);
    }
    if (Atomics.load(word, 0) === FAILED) {
      Atomics.store(word, 0, IDLE);
      const report = receiveMessageOnPort(this.port)?.message as { error?: string } | undefined;
      throw new PointwiseHelperError(`the pointwise helper thread failed: ${report?.error ?? "no reason given"}`);
    }
  }
}
