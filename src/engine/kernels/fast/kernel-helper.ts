import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import { CamelidError } from "../../../errors/index.js";
import { residentUnits, simdBackwardUnits, simdForwardUnits } from "./attention-units.js";
import { expTable } from "./fast-exp.js";
import { FAILED, helperLoopSource, IDLE, JOB, RUNNING, stopHelperOf, stopHelperWhenCollected } from "./helper-loop.js";
import * as jobs from "./helper-jobs.js";
import { runBlocks } from "./matmul-simd.js";
import { createPointwiseWorkspace, reserveWorkspace, rmsnormBackwardBlock, rmsnormForwardBlock, ropeBlock, runPointwiseUnit, scaleBlock, softmaxBlock, swigluBackwardBlock, swigluForwardBlock } from "./pointwise-blocks.js";
import { isResidentKind, runResidentUnit } from "./pointwise-resident-units.js";
import { PostedBuffers } from "./posted-buffers.js";

// A kernel set's one helper thread: it runs the matmul, attention and pointwise families' jobs (the
// protocol is ./helper-jobs.ts), so a set on two threads has exactly two, its own and this one. The
// worker starts on the first job; messages posted before then wait on the port.

/** A job for a helper that was stopped (its kernel set was disposed). */
export class KernelHelperStoppedError extends CamelidError {
  readonly code = "engine_helper_stopped";
}

// Each family's worker side, plain CommonJS for `eval: true`: a closure over its region of the shared
// buffer, with receive(message) for what it is posted and run() for a job. The unit functions arrive as
// source text, so both threads run one code. `buffers` (ids to posted SharedArrayBuffers) is shared.
const matmulSide = `
const matmulSide = ((word) => {
  const runBlocks = (${runBlocks.toString()});
  const runUnits = (${jobs.runUnits.toString()});
  const kernels = new Map();
  return {
    receive(m) { kernels.set(m.kernelId, new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports.matmul); },
    run() {
      const kernel = kernels.get(word[${jobs.MATMUL_KERNEL_ID}]);
      if (!kernel) throw new Error("matmul kernel " + word[${jobs.MATMUL_KERNEL_ID}] + " was never sent to the helper");
      Atomics.add(word, ${jobs.MATMUL_HELPER_UNITS}, runUnits(kernel, word, runBlocks));
    },
  };
})(region(${jobs.MATMUL_JOB}));
`;

const attentionSide = `
const attentionSide = ((word) => {
  const simdForwardUnits = (${simdForwardUnits.toString()});
  const simdBackwardUnits = (${simdBackwardUnits.toString()});
  const residentUnits = (${residentUnits.toString()});
  const residentKernels = new Map();
  const kernels = new Map();
  const simdModules = new Map();
  const simdInstances = new Map();
  let scratch = new Float32Array(0);
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
  function view(slot) {
    const at = ${jobs.ATTENTION_ARRAYS_AT} + slot * 3;
    const buffer = buffers.get(word[at]);
    if (!buffer) throw new Error("attention helper: unknown buffer " + word[at]);
    return new Float32Array(buffer, word[at + 1], word[at + 2]);
  }
  return {
    receive(m) {
      if (m.headSize !== undefined) kernels.set(m.headSize, { forward: new Function("return " + m.forward)(), backward: new Function("return " + m.backward)() });
      else if (m.simdKey !== undefined) simdModules.set(m.simdKey, { module: m.module, layout: m.layout });
      else if (m.residentId !== undefined) residentKernels.set(m.residentId, { kernel: new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports, layout: m.layout });
    },
    run() {
      const B = word[2], T = word[3], NH = word[4], NKV = word[5], HS = word[6], units = word[8];
      const kind = word[1];
      const address = (slot) => word[${jobs.ATTENTION_ARRAYS_AT} + slot];
      if (kind === ${jobs.ATTENTION_RESIDENT_FORWARD} || kind === ${jobs.ATTENTION_RESIDENT_BACKWARD}) {
        const resident = residentKernels.get(word[${jobs.ATTENTION_RESIDENT_ID}]);
        if (!resident) throw new Error("attention helper: no in-place kernels " + word[${jobs.ATTENTION_RESIDENT_ID}]);
        const backward = kind === ${jobs.ATTENTION_RESIDENT_BACKWARD};
        const at = Array.from({ length: backward ? 8 : 5 }, (_, slot) => address(slot));
        word[${jobs.ATTENTION_HELPER_UNITS}] = residentUnits(resident.kernel, resident.layout, backward, at, B, word, ${jobs.ATTENTION_NEXT_UNIT});
      } else if (kind === ${jobs.ATTENTION_SIMD_FORWARD}) {
        const simd = simdInstance(HS, T, NH, NKV);
        word[${jobs.ATTENTION_HELPER_UNITS}] = simdForwardUnits(simd.kernel, simd.heap, simd.layout, view(0), view(1), view(2), view(3), view(4), B, word, ${jobs.ATTENTION_NEXT_UNIT});
      } else if (kind === ${jobs.ATTENTION_SIMD_BACKWARD}) {
        const simd = simdInstance(HS, T, NH, NKV);
        word[${jobs.ATTENTION_HELPER_UNITS}] = simdBackwardUnits(simd.kernel, simd.heap, simd.layout, view(0), view(1), view(2), view(3), view(4), view(5), view(6), view(7), B, word, ${jobs.ATTENTION_NEXT_UNIT});
      } else if (kind === ${jobs.ATTENTION_FORWARD}) {
        const kernel = kernels.get(HS);
        const out = view(0), att = view(1), q = view(2), k = view(3), v = view(4);
        word[${jobs.ATTENTION_HELPER_UNITS}] = 0;
        for (let u = Atomics.add(word, ${jobs.ATTENTION_NEXT_UNIT}, 1); u < units; u = Atomics.add(word, ${jobs.ATTENTION_NEXT_UNIT}, 1), word[${jobs.ATTENTION_HELPER_UNITS}]++) kernel.forward(out, att, q, k, v, B, T, NH, NKV, u, u + 1, expTable);
      } else {
        const kernel = kernels.get(HS);
        if (scratch.length < T) scratch = new Float32Array(T);
        const dq = view(0), dk = view(1), dv = view(2), dout = view(3), q = view(4), k = view(5), v = view(6), att = view(7);
        word[${jobs.ATTENTION_HELPER_UNITS}] = 0;
        for (let u = Atomics.add(word, ${jobs.ATTENTION_NEXT_UNIT}, 1); u < units; u = Atomics.add(word, ${jobs.ATTENTION_NEXT_UNIT}, 1), word[${jobs.ATTENTION_HELPER_UNITS}]++) kernel.backward(dq, dk, dv, scratch, dout, q, k, v, att, B, T, NH, NKV, u, u + 1);
      }
    },
  };
})(region(${jobs.ATTENTION_JOB}));
`;

const pointwiseSource = [createPointwiseWorkspace, reserveWorkspace, softmaxBlock, scaleBlock, swigluForwardBlock, swigluBackwardBlock, rmsnormForwardBlock, rmsnormBackwardBlock, ropeBlock, runPointwiseUnit, isResidentKind, runResidentUnit].map(String).join("\n");
const pointwiseSide = `
const pointwiseSide = ((word) => {
  const { createPointwiseWorkspace, runPointwiseUnit, isResidentKind, runResidentUnit } = new Function(${JSON.stringify(pointwiseSource)} + "\\nreturn { createPointwiseWorkspace, runPointwiseUnit, isResidentKind, runResidentUnit };")();
  const float = new Float32Array(word.buffer, word.byteOffset, word.length);
  const slots = new Float64Array(word.buffer, word.byteOffset + ${jobs.POINTWISE_SLOTS_BYTE}, ${4 * jobs.POINTWISE_MAX_ARRAYS});
  const types = [Float32Array, Uint8Array, Float64Array];
  let workspace = null;
  let resident = null;
  function view(slot) {
    const at = slot * 4;
    const buffer = buffers.get(slots[at]);
    if (!buffer) throw new Error("pointwise helper: unknown buffer " + slots[at]);
    return new types[slots[at + 3]](buffer, slots[at + 1], slots[at + 2]);
  }
  return {
    receive(m) {
      if (m.resident !== undefined) resident = m.resident && { exports: new WebAssembly.Instance(m.resident.module, { env: { memory: m.resident.memory } }).exports, memory: m.resident.memory };
      else workspace = createPointwiseWorkspace(m.module);
    },
    run() {
      const arrays = [];
      for (let slot = 0; slot < word[${jobs.POINTWISE_ARRAY_COUNT}]; slot++) arrays.push(view(slot));
      const kind = word[${jobs.POINTWISE_KIND}], units = word[${jobs.POINTWISE_UNITS}], factor = float[${jobs.POINTWISE_FACTOR}];
      const params = word.slice(${jobs.POINTWISE_PARAMS}, ${jobs.POINTWISE_PARAMS + jobs.POINTWISE_PARAM_COUNT});
      let done = 0;
      const inPlace = isResidentKind(kind);
      if (inPlace && !resident) throw new Error("pointwise helper: an in-place job but no registered memory");
      if (!inPlace && !workspace) throw new Error("pointwise helper: a job but no pointwise module");
      for (let u = Atomics.add(word, ${jobs.POINTWISE_NEXT_UNIT}, 1); u < units; u = Atomics.add(word, ${jobs.POINTWISE_NEXT_UNIT}, 1)) {
        if (inPlace) runResidentUnit(resident, kind, params, factor, u);
        else runPointwiseUnit(workspace, kind, arrays, params, factor, u);
        done++;
      }
      word[${jobs.POINTWISE_HELPER_UNITS}] = done;
    },
  };
})(region(${jobs.POINTWISE_JOB}));
`;

const helperSource = `
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const { control, port, expTable } = workerData;
const word = new Int32Array(control, 0, ${jobs.HEADER_BYTES / 4});
const region = (family) => new Int32Array(control, ${jobs.HEADER_BYTES} + family * ${jobs.REGION_BYTES}, ${jobs.REGION_BYTES / 4});
const buffers = new Map();
${matmulSide}
${attentionSide}
${pointwiseSide}
const sides = [matmulSide, attentionSide, pointwiseSide];
function drain() {
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
    const message = m.message;
    if (message.forget !== undefined) buffers.delete(message.forget);
    else if (message.buffer !== undefined) buffers.set(message.id, message.buffer);
    else sides[message.family].receive(message);
  }
}
${helperLoopSource(`    drain();
    sides[word[${jobs.FAMILY}]].run();`, `    port.postMessage({ error: String((error && error.stack) || error) });`)}
`;

/** The one helper thread of a kernel set (or of a kernel run alone, in tests and benchmarks). */
export class KernelHelper {
  private readonly shared = new SharedArrayBuffer(jobs.HELPER_BUFFER_BYTES);
  /** The header: the control word (state), then the posted job's family. */
  readonly control = new Int32Array(this.shared, 0, jobs.HEADER_BYTES / 4);
  private readonly port: MessagePort;
  private readonly helperPort: MessagePort;
  /** Shared buffers posted to the helper, each once, for every family's jobs. */
  readonly buffers: PostedBuffers;
  private worker: Worker | null = null;
  private stopped = false;
  /** Why the helper thread stopped, if it did (it failed to start). */
  failure: Error | undefined;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.helperPort = port2;
    this.port.unref();
    this.buffers = new PostedBuffers(port1);
  }

  /** A family's region of the shared buffer, where its jobs' words go. */
  region(family: jobs.HelperFamily): Int32Array {
    return new Int32Array(this.shared, jobs.HEADER_BYTES + family * jobs.REGION_BYTES, jobs.REGION_BYTES / 4);
  }

  /** Worker threads this helper has started: 0 before the first job, 1 after. */
  get workersStarted(): number {
    return this.worker ? 1 : 0;
  }

  /** Whether dispose() has stopped it. */
  get isStopped(): boolean {
    return this.stopped;
  }

  post(message: jobs.HelperMessage): void {
    this.port.postMessage(message);
  }

  /** Announces the job written to `family`'s region (starting the worker on the first). */
  start(family: jobs.HelperFamily): void {
    this.ensureWorker();
    this.control[jobs.FAMILY] = family;
    Atomics.store(this.control, jobs.STATE, JOB);
    Atomics.notify(this.control, jobs.STATE);
  }

  /** Takes the job back if the helper never claimed it (true), as a thread that ran out of units does. */
  withdraw(): boolean {
    return Atomics.compareExchange(this.control, jobs.STATE, JOB, IDLE) === JOB;
  }

  /** Waits until the helper is done with the job; the failure report (the job threw) or null. */
  wait(): string | null {
    const word = this.control;
    for (let state = Atomics.load(word, 0); state === JOB || state === RUNNING; state = Atomics.load(word, 0)) Atomics.wait(word, 0, state, 1000);
    return this.failed();
  }

  /** After the job: null when it went well, else the helper's report (and the control word is IDLE again). */
  failed(): string | null {
    if (Atomics.load(this.control, 0) !== FAILED) return null;
    Atomics.store(this.control, 0, IDLE);
    const report = receiveMessageOnPort(this.port)?.message as jobs.HelperReport | undefined;
    return report?.error ?? "no reason given";
  }

  /** Stops the worker at once (without waiting for it to exit); later jobs are refused. */
  dispose(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.port.close();
    if (this.worker) stopHelperOf(this, this.worker, this.control);
    else this.helperPort.close();
  }

  /** Stops the worker and waits for it to exit (tests). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.dispose();
    await worker?.terminate();
  }

  private ensureWorker(): void {
    if (this.stopped) throw new KernelHelperStoppedError("the kernel helper thread was stopped (its kernel set was disposed)");
    if (this.worker) return;
    this.worker = new Worker(helperSource, {
      eval: true,
      workerData: { control: this.shared, port: this.helperPort, expTable },
      transferList: [this.helperPort],
    });
    this.worker.unref(); // never keeps the process alive
    stopHelperWhenCollected(this, this.worker, this.control);
    // a helper that dies (it failed to start) is reported to the families rather than crashing the
    // process (through a WeakRef: the worker must not keep this object alive, see stopHelperWhenCollected)
    const self = new WeakRef(this);
    this.worker.on("error", (error) => {
      const owner = self.deref();
      if (owner) owner.failure = error;
    });
  }
}
