import { Worker } from "node:worker_threads";
import { buildMatmulKernel, runBlocks, SimdMatmul } from "./matmul-simd.js";

// The SIMD matmul on two threads: one shared WebAssembly memory, one helper worker running the same
// compiled kernel. The operands are copied in once; the helper takes the second half of the row
// pairs while this thread does the first. A control word in a SharedArrayBuffer (0 idle, 1 job,
// 2 quit, 3 failed) hands jobs over with Atomics, so a matmul costs no message passing.

const MAX_PAGES = 32768; // 2 GiB of address space reserved (a shared memory cannot move)
const IDLE = 0, JOB = 1, QUIT = 2, FAILED = 3;

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
    runBlocks(kernel, word[1], word[2], word[3], word[4], word[5], word[6], word[7], word[8], word[9]);
    Atomics.store(word, 0, ${IDLE});
  } catch {
    Atomics.store(word, 0, ${FAILED});
  }
  Atomics.notify(word, 0);
}
`;

export class ParallelSimdMatmul extends SimdMatmul {
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * 10));
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

  protected override compute(outAt: number, inpAt: number, weightAt: number, N2: number, C: number, OC: number, O4: number, accumulate: boolean): void {
    // below ~1 MFLOP the hand-over costs more than it saves
    if (N2 < 8 || N2 * C * O4 < 1 << 19) return super.compute(outAt, inpAt, weightAt, N2, C, OC, O4, accumulate);
    const mine = Math.floor(N2 / 4) * 2;
    const word = this.control;
    word[1] = outAt; word[2] = inpAt; word[3] = weightAt; word[4] = mine; word[5] = N2 - mine;
    word[6] = C; word[7] = OC; word[8] = O4; word[9] = accumulate ? 1 : 0;
    Atomics.store(word, 0, JOB);
    Atomics.notify(word, 0);
    runBlocks(this.kernel, outAt, inpAt, weightAt, 0, mine, C, OC, O4, accumulate ? 1 : 0);
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
