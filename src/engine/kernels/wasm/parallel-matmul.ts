import { Worker } from "node:worker_threads";
import { buildMatmulKernel, runBlocks, SimdMatmul, type MatmulLayout } from "./matmul-simd.js";

// The SIMD matmul on two threads: one shared WebAssembly memory, one helper worker running the same
// compiled kernel. The operands are copied in once; the helper takes the second half of the row
// pairs while this thread does the first. A control word in a SharedArrayBuffer (0 idle, 1 job,
// 2 quit, 3 failed) hands jobs over with Atomics, so a matmul costs no message passing.

const MAX_PAGES = 32768; // 2 GiB of address space reserved (a shared memory cannot move)
const IDLE = 0, JOB = 1, QUIT = 2, FAILED = 3;

// control words: state, then outAt, xAt, wAt, C, rowBytes, outRowBytes, panelBytes, accumulate (the layout),
// then rowBlockStart, rowBlockCount, panelStart, panelCount, rows, panelStep (the helper's share).
const WORDS = 15;

// Plain CommonJS for `eval: true`; runBlocks arrives as source text so both threads run one loop.
const helperSource = `
const { workerData } = require("node:worker_threads");
const { module, memory, control, runBlocksSource } = workerData;
const kernel = new WebAssembly.Instance(module, { env: { memory } }).exports.matmul;
const runBlocks = new Function("return " + runBlocksSource)();
const word = new Int32Array(control);
for (;;) {
  Atomics.wait(word, 0, ${IDLE});
  const state = Atomics.load(word, 0);
  if (state === ${QUIT}) break;
  if (state !== ${JOB}) continue;
  try {
    const layout = { outAt: word[1], xAt: word[2], wAt: word[3], C: word[4], rowBytes: word[5], outRowBytes: word[6], panelBytes: word[7], accumulate: word[8] };
    runBlocks(kernel, layout, word[9], word[10], word[11], word[12], word[13], word[14]);
    Atomics.store(word, 0, ${IDLE});
  } catch {
    Atomics.store(word, 0, ${FAILED});
  }
  Atomics.notify(word, 0);
}
`;

export class ParallelSimdMatmul extends SimdMatmul {
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * WORDS));
  private readonly worker: Worker;

  constructor() {
    const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
    const module = new WebAssembly.Module(buildMatmulKernel(MAX_PAGES));
    super({ memory, module });
    this.maxBytes = MAX_PAGES * 65536;
    this.worker = new Worker(helperSource, {
      eval: true,
      workerData: { module, memory, control: this.control.buffer, runBlocksSource: runBlocks.toString() },
    });
    this.worker.unref(); // never keeps the process alive
  }

  protected override compute(layout: MatmulLayout, rowBlocks: number, panels: number, work: number): void {
    // below ~1 MFLOP the hand-over costs more than it saves
    if (work < 1 << 19 || (rowBlocks < 2 && panels < 2)) return super.compute(layout, rowBlocks, panels, work);
    // split the row blocks, or the panels when there are too few row blocks to share evenly
    const byRows = rowBlocks >= 8 || rowBlocks >= panels;
    const mine = Math.floor((byRows ? rowBlocks : panels) / 2);
    const panelStep = this.panelWidth * 4;
    const word = this.control;
    word[1] = layout.outAt; word[2] = layout.xAt; word[3] = layout.wAt; word[4] = layout.C; word[5] = layout.rowBytes;
    word[6] = layout.outRowBytes; word[7] = layout.panelBytes; word[8] = layout.accumulate;
    if (byRows) { word[9] = mine; word[10] = rowBlocks - mine; word[11] = 0; word[12] = panels; }
    else { word[9] = 0; word[10] = rowBlocks; word[11] = mine; word[12] = panels - mine; }
    word[13] = this.rows; word[14] = panelStep;
    Atomics.store(word, 0, JOB);
    Atomics.notify(word, 0);
    if (byRows) runBlocks(this.kernel, layout, 0, mine, 0, panels, this.rows, panelStep);
    else runBlocks(this.kernel, layout, 0, rowBlocks, 0, mine, this.rows, panelStep);
    while (Atomics.load(word, 0) === JOB) Atomics.wait(word, 0, JOB, 1000);
    if (Atomics.load(word, 0) === FAILED) {
      Atomics.store(word, 0, IDLE);
      throw new Error("the matmul helper thread failed");
    }
  }

  /** Stops the helper thread (tests; a process exit stops it anyway). */
  async close(): Promise<void> {
    Atomics.store(this.control, 0, QUIT);
    Atomics.notify(this.control, 0);
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
