import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import { FAILED, helperLoopSource, IDLE, JOB, RUNNING, stopHelperOf, stopHelperWhenCollected } from "./helper-loop.js";
import { PostedBuffers } from "./posted-buffers.js";
import type { AttentionShape } from "../reference/attention.js";
import { attentionBackwardSource, attentionForwardSource, attentionKernelsFor } from "./attention-codegen.js";
import { CamelidError } from "../../../errors/index.js";
import { expTable } from "./fast-exp.js";
import { attentionModuleKey, compiledAttention, SimdAttentionThread } from "./attention-simd.js";
import { residentUnits, simdBackwardUnits, simdForwardUnits } from "./attention-units.js";
import type { ResidentAttention, ResidentKernels } from "./attention-resident.js";

// Attention on two threads: this thread and one helper worker share out the units of a call, taken one
// at a time from a shared counter. Where the WebAssembly SIMD kernels apply (./attention-simd.ts)
// a unit is a batch element (or a key/value head range of one when B < 4) and each thread runs the
// compiled module (posted to the helper) in its own memory (./attention-units.ts); otherwise a
// unit is a (batch, key/value head) pair run by the JS kernels generated for the head size
// (./attention-codegen.ts, whose source text the helper compiles). Either way a unit owns its rows of
// out/att/dq and of dk/dv, so units never write the same memory.
// The operands must live in SharedArrayBuffers (the model allocates its activations and gradient
// scratch that way), so nothing is copied between the threads: a buffer is posted to the helper once,
// and a job names arrays as (buffer id, byte offset, length). A control word in its own SharedArrayBuffer
// (0 idle, 1 job, 2 quit, 3 failed, 4 running) hands jobs over with Atomics, as in
// ./parallel-pointwise.ts: the helper claims a job (job -> running) before touching it, so when this
// thread has run every unit before the helper woke (a busy machine can keep it asleep for a time
// slice), it withdraws the job (job -> idle) instead of waiting for the helper to wake.
// When every operand lives in one shared WebAssembly memory (./attention-resident.ts) a job names
// byte addresses in it instead, and each thread runs in-place kernels compiled for its own scratch.

const FORWARD = 1, BACKWARD = 2, SIMD_FORWARD = 3, SIMD_BACKWARD = 4, RESIDENT_FORWARD = 5, RESIDENT_BACKWARD = 6;
// control words: state, kind, B, T, NH, NKV, HS, next unit, units, then (id, byteOffset, length) per array.
// Units are handed out one at a time from the shared counter, so a thread slowed by another process
// on its core takes fewer of them instead of keeping the other waiting.
const NEXT_UNIT = 7, ARRAYS_AT = 9, MAX_ARRAYS = 8;
/** In-place jobs: the operands' byte addresses from ARRAYS_AT, then which posted in-place kernels run. */
const RESIDENT_ID = ARRAYS_AT + MAX_ARRAYS;
/** After the arrays: how many units the helper ran in the last job (how the work split). */
const HELPER_UNITS = ARRAYS_AT + 3 * MAX_ARRAYS;

// Plain CommonJS for `eval: true`; the kernels arrive as source text so both threads run one code.
const helperSource = `
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const { control, port, expTable, simdForwardSource, simdBackwardSource, residentUnitsSource } = workerData;
const simdForwardUnits = new Function("return " + simdForwardSource)();
const simdBackwardUnits = new Function("return " + simdBackwardSource)();
const residentUnits = new Function("return " + residentUnitsSource)();
const residentKernels = new Map();
const kernels = new Map();
const simdModules = new Map();
const simdInstances = new Map();
function simdInstance(HS, T, NH, NKV) {
  const key = HS + ":" + T + ":" + NH + ":" + NKV;
  let instance = simdInstances.get(key);
  if (!instance) {
    const compiled = simdModules.get(key);
    if (!compiled) throw new Error("attention helper: no SIMD module for " + key);
    const memory = new WebAssembly.Memory({ initial: compiled.layout.pages });
    instance = { kernel: new WebAssembly.Instance(compiled.module, { env: { memory } }).exports, heap: new Float32Array(memory.buffer), layout: compiled.layout };
    if (simdInstances.size >= 4) simdInstances.delete(simdInstances.keys().next().value);
    simdInstances.set(key, instance);
  }
  return instance;
}
const word = new Int32Array(control);
const buffers = new Map();
let scratch = new Float32Array(0);
function drain() {
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
    if (m.message.forget !== undefined) buffers.delete(m.message.forget);
    else if (m.message.headSize !== undefined) {
      kernels.set(m.message.headSize, {
        forward: new Function("return " + m.message.forward)(),
        backward: new Function("return " + m.message.backward)(),
      });
    }
    else if (m.message.simdKey !== undefined) simdModules.set(m.message.simdKey, { module: m.message.module, layout: m.message.layout });
    else if (m.message.residentId !== undefined) {
      const kernel = new WebAssembly.Instance(m.message.module, { env: { memory: m.message.memory } }).exports;
      residentKernels.set(m.message.residentId, { kernel, layout: m.message.layout });
    }
    else buffers.set(m.message.id, m.message.buffer);
  }
}
function view(slot) {
  const at = ${ARRAYS_AT} + slot * 3;
  const buffer = buffers.get(word[at]);
  if (!buffer) throw new Error("attention helper: unknown buffer " + word[at]);
  return new Float32Array(buffer, word[at + 1], word[at + 2]);
}
${helperLoopSource(`    drain();
    const B = word[2], T = word[3], NH = word[4], NKV = word[5], HS = word[6], units = word[8];
    const kind = word[1];
    const address = (slot) => word[${ARRAYS_AT} + slot];
    if (kind === ${RESIDENT_FORWARD} || kind === ${RESIDENT_BACKWARD}) {
      const resident = residentKernels.get(word[${RESIDENT_ID}]);
      if (!resident) throw new Error("attention helper: no in-place kernels " + word[${RESIDENT_ID}]);
      const backward = kind === ${RESIDENT_BACKWARD};
      const at = Array.from({ length: backward ? 8 : 5 }, (_, slot) => address(slot));
      word[${HELPER_UNITS}] = residentUnits(resident.kernel, resident.layout, backward, at, B, word, ${NEXT_UNIT});
    } else if (kind === ${SIMD_FORWARD}) {
      const simd = simdInstance(HS, T, NH, NKV);
      word[${HELPER_UNITS}] = simdForwardUnits(simd.kernel, simd.heap, simd.layout, view(0), view(1), view(2), view(3), view(4), B, word, ${NEXT_UNIT});
    } else if (kind === ${SIMD_BACKWARD}) {
      const simd = simdInstance(HS, T, NH, NKV);
      word[${HELPER_UNITS}] = simdBackwardUnits(simd.kernel, simd.heap, simd.layout, view(0), view(1), view(2), view(3), view(4), view(5), view(6), view(7), B, word, ${NEXT_UNIT});
    } else if (kind === ${FORWARD}) {
      const kernel = kernels.get(HS);
      const out = view(0), att = view(1), q = view(2), k = view(3), v = view(4);
      word[${HELPER_UNITS}] = 0;
      for (let u = Atomics.add(word, ${NEXT_UNIT}, 1); u < units; u = Atomics.add(word, ${NEXT_UNIT}, 1), word[${HELPER_UNITS}]++) kernel.forward(out, att, q, k, v, B, T, NH, NKV, u, u + 1, expTable);
    } else {
      const kernel = kernels.get(HS);
      if (scratch.length < T) scratch = new Float32Array(T);
      const dq = view(0), dk = view(1), dv = view(2), dout = view(3), q = view(4), k = view(5), v = view(6), att = view(7);
      word[${HELPER_UNITS}] = 0;
      for (let u = Atomics.add(word, ${NEXT_UNIT}, 1); u < units; u = Atomics.add(word, ${NEXT_UNIT}, 1), word[${HELPER_UNITS}]++) kernel.backward(dq, dk, dv, scratch, dout, q, k, v, att, B, T, NH, NKV, u, u + 1);
    }`, `    port.postMessage({ error: String(error && error.stack || error) });`)}
`;

/** The helper thread threw (a bug, not bad input). */
export class AttentionHelperError extends CamelidError {
  readonly code = "engine_helper_failed";
}

export class ParallelAttention {
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * (HELPER_UNITS + 1)));
  private readonly port: MessagePort;
  private readonly worker: Worker;
  /** Buffers posted to the helper, each once. */
  private readonly buffers: PostedBuffers;
  /** Head sizes whose kernel source the helper has. */
  private readonly headSizesPosted = new Set<number>();
  /** Shape keys (HS, T, NH, NKV) whose compiled SIMD module the helper has. */
  private readonly simdPosted = new Set<string>();
  private readonly simd = new SimdAttentionThread();
  /** In-place kernels posted to the helper, by the id its jobs name them with. */
  private readonly residentPosted = new Map<ResidentKernels, number>();

  /**
   * simd: false keeps both threads on the generated JS kernels (benchmarks compare the two).
   * helperRunsEveryUnit (tests): this thread takes no unit, so the helper's code path runs every time.
   */
  constructor(private readonly options: { simd?: boolean; helperRunsEveryUnit?: boolean } = {}) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.buffers = new PostedBuffers(port1);
    this.worker = new Worker(helperSource, {
      eval: true,
      workerData: {
        control: this.control.buffer, port: port2, expTable,
        simdForwardSource: simdForwardUnits.toString(), simdBackwardSource: simdBackwardUnits.toString(),
        residentUnitsSource: residentUnits.toString(),
      },
      transferList: [port2],
    });
    this.worker.unref(); // never keeps the process alive
    this.port.unref();
    stopHelperWhenCollected(this, this.worker, this.control);
  }

  /** True when every array is a view of a SharedArrayBuffer (else the caller runs one thread). */
  static canShare(...arrays: Float32Array[]): boolean {
    return arrays.every((a) => a.buffer instanceof SharedArrayBuffer);
  }

  forward(out: Float32Array, att: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape): void {
    const { B, T, NH, NKV, HS } = shape;
    if (this.postSimdModule(shape)) {
      this.start(SIMD_FORWARD, shape, B, [out, att, q, k, v]);
      if (!this.options.helperRunsEveryUnit) this.simd.forward(out, att, q, k, v, shape, this.control, NEXT_UNIT);
      return this.finish();
    }
    const units = B * NKV, kernel = attentionKernelsFor(HS).forward, word = this.control;
    this.start(FORWARD, shape, units, [out, att, q, k, v]);
    if (!this.options.helperRunsEveryUnit) for (let u = Atomics.add(word, NEXT_UNIT, 1); u < units; u = Atomics.add(word, NEXT_UNIT, 1)) kernel(out, att, q, k, v, B, T, NH, NKV, u, u + 1, expTable);
    this.finish();
  }

  backward(dq: Float32Array, dk: Float32Array, dv: Float32Array, scratch: Float32Array, dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, att: Float32Array, shape: AttentionShape): void {
    const { B, T, NH, NKV, HS } = shape;
    if (this.postSimdModule(shape)) {
      this.start(SIMD_BACKWARD, shape, B, [dq, dk, dv, dout, q, k, v, att]);
      if (!this.options.helperRunsEveryUnit) this.simd.backward(dq, dk, dv, dout, q, k, v, att, shape, this.control, NEXT_UNIT);
      return this.finish();
    }
    const units = B * NKV, kernel = attentionKernelsFor(HS).backward, word = this.control;
    this.start(BACKWARD, shape, units, [dq, dk, dv, dout, q, k, v, att]);
    if (!this.options.helperRunsEveryUnit) for (let u = Atomics.add(word, NEXT_UNIT, 1); u < units; u = Atomics.add(word, NEXT_UNIT, 1)) kernel(dq, dk, dv, scratch, dout, q, k, v, att, B, T, NH, NKV, u, u + 1);
    this.finish();
  }

  /**
   * forward on operands living in `resident`'s memory, at the byte addresses `at` (out, att, q, k, v),
   * run in place; false (nothing done) when the in-place kernels cannot be had for the shape.
   */
  forwardResident(resident: ResidentAttention, at: number[], shape: AttentionShape): boolean {
    if (!this.startResident(RESIDENT_FORWARD, resident, at, shape)) return false;
    if (!this.options.helperRunsEveryUnit) resident.forward(at, shape, this.control, NEXT_UNIT);
    this.finish();
    return true;
  }

  /** backward in place, `at` the byte addresses of dq, dk, dv, dout, q, k, v, att; false when the in-place kernels cannot be had. */
  backwardResident(resident: ResidentAttention, at: number[], shape: AttentionShape): boolean {
    if (!this.startResident(RESIDENT_BACKWARD, resident, at, shape)) return false;
    if (!this.options.helperRunsEveryUnit) resident.backward(at, shape, this.control, NEXT_UNIT);
    this.finish();
    return true;
  }

  /** How many units the helper thread ran in the last call (0 when this thread took them all). */
  get helperUnits(): number {
    return this.control[HELPER_UNITS];
  }

  /** Stops the helper thread (tests; a process exit stops it anyway). */
  async close(): Promise<void> {
    this.port.close();
    stopHelperOf(this, this.worker, this.control);
    await this.worker.terminate();
  }


  /** Stops the helper thread at once (without waiting for it to exit). */
  dispose(): void {
    this.port.close();
    stopHelperOf(this, this.worker, this.control);
  }

  /** True when this call runs on the SIMD kernels; the helper then has their module. */
  private postSimdModule(shape: AttentionShape): boolean {
    if (this.options.simd === false) return false;
    const compiled = compiledAttention(shape);
    if (!compiled) return false;
    const key = attentionModuleKey(shape);
    if (!this.simdPosted.has(key)) {
      this.port.postMessage({ simdKey: key, module: compiled.module, layout: compiled.layout });
      this.simdPosted.add(key);
    }
    return true;
  }

  /** Posts the helper's in-place kernels (slot 1) once, then the job; false when either thread's kernels cannot be had. */
  private startResident(kind: number, resident: ResidentAttention, at: number[], shape: AttentionShape): boolean {
    const mine = resident.kernelsFor(shape, 0), helpers = resident.kernelsFor(shape, 1);
    if (!mine || !helpers) return false;
    let id = this.residentPosted.get(helpers);
    if (id === undefined) {
      id = this.residentPosted.size;
      this.port.postMessage({ residentId: id, module: helpers.module, memory: resident.resident.memory, layout: helpers.layout });
      this.residentPosted.set(helpers, id);
    }
    const word = this.control;
    word[1] = kind;
    word[2] = shape.B; word[3] = shape.T; word[4] = shape.NH; word[5] = shape.NKV; word[6] = shape.HS;
    word[NEXT_UNIT] = 0; word[8] = 0; word[HELPER_UNITS] = 0;
    at.forEach((address, slot) => (word[ARRAYS_AT + slot] = address));
    word[RESIDENT_ID] = id;
    Atomics.store(word, 0, JOB);
    Atomics.notify(word, 0);
    return true;
  }

  private start(kind: number, shape: AttentionShape, units: number, arrays: Float32Array[]): void {
    if ((kind === FORWARD || kind === BACKWARD) && !this.headSizesPosted.has(shape.HS)) {
      this.port.postMessage({ headSize: shape.HS, forward: attentionForwardSource(shape.HS), backward: attentionBackwardSource(shape.HS) });
      this.headSizesPosted.add(shape.HS);
    }
    const word = this.control;
    word[1] = kind;
    word[2] = shape.B; word[3] = shape.T; word[4] = shape.NH; word[5] = shape.NKV; word[6] = shape.HS;
    word[NEXT_UNIT] = 0; word[8] = units; word[HELPER_UNITS] = 0;
    arrays.forEach((array, slot) => {
      const at = ARRAYS_AT + slot * 3;
      word[at] = this.buffers.idOf(array.buffer as SharedArrayBuffer);
      word[at + 1] = array.byteOffset;
      word[at + 2] = array.length;
    });
    Atomics.store(word, 0, JOB);
    Atomics.notify(word, 0);
  }

  /** Called once this thread has found no unit left: withdraws the job if the helper never claimed it, else waits for it. */
  private finish(): void {
    const word = this.control;
    if (!this.options.helperRunsEveryUnit && Atomics.compareExchange(word, 0, JOB, IDLE) === JOB) return; // the helper never started
    for (let state = Atomics.load(word, 0); state === JOB || state === RUNNING; state = Atomics.load(word, 0)) Atomics.wait(word, 0, state, 1000);
    if (Atomics.load(word, 0) === FAILED) {
      Atomics.store(word, 0, IDLE);
      const report = receiveMessageOnPort(this.port)?.message as { error?: string } | undefined;
      throw new AttentionHelperError(`the attention helper thread failed: ${report?.error ?? "no reason given"}`);
    }
  }
}
