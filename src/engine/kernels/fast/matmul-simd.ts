import { UnsupportedFeatureError } from "../../../errors/index.js";
import { KernelWorkspace } from "./workspace.js";
import { relaxedSimdAvailable } from "./relaxed-simd.js";
import { i32Params, moduleWithFunctions, op, valueType } from "./wasm-emitter.js";

// out[N, OC] = inp[N, C] @ weight[OC, C]^T with WebAssembly SIMD, as a BLAS-style register-tiled
// kernel: a tile of ROWS rows x (4 * VECTORS) output channels lives in ROWS * VECTORS f32x4
// accumulators for a whole stretch of the reduction; each step loads VECTORS vectors of the weight
// panel and broadcasts one input value per row into them (outer products), so there is no horizontal
// sum and every load feeds several fused multiply-adds. The weight is packed into panels of
// 4 * VECTORS channels laid out [C][4 * VECTORS] (O(OC*C) copying against O(N*C*OC) arithmetic); the
// input rows are read in place, so the loop carries no address arithmetic beyond one add per row
// pointer. Accumulation is float32 in lanes, as in BLAS sgemm, so results differ from the JS kernels
// by rounding only.

/**
 * Rows per register tile. With the kernels specialised per row stride (rows at constant offsets, so a
 * taller tile costs no pointer updates) 4x8 is as fast as 2x16 per multiply-add and faster in a
 * stories15M training step (output head 0.90-0.93x the time, 2.6-3.1 s steps against 2.8-3.1 s
 * alternating runs): a LoRA rank of 8 fills its panels exactly, so those outputs are written in place
 * with no half-empty panels, and 2048 rows, 288, 768 and 32000 channels are whole tiles. 3x12 was
 * ~6% faster on the 288/768-wide shapes but pads the 32000-wide head and 2048 rows; 5x8 and wider spill.
 */
export const TILE_ROWS = 4;
/** f32x4 vectors per register tile row: the panel width is 4 * TILE_VECTORS channels. */
export const TILE_VECTORS = 2;

// parameters (W_STEP: bytes from one reduction step of a panel to the next; 4 * width when packed)
const OUT = 0, X = 1, W = 2, ROW_BLOCKS = 3, PANELS = 4, ROW_BYTES = 5, OUT_ROW_BYTES = 6, PANEL_BYTES = 7, STEPS = 8, ACCUMULATE = 9, W_STEP = 10;
const PARAMS = 11;

/** Fused multiply-adds (relaxed SIMD) when this runtime has them: half the instructions of mul + add. */
const fusedMultiplyAdd = relaxedSimdAvailable();

/**
 * The kernel module. With `rowBytes` it is specialised for inputs of that row stride: the tile's rows
 * are read at constant offsets from one pointer, so a reduction step advances two pointers (input,
 * weight) whatever the tile's height, where the general kernel advances one per row; that frees the
 * issue slots a taller tile needs (measured ~5-15% faster per thread).
 */
export function buildMatmulKernel(sharedMaxPages?: number, fused = fusedMultiplyAdd, rows = TILE_ROWS, vectors = TILE_VECTORS, rowBytes?: number): Uint8Array<ArrayBuffer> {
  const get = op.localGet, set = op.localSet;
  const specialised = rowBytes !== undefined;
  // i32 locals after the parameters, then v128 locals
  let next = PARAMS;
  const RB = next++, P = next++, XEND = next++, WP = next++, XBASE = next++, OBASE = next++, OPTR = next++;
  const XR = Array.from({ length: specialised ? 1 : rows }, () => next++);
  const i32Locals = next - PARAMS;
  const ACC = Array.from({ length: rows * vectors }, () => next++);
  const WV = Array.from({ length: vectors }, () => next++);
  const S = next++;
  const v128Locals = next - PARAMS - i32Locals;
  const acc = (r: number, v: number) => ACC[r * vectors + v];
  const panelStep = vectors * 16; // bytes of one reduction step of a packed panel: the tile's width

  const code: number[] = [];
  const emit = (...parts: number[][]) => parts.forEach((p) => code.push(...p));
  /** Row r's input value at the current step. */
  const rowValue = (r: number) => (specialised ? [...get(XR[0]), ...op.v128Load32Splat(r * rowBytes)] : [...get(XR[r]), ...op.v128Load32Splat(0)]);
  /** One reduction step at the current pointers. */
  const step = () => {
    for (let v = 0; v < vectors; v++) emit(get(WP), op.v128Load(v * 16), set(WV[v]));
    for (let r = 0; r < rows; r++) {
      emit(rowValue(r), set(S));
      for (let v = 0; v < vectors; v++) {
        if (fused) emit(get(S), get(WV[v]), get(acc(r, v)), op.f32x4RelaxedMadd, set(acc(r, v)));
        else emit(get(acc(r, v)), get(S), get(WV[v]), op.f32x4Mul, op.f32x4Add, set(acc(r, v)));
      }
    }
  };
  const advance = () => {
    for (const pointer of XR) emit(get(pointer), op.i32Const(4), op.i32Add, set(pointer));
    emit(get(WP), get(W_STEP), op.i32Add, set(WP));
  };
  /** do body while the first row's pointer is short of XEND (the stretch's end), skipped when STEPS is 0. */
  const stepLoop = (body: () => void) => {
    emit(get(XR[0]), get(STEPS), op.i32Const(4), op.i32Mul, op.i32Add, set(XEND));
    emit(op.block, get(STEPS), op.i32Eqz, op.brIf(0), op.loop);
    body();
    emit(get(XR[0]), get(XEND), op.i32LtU, op.brIf(0), op.end, op.end);
  };

  emit(get(X), set(XBASE), get(OUT), set(OBASE), op.i32Const(0), set(RB), op.loop);
  {
    emit(op.i32Const(0), set(P), get(W), set(WP), get(OBASE), set(OPTR), op.loop);
    {
      for (const a of ACC) emit(op.v128Zero, set(a));
      emit(get(XBASE), set(XR[0]));
      for (let r = 1; r < XR.length; r++) emit(get(XR[r - 1]), get(ROW_BYTES), op.i32Add, set(XR[r]));
      // one reduction step per loop turn: TurboFan unrolls it itself, while bodies unrolled here let it
      // hoist every load to the top and spill accumulators to the stack (seen in --print-wasm-code)
      stepLoop(() => {
        step();
        advance();
      });
      // the tile: += what is there when accumulating, then store; XEND (free now) walks down the tile's rows
      emit(get(OPTR), set(XEND));
      emit(get(ACCUMULATE), op.if);
      for (let r = 0; r < rows; r++) {
        for (let v = 0; v < vectors; v++) emit(get(acc(r, v)), get(XEND), op.v128Load(v * 16), op.f32x4Add, set(acc(r, v)));
        emit(get(XEND), get(OUT_ROW_BYTES), op.i32Add, set(XEND));
      }
      emit(op.end, get(OPTR), set(XEND));
      for (let r = 0; r < rows; r++) {
        for (let v = 0; v < vectors; v++) emit(get(XEND), get(acc(r, v)), op.v128Store(v * 16));
        emit(get(XEND), get(OUT_ROW_BYTES), op.i32Add, set(XEND));
      }
      // next panel: the weight pointer restarts at the panel's start, the tile moves right
      emit(get(W), get(P), op.i32Const(1), op.i32Add, get(PANEL_BYTES), op.i32Mul, op.i32Add, set(WP));
      emit(get(OPTR), op.i32Const(panelStep), op.i32Add, set(OPTR));
      emit(get(P), op.i32Const(1), op.i32Add, set(P));
      emit(get(P), get(PANELS), op.i32LtU, op.brIf(0));
    }
    emit(op.end);
    emit(get(XBASE), get(ROW_BYTES), op.i32Const(rows), op.i32Mul, op.i32Add, set(XBASE));
    emit(get(OBASE), get(OUT_ROW_BYTES), op.i32Const(rows), op.i32Mul, op.i32Add, set(OBASE));
    emit(get(RB), op.i32Const(1), op.i32Add, set(RB));
    emit(get(RB), get(ROW_BLOCKS), op.i32LtU, op.brIf(0));
  }
  emit(op.end);
  return moduleWithFunctions([{ name: "matmul", params: i32Params(PARAMS), results: [], locals: [[i32Locals, valueType.i32], [v128Locals, valueType.v128]], code }], sharedMaxPages);
}

export type KernelFunction = (
  out: number, x: number, w: number, rowBlocks: number, panels: number, rowBytes: number, outRowBytes: number, panelBytes: number, steps: number, accumulate: number, wStepBytes: number,
) => void;

const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/**
 * Where a call's operands sit in the kernel memory, and their strides. The weight's panels are either
 * packed (panel after panel, each [C][width]: wStepBytes = 4 * width, panelBytes = C * wStepBytes) or
 * read in place from a [C, OC] matrix whose OC is whole panels (wStepBytes = 4 * OC, panelBytes = 4 * width).
 */
export interface MatmulLayout {
  outAt: number;
  xAt: number;
  wAt: number;
  C: number;
  rowBytes: number;
  outRowBytes: number;
  panelBytes: number;
  accumulate: number;
  wStepBytes: number;
  /** Which kernel runs it: 0 the general one, else the row stride its kernel is specialised for. */
  kernelId: number;
}

/**
 * The kernel calls for row blocks [rowBlockStart, +rowBlockCount) x panels [panelStart, +panelCount),
 * cache-blocked: the reduction in stretches of at most 512 steps (a tile's input rows, 4 x 2 KB, stay
 * in L1) and, within a stretch, groups of panels of ~256 KB (L2) that every row block reuses.
 * Self-contained on purpose (no outer references): its source is also run inside the helper thread.
 */
export function runBlocks(kernel: KernelFunction, layout: MatmulLayout, rowBlockStart: number, rowBlockCount: number, panelStart: number, panelCount: number, rows: number, panelStep: number): void {
  const { outAt, xAt, wAt, C, rowBytes, outRowBytes, panelBytes, accumulate, wStepBytes } = layout;
  if (rowBlockCount <= 0 || panelCount <= 0) return;
  const stretches = Math.ceil(C / 512);
  const stretch = Math.ceil(C / stretches / 4) * 4;
  const panelsPerGroup = Math.max(1, Math.floor(262144 / (stretch * panelStep)));
  const out = outAt + rowBlockStart * rows * outRowBytes, x = xAt + rowBlockStart * rows * rowBytes;
  for (let k0 = 0; k0 < C; k0 += stretch) {
    const length = Math.min(stretch, C - k0);
    const add = accumulate || k0 > 0 ? 1 : 0;
    for (let p0 = panelStart; p0 < panelStart + panelCount; p0 += panelsPerGroup) {
      const panels = Math.min(panelsPerGroup, panelStart + panelCount - p0);
      kernel(out + p0 * panelStep, x + k0 * 4, wAt + p0 * panelBytes + k0 * wStepBytes, rowBlockCount, panels, rowBytes, outRowBytes, panelBytes, length, add, wStepBytes);
    }
  }
}

/** How a SimdMatmul's kernels are built: the register tile (rows x 4 * vectors) and fused multiply-adds. */
export interface MatmulKernelOptions {
  fused?: boolean;
  rows?: number;
  vectors?: number;
}

/** Row strides with a kernel of their own (each is a small module); further strides use the general kernel. */
const MAX_SPECIALISED = 24;

export class SimdMatmul {
  /** Where the operands, panels and scratch live: the kernel set's workspace, or a private one of its own. */
  readonly workspace: KernelWorkspace;
  protected readonly rows: number;
  protected readonly panelWidth: number;
  private readonly fused: boolean;
  private readonly vectors: number;
  private readonly sharedMaxPages: number | undefined;
  /** Kernels by id, and their modules: 0 is the general one, a row stride in bytes one specialised for it. */
  private readonly kernels = new Map<number, KernelFunction>();
  protected readonly kernelModules = new Map<number, WebAssembly.Module>();
  private heap: Float32Array;

  /** Runs in `workspace` (a kernel set's); without one, in a private memory of its own. */
  constructor(options: MatmulKernelOptions = {}, workspace?: KernelWorkspace) {
    this.fused = options.fused ?? fusedMultiplyAdd;
    this.rows = options.rows ?? TILE_ROWS;
    this.vectors = options.vectors ?? TILE_VECTORS;
    this.panelWidth = 4 * this.vectors;
    this.workspace = workspace ?? new KernelWorkspace({ shared: false });
    this.sharedMaxPages = this.workspace.shared ? this.workspace.maxPages : undefined;
    this.maxBytes = this.workspace.maxBytes;
    this.heap = this.workspace.heap();
  }

  /** The WebAssembly memory the kernels run in (the workspace's). */
  get memory(): WebAssembly.Memory {
    return this.workspace.memory;
  }

  /** The kernel for an id (0: general; else the row stride in bytes it is specialised for), compiled on first use. */
  protected kernelFor(id: number): KernelFunction {
    let kernel = this.kernels.get(id);
    if (!kernel) {
      const module = new WebAssembly.Module(buildMatmulKernel(this.sharedMaxPages, this.fused, this.rows, this.vectors, id === 0 ? undefined : id));
      kernel = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports.matmul as KernelFunction;
      this.kernels.set(id, kernel);
      this.kernelModules.set(id, module);
    }
    return kernel;
  }

  /** The kernel id for inputs of this row stride: a specialised kernel while there is room for one. */
  private kernelIdFor(rowBytes: number): number {
    return this.kernels.has(rowBytes) || this.kernels.size <= MAX_SPECIALISED ? rowBytes : 0;
  }

  /** Largest operand size in bytes this instance may use (the workspace's maximum; tests make it small). */
  protected maxBytes: number;
  /**
   * Packed panels of frozen weights, kept between calls. Keyed by the memory a weight views (buffer,
   * offset, length), not the view object: callers may hand over a fresh subarray of the same weight on
   * every call. Each is a block of the workspace, given back on dispose.
   */
  private readonly packed = new WeakMap<ArrayBufferLike, Map<string, number>>();
  /** Panel blocks: address -> bytes. */
  private readonly panelBlocks = new Map<number, number>();
  private panelBytes = 0;
  /** The per-call scratch block (operands copied in, results), kept and grown as calls need. */
  private scratchAt = -1;
  private scratchBytes = 0;
  /** Resident buffers handed out (allocateResident) and not yet freed: address -> bytes. */
  private readonly residentBlocks = new Map<number, number>();
  private residentBytes = 0;
  /** Bytes of kernel memory kept between calls: frozen-weight panels and resident buffers. */
  get packedBytes(): number {
    return this.panelBytes + this.residentBytes;
  }
  /** Bytes of kept frozen-weight panels alone. */
  get keptWeightBytes(): number {
    return this.panelBytes;
  }
  /** Resident buffers are handed out while they fit in this many bytes in all; later requests get null. */
  residentBudget = 768 * 2 ** 20;

  /**
   * A zeroed buffer of `floats` floats inside the kernel memory, for a large activation that goes in
   * and out of matmuls (the logits): operands that already live here are used in place instead of
   * being copied in and out (262 MB each way for a 2048 x 32000 head). Given back by freeResident; null
   * when the budget is spent or the memory is not shared, since only a SharedArrayBuffer survives the
   * memory's growth.
   */
  allocateResident(floats: number): Float32Array | null {
    const bytes = align16(floats * 4);
    if (!this.workspace.shared) return null;
    if (this.residentBytes + bytes > this.residentBudget || this.packedBytes + bytes > this.maxBytes / 2) return null;
    const view = this.workspace.allocate(floats);
    if (!view) return null;
    this.residentBlocks.set(view.byteOffset, bytes);
    this.residentBytes += bytes;
    return view;
  }

  /** Gives a buffer from allocateResident back to the workspace (other arrays are ignored). */
  freeResident(array: Float32Array): void {
    const at = this.workspace.addressOf(array), bytes = this.residentBlocks.get(at);
    if (bytes === undefined) return;
    this.workspace.release(at);
    this.residentBlocks.delete(at);
    this.residentBytes -= bytes;
  }

  /** Gives back the panels kept for frozen weights that view `buffer` (their owner is done with them). */
  releasePanels(buffer: ArrayBufferLike): void {
    const views = this.packed.get(buffer);
    if (!views) return;
    for (const at of views.values()) {
      this.workspace.release(at);
      this.panelBytes -= this.panelBlocks.get(at) ?? 0;
      this.panelBlocks.delete(at);
    }
    this.packed.delete(buffer);
  }

  /** Gives every block this matmul holds (panels, scratch, resident buffers) back to the workspace. */
  dispose(): void {
    for (const at of [...this.panelBlocks.keys(), ...this.residentBlocks.keys()]) this.workspace.release(at);
    if (this.scratchAt >= 0) this.workspace.release(this.scratchAt);
    this.panelBlocks.clear();
    this.residentBlocks.clear();
    this.panelBytes = this.residentBytes = this.scratchBytes = 0;
    this.scratchAt = -1;
  }

  /** Which operands the last call used in place (tests); weightInPlace: a changing weight read unpacked. */
  lastCall = { xInPlace: false, outInPlace: false, weightInPlace: false };

  /** The kernel-memory address of an array that lives in this memory, else -1. */
  addressOf(array: Float32Array): number {
    return this.workspace.addressOf(array);
  }
  /** Frozen weights are packed once while their panels fit in this many bytes; later ones per call. */
  packedBudget = 1 << 30;

  /**
   * Same contract as matmulForward in ../reference/matmul.ts. With `frozen` the caller promises `weight` never
   * changes: its packed panels are kept and reused by later calls.
   */
  forward(out: Float32Array, inp: Float32Array, weight: Float32Array, N: number, C: number, OC: number, accumulate = false, frozen = false): void {
    this.run(out, inp, weight, N, C, OC, accumulate, frozen, false);
  }

  /**
   * dinp[N, C] += dout[N, OC] @ weight[OC, C] (= without accumulate), as forward's contract with the
   * weight's transpose, packed straight from `weight` (no transposed copy needed). `frozen` as in forward.
   */
  backwardInput(dinp: Float32Array, dout: Float32Array, weight: Float32Array, N: number, C: number, OC: number, frozen = false, accumulate = true): void {
    this.run(dinp, dout, weight, N, OC, C, accumulate, frozen, true);
  }

  /** out[N, OC] (+)= x[N, K] @ M^T where M is [OC, K] = weight, or weight^T ([K, OC] stored) when transposed. */
  private run(out: Float32Array, x: Float32Array, weight: Float32Array, N: number, K: number, OC: number, accumulate: boolean, frozen: boolean, transposed: boolean): void {
    const rows = this.rows, width = this.panelWidth;
    const rowBlocks = Math.ceil(N / rows), panels = Math.ceil(OC / width);
    const Npad = rowBlocks * rows, OCpad = panels * width;
    const wBytes = panels * K * width * 4;
    let wAt = frozen ? this.packedAt(weight, K, transposed) : -1;
    if (wAt < 0 && frozen && this.packedBytes + wBytes <= Math.min(this.packedBudget, this.maxBytes / 2)) wAt = this.keepPanels(weight, K, OC, transposed, wBytes);
    // a changing weight stored [K, OC] (transposed) whose rows are whole panels needs no packing: the
    // kernel reads its panels in place, one row of the weight per reduction step (a LoRA weight
    // gradient's activation operand, 2048 x 288, was re-packed by a strided gather on every call)
    const inPlaceWeight = wAt < 0 && transposed && OC === OCpad;
    const wResident = inPlaceWeight ? this.addressOf(weight) : -1;
    if (wResident >= 0) wAt = wResident;
    // operands already in this memory are used in place: the input when its rows past N (read for the
    // last row block, results discarded) stay inside it, the output when its rows are OCpad wide and
    // the last block's extra rows fit in it
    const xResident = this.addressOf(x), outResident = this.addressOf(out);
    const xInPlace = xResident >= 0 && xResident + Npad * K * 4 <= this.memory.buffer.byteLength;
    const outInPlace = outResident >= 0 && OCpad === OC && out.length >= Npad * OC && outResident !== xResident;
    const xBytes = xInPlace ? 0 : align16(Npad * K * 4), outBytes = outInPlace ? 0 : Npad * OCpad * 4, packBytes = wAt < 0 ? wBytes : 0;
    const scratchAt = this.scratchFor(xBytes + outBytes + packBytes, `a ${N}x${K} by ${K}x${OC} matmul`);
    const heap = this.currentHeap();
    const xAt = xInPlace ? xResident : scratchAt, outAt = outInPlace ? outResident : scratchAt + xBytes;
    if (wAt < 0) {
      wAt = scratchAt + xBytes + outBytes;
      if (inPlaceWeight) heap.set(weight.length === K * OC ? weight : weight.subarray(0, K * OC), wAt / 4);
      else packPanels(heap, wAt / 4, weight, K, OC, width, panels, transposed);
    }
    if (!xInPlace) {
      heap.set(x.length === N * K ? x : x.subarray(0, N * K), xAt / 4);
      heap.fill(0, xAt / 4 + N * K, xAt / 4 + Npad * K); // rows of the last block past N
    }
    const o = outAt / 4;
    if (accumulate && !outInPlace) {
      if (OCpad === OC) heap.set(out.subarray(0, N * OC), o);
      else for (let n = 0; n < N; n++) heap.set(out.subarray(n * OC, n * OC + OC), o + n * OCpad);
    }
    const kernelId = this.kernelIdFor(K * 4);
    const layout: MatmulLayout = inPlaceWeight
      ? { outAt, xAt, wAt, C: K, rowBytes: K * 4, outRowBytes: OCpad * 4, panelBytes: width * 4, accumulate: accumulate ? 1 : 0, wStepBytes: OC * 4, kernelId }
      : { outAt, xAt, wAt, C: K, rowBytes: K * 4, outRowBytes: OCpad * 4, panelBytes: K * width * 4, accumulate: accumulate ? 1 : 0, wStepBytes: width * 4, kernelId };
    this.lastCall = { xInPlace, outInPlace, weightInPlace: inPlaceWeight };
    this.compute(layout, rowBlocks, panels, N * K * OC);
    if (outInPlace) return;
    if (OCpad === OC) out.set(heap.subarray(o, o + N * OC));
    else for (let n = 0; n < N; n++) out.set(heap.subarray(o + n * OCpad, o + n * OCpad + OC), n * OC);
  }

  /** Packs a frozen weight's panels into a block of their own and remembers where; -1 when the workspace has no room. */
  private keepPanels(weight: Float32Array, K: number, OC: number, transposed: boolean, wBytes: number): number {
    const wAt = this.workspace.reserve(wBytes);
    if (wAt < 0) return -1;
    const width = this.panelWidth, panels = Math.ceil(OC / width);
    packPanels(this.currentHeap(), wAt / 4, weight, K, OC, width, panels, transposed);
    this.panelBlocks.set(wAt, wBytes);
    this.panelBytes += wBytes;
    const views = this.packed.get(weight.buffer) ?? new Map<string, number>();
    views.set(packKey(weight, K, transposed), wAt);
    this.packed.set(weight.buffer, views);
    return wAt;
  }

  private packedAt(weight: Float32Array, K: number, transposed: boolean): number {
    return this.packed.get(weight.buffer)?.get(packKey(weight, K, transposed)) ?? -1;
  }

  /** Runs the kernel over every tile of operands already in memory; a subclass may split it. */
  protected compute(layout: MatmulLayout, rowBlocks: number, panels: number, _work: number): void {
    runBlocks(this.kernelFor(layout.kernelId), layout, 0, rowBlocks, 0, panels, this.rows, this.panelWidth * 4);
  }

  /**
   * The address of a scratch block of at least `bytes` (this call's copies), growing the kept one when
   * it is too small; a typed error naming the call when the workspace has no room for it.
   */
  private scratchFor(bytes: number, call: string): number {
    if (bytes <= this.scratchBytes) return this.scratchAt;
    if (this.scratchAt >= 0) this.workspace.release(this.scratchAt);
    this.scratchAt = -1;
    this.scratchBytes = 0;
    const held = this.workspace.usedBytes;
    const at = held + bytes > this.maxBytes ? -1 : this.workspace.reserve(bytes);
    if (at < 0) {
      const mib = (size: number) => `${Math.ceil(size / 2 ** 20)} MiB`;
      throw new UnsupportedFeatureError(
        `${call} needs ${mib(bytes)} of kernel memory and ${mib(this.maxBytes - held)} is left ` +
          `(${mib(this.maxBytes)} in all, ${mib(held)} held by packed weights and resident buffers): use a smaller batch or sequence length`,
      );
    }
    this.scratchAt = at;
    this.scratchBytes = bytes;
    return at;
  }

  /** A view over the whole memory as it is now (the memory may have grown since the last call). */
  private currentHeap(): Float32Array {
    if (this.heap.buffer !== this.memory.buffer) this.heap = this.workspace.heap();
    return this.heap;
  }
}

const packKey = (weight: Float32Array, K: number, transposed: boolean) => `${weight.byteOffset}:${weight.length}:${K}:${transposed ? "T" : "N"}`;

/**
 * Packs the [OC, K] matrix M into panels of `width` rows of M laid out [K][width] (zero past OC):
 * heap[at + (p*K + k)*width + j] = M[p*width + j, k]. M is `weight` itself ([OC, K]) or, when
 * transposed, weight^T with weight stored [K, OC] — then each panel step copies `width` contiguous
 * floats of a weight row. Either way the writes run in order.
 */
function packPanels(heap: Float32Array, at: number, weight: Float32Array, K: number, OC: number, width: number, panels: number, transposed: boolean): void {
  for (let p = 0; p < panels; p++) {
    const o0 = p * width, valid = Math.min(width, OC - o0);
    let target = at + p * K * width;
    if (transposed) {
      for (let k = 0; k < K; k++, target += width) {
        const row = k * OC + o0;
        for (let j = 0; j < valid; j++) heap[target + j] = weight[row + j];
        for (let j = valid; j < width; j++) heap[target + j] = 0;
      }
    } else {
      for (let k = 0; k < K; k++, target += width) {
        let source = o0 * K + k;
        for (let j = 0; j < valid; j++, source += K) heap[target + j] = weight[source];
        for (let j = valid; j < width; j++) heap[target + j] = 0;
      }
    }
  }
}

/** True when this runtime validates WebAssembly SIMD (Node 16.4+ does). */
export function simdAvailable(): boolean {
  try {
    return WebAssembly.validate(buildMatmulKernel());
  } catch {
    return false;
  }
}
