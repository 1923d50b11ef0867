import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import { FAILED, helperLoopSource, IDLE, JOB, RUNNING, stopHelperOf, stopHelperWhenCollected } from "./helper-loop.js";
import type { ResidentMemory } from "./resident-memory.js";
import { KernelWorkspace } from "./workspace.js";
import { buildMatmulKernel, runBlocks, SimdMatmul, type KernelFunction, type MatmulKernelOptions, type MatmulLayout } from "./matmul-simd.js";

// The SIMD matmul on two threads: one shared WebAssembly memory, one helper worker running the same
// compiled kernel. The operands are copied in once; the work is cut into units (stretches of row
// blocks, or of panels when there are few rows) that both threads claim from a shared counter, so a
// thread slowed by another process on its core takes fewer units instead of keeping the other waiting.
// A control word in a SharedArrayBuffer hands jobs over with Atomics, so a matmul costs no message
// passing: this thread posts JOB; the helper claims it (JOB -> RUNNING) before touching anything, so
// when this thread has run out of units and the helper never woke, it withdraws the job (JOB -> IDLE)
// instead of waiting for a sleeping thread.

const MAX_PAGES = 32768; // 2 GiB of address space reserved (a shared memory cannot move)

// control words: state, then outAt, xAt, wAt, C, rowBytes, outRowBytes, panelBytes, accumulate (the layout),
// then rowBlocks, panels, rows, panelStep, byRows, unitSize, units, next unit, units the helper ran, and
// the layout's wStepBytes and kernelId.
const NEXT = 16, HELPER_UNITS = 17, W_STEP = 18, KERNEL_ID = 19, WORDS = 20;
const MAX_UNITS = 48;
/** Packed weights above this are shared out by panels rather than by row blocks. */
const LARGE_WEIGHT_BYTES = 4 << 20;

/**
 * Claims units from word[NEXT] until none is left, running each: unit u covers row blocks (or panels)
 * [u * unitSize, +unitSize). Self-contained on purpose: its source also runs inside the helper thread.
 */
export function runUnits(kernel: KernelFunction, word: Int32Array, runBlocksFunction: typeof runBlocks): number {
  const layout: MatmulLayout = { outAt: word[1], xAt: word[2], wAt: word[3], C: word[4], rowBytes: word[5], outRowBytes: word[6], panelBytes: word[7], accumulate: word[8], wStepBytes: word[18], kernelId: word[19] };
  const rowBlocks = word[9], panels = word[10], rows = word[11], panelStep = word[12], byRows = word[13] === 1, unitSize = word[14], units = word[15];
  let ran = 0;
  for (let unit = Atomics.add(word, 16, 1); unit < units; unit = Atomics.add(word, 16, 1)) {
    const first = unit * unitSize;
    if (byRows) runBlocksFunction(kernel, layout, first, Math.min(unitSize, rowBlocks - first), 0, panels, rows, panelStep);
    else runBlocksFunction(kernel, layout, 0, rowBlocks, first, Math.min(unitSize, panels - first), rows, panelStep);
    ran++;
  }
  return ran;
}

// Plain CommonJS for `eval: true`; runBlocks and runUnits arrive as source text so both threads run one
// loop. Kernel modules arrive on a port as this thread compiles them, always before the first job that
// uses one, so the helper reads them synchronously when a job names a kernel it has not instantiated.
const helperSource = `
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const { memory, control, port, runBlocksSource, runUnitsSource } = workerData;
const runBlocks = new Function("return " + runBlocksSource)();
const runUnits = new Function("return " + runUnitsSource)();
const word = new Int32Array(control);
const kernels = new Map();
function kernelFor(id) {
  for (;;) {
    const kernel = kernels.get(id);
    if (kernel) return kernel;
    const received = receiveMessageOnPort(port);
    if (!received) throw new Error("matmul kernel " + id + " was never sent to the helper");
    const { id: sentId, module } = received.message;
    kernels.set(sentId, new WebAssembly.Instance(module, { env: { memory } }).exports.matmul);
  }
}
${helperLoopSource(`    Atomics.add(word, ${HELPER_UNITS}, runUnits(kernelFor(word[${KERNEL_ID}]), word, runBlocks));`)}
`;

/**
 * A ResidentMemory (./resident-memory.ts) too: the model's activations live in its shared workspace, so
 * the attention, RMSNorm and RoPE kernels run on those arrays in place.
 */
export class ParallelSimdMatmul extends SimdMatmul implements ResidentMemory {
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * WORDS));
  private readonly worker: Worker;

  /** With helperRunsEveryUnit (tests) this thread leaves every unit to the helper and waits. */
  private readonly helperRunsEveryUnit: boolean;

  /** Where kernel modules go to the helper, and the ids it has been sent. */
  private readonly modulePort: MessagePort;
  private readonly sentToHelper = new Set<number>();

  /** Runs in a kernel set's shared workspace; without one, in a shared workspace of its own (tests, benchmarks). */
  constructor(options: MatmulKernelOptions & { helperRunsEveryUnit?: boolean } = {}, workspace?: KernelWorkspace) {
    const own = workspace ?? new KernelWorkspace({ shared: true, maxPages: MAX_PAGES });
    if (!own.shared) throw new TypeError("the two-thread matmul needs a shared workspace");
    super(options, own);
    this.helperRunsEveryUnit = options.helperRunsEveryUnit ?? false;
    const { port1, port2 } = new MessageChannel();
    this.modulePort = port1;
    this.modulePort.unref();
    this.worker = new Worker(helperSource, {
      eval: true,
      workerData: { memory: own.memory, control: this.control.buffer, port: port2, runBlocksSource: runBlocks.toString(), runUnitsSource: runUnits.toString() },
      transferList: [port2],
    });
    this.worker.unref(); // never keeps the process alive
    stopHelperWhenCollected(this, this.worker, this.control);
  }

  /** Its memory's fixed maximum in pages (modules that share the memory declare the same). */
  get maxPages(): number {
    return this.workspace.maxPages;
  }

  /** allocateResident under the name the in-place attention and pointwise kernels know (ResidentMemory). */
  allocate(floats: number): Float32Array | null {
    return this.allocateResident(floats);
  }

  free(array: Float32Array): void {
    this.freeResident(array);
  }

  /** Units the helper thread has run since construction (tests check it really takes part). */
  get helperUnits(): number {
    return Atomics.load(this.control, HELPER_UNITS);
  }

  protected override compute(layout: MatmulLayout, rowBlocks: number, panels: number, work: number): void {
    // below ~1 MFLOP the hand-over costs more than it saves
    if (work < 1 << 19 || (rowBlocks < 2 && panels < 2)) return super.compute(layout, rowBlocks, panels, work);
    // Up to 48 units: the thread that finishes first then waits at most about 2% of the call for the
    // other's last unit (with 16 units, ~90 ms of such waiting per stories15M training step, 14 ms with
    // 48). A unit of row blocks reads every panel of the weight, so a large weight (the output head's,
    // 37 MB packed) is cut by panels instead: each unit then reads its own share of the weight, and the
    // input rows, which stay in the caches, are what every unit reads.
    const weightBytes = panels * layout.C * this.panelWidth * 4;
    const byRows = weightBytes > LARGE_WEIGHT_BYTES && panels >= 4 * MAX_UNITS ? false : rowBlocks >= MAX_UNITS || rowBlocks >= panels;
    const count = byRows ? rowBlocks : panels;
    const unitSize = Math.ceil(count / Math.min(MAX_UNITS, count));
    const word = this.control;
    word[1] = layout.outAt; word[2] = layout.xAt; word[3] = layout.wAt; word[4] = layout.C; word[5] = layout.rowBytes;
    word[6] = layout.outRowBytes; word[7] = layout.panelBytes; word[8] = layout.accumulate; word[W_STEP] = layout.wStepBytes;
    const kernel = this.kernelFor(layout.kernelId);
    if (!this.sentToHelper.has(layout.kernelId)) {
      this.modulePort.postMessage({ id: layout.kernelId, module: this.kernelModules.get(layout.kernelId) });
      this.sentToHelper.add(layout.kernelId);
    }
    word[KERNEL_ID] = layout.kernelId;
    word[9] = rowBlocks; word[10] = panels; word[11] = this.rows; word[12] = this.panelWidth * 4;
    word[13] = byRows ? 1 : 0; word[14] = unitSize; word[15] = Math.ceil(count / unitSize); word[NEXT] = 0;
    Atomics.store(word, 0, JOB);
    Atomics.notify(word, 0);
    if (this.helperRunsEveryUnit) {
      while (Atomics.load(word, 0) === JOB) Atomics.wait(word, 0, JOB, 1000);
    } else runUnits(kernel, word, runBlocks);
    // the helper never claimed the job: take it back rather than wait for a thread that is not running
    if (Atomics.compareExchange(word, 0, JOB, IDLE) === JOB) return;
    while (Atomics.load(word, 0) === RUNNING) Atomics.wait(word, 0, RUNNING, 1000);
    if (Atomics.load(word, 0) === FAILED) {
      Atomics.store(word, 0, IDLE);
      throw new Error("the matmul helper thread failed");
    }
  }

  /** Gives its blocks back and stops the helper thread at once (without waiting for it to exit). */
  override dispose(): void {
    super.dispose();
    stopHelperOf(this, this.worker, this.control);
  }

  /** Stops the helper thread (tests; a process exit stops it anyway). */
  async close(): Promise<void> {
    stopHelperOf(this, this.worker, this.control);
    await this.worker.terminate();
  }
}

/** Shared WebAssembly memory and worker threads work here (not in every embedding). */
export function threadsAvailable(): boolean {
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return WebAssembly.validate(buildMatmulKernel(1));
  } catch {
    return false;
  }
}
