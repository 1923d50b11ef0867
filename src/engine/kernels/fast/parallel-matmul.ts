import { MATMUL_HELPER_UNITS, MATMUL_JOB, MATMUL_KERNEL_ID, MATMUL_NEXT, MATMUL_W_STEP, runUnits } from "./helper-jobs.js";
import { KernelHelper } from "./kernel-helper.js";
import type { ResidentMemory } from "./resident-memory.js";
import { KernelWorkspace } from "./workspace.js";
import { buildMatmulKernel, runBlocks, SimdMatmul, type MatmulKernelOptions, type MatmulLayout } from "./matmul-simd.js";

// The SIMD matmul on two threads: one shared WebAssembly memory, and the kernel set's one helper thread
// (./kernel-helper.ts, given by the set; a kernel run alone makes its own) running the same compiled kernel. The operands are copied in once; the work is cut into units (stretches of row
// blocks, or of panels when there are few rows) that both threads claim from a shared counter, so a
// thread slowed by another process on its core takes fewer units instead of keeping the other waiting.
// The helper's control word hands jobs over with Atomics (./helper-jobs.ts), so a matmul costs no
// message passing: this thread posts JOB; the helper claims it (JOB -> RUNNING) before touching anything, so
// when this thread has run out of units and the helper never woke, it withdraws the job (JOB -> IDLE)
// instead of waiting for a sleeping thread.

const MAX_PAGES = 32768; // 2 GiB of address space reserved (a shared memory cannot move)

const MAX_UNITS = 48;
/** Packed weights above this are shared out by panels rather than by row blocks. */
const LARGE_WEIGHT_BYTES = 4 << 20;

/**
 * A ResidentMemory (./resident-memory.ts) too: the model's activations live in its shared workspace, so
 * the attention, RMSNorm and RoPE kernels run on those arrays in place.
 */
export class ParallelSimdMatmul extends SimdMatmul implements ResidentMemory {
  private readonly helper: KernelHelper;
  /** Whether the helper is this kernel's own (run alone) rather than its kernel set's. */
  private readonly ownHelper: boolean;
  private readonly control: Int32Array;

  /** With helperRunsEveryUnit (tests) this thread leaves every unit to the helper and waits. */
  private readonly helperRunsEveryUnit: boolean;

  /** Kernel ids whose module the helper has been sent. */
  private readonly sentToHelper = new Set<number>();

  /** Runs in a kernel set's shared workspace; without one, in a shared workspace of its own (tests, benchmarks). */
  constructor(options: MatmulKernelOptions & { helperRunsEveryUnit?: boolean } = {}, workspace?: KernelWorkspace, helper?: KernelHelper) {
    const own = workspace ?? new KernelWorkspace({ shared: true, maxPages: MAX_PAGES });
    if (!own.shared) throw new TypeError("the two-thread matmul needs a shared workspace");
    super(options, own);
    this.helperRunsEveryUnit = options.helperRunsEveryUnit ?? false;
    this.ownHelper = !helper;
    this.helper = helper ?? new KernelHelper();
    this.control = this.helper.region(MATMUL_JOB);
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
    return Atomics.load(this.control, MATMUL_HELPER_UNITS);
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
    word[6] = layout.outRowBytes; word[7] = layout.panelBytes; word[8] = layout.accumulate; word[MATMUL_W_STEP] = layout.wStepBytes;
    const kernel = this.kernelFor(layout.kernelId);
    if (!this.sentToHelper.has(layout.kernelId)) {
      this.helper.post({ family: MATMUL_JOB, kernelId: layout.kernelId, module: this.kernelModules.get(layout.kernelId)!, memory: this.workspace.memory });
      this.sentToHelper.add(layout.kernelId);
    }
    word[MATMUL_KERNEL_ID] = layout.kernelId;
    word[9] = rowBlocks; word[10] = panels; word[11] = this.rows; word[12] = this.panelWidth * 4;
    word[13] = byRows ? 1 : 0; word[14] = unitSize; word[15] = Math.ceil(count / unitSize); word[MATMUL_NEXT] = 0;
    this.helper.start(MATMUL_JOB);
    if (this.helperRunsEveryUnit) {
      const failure = this.helper.wait();
      if (failure !== null) throw new Error(`the matmul helper thread failed: ${failure}`);
      return;
    }
    runUnits(kernel, word, runBlocks);
    // the helper never claimed the job: take it back rather than wait for a thread that is not running
    if (this.helper.withdraw()) return;
    const failure = this.helper.wait();
    if (failure !== null) throw new Error(`the matmul helper thread failed: ${failure}`);
  }

  /** Gives its blocks back and stops its own helper thread at once (a kernel set's helper is the set's to stop). */
  override dispose(): void {
    super.dispose();
    if (this.ownHelper) this.helper.dispose();
  }

  /** Stops its own helper thread (tests; a process exit stops it anyway). */
  async close(): Promise<void> {
    if (this.ownHelper) await this.helper.close();
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
