import { matmulForwardFast } from "../matmul-fast.js";
import { relaxedSimdAvailable } from "./relaxed-simd.js";
import { moduleWithOneFunction, op, valueType } from "./wasm-bytes.js";

// out[N, OC] = inp[N, C] @ weight[OC, C]^T with WebAssembly SIMD: blocks of 2 rows x 4 output channels,
// eight f32x4 accumulators over C (8 of 16 vector registers, leaving room for the loads). Operands are
// copied into the module's memory (O(N*C + OC*C) against O(N*C*OC) of arithmetic); edges that do not
// fill a block, and C not a multiple of 4, are finished by the JS kernel. Accumulation is float32 in
// four lanes, as in BLAS sgemm, so results differ from the JS kernels by rounding only.

// parameters (ROW_BYTES is the stride of inp and weight rows; LENGTH_BYTES how much of each row to use)
const OUT = 0, INP = 1, WEIGHT = 2, N_BLOCKED = 3, ROW_BYTES = 4, OUT_ROW_BYTES = 5, O_BLOCKED = 6, ACCUMULATE = 7, LENGTH_BYTES = 8;
// i32 locals
const N = 9, O = 10, C = 11, X0 = 12, X1 = 13, W0 = 14, W1 = 15, W2 = 16, W3 = 17, OUT_PTR = 18;
// v128 locals
const ACC = 19; // ACC + row * 4 + j
const XV0 = 27, XV1 = 28, WV = 29;

/** Fused multiply-adds (relaxed SIMD) when this runtime has them: half the instructions of mul + add. */
const fusedMultiplyAdd = relaxedSimdAvailable();

export function buildMatmulKernel(sharedMaxPages?: number, fused = fusedMultiplyAdd): Uint8Array<ArrayBuffer> {
  const get = op.localGet, set = op.localSet;
  const code: number[] = [];
  const emit = (...parts: number[][]) => parts.forEach((p) => code.push(...p));
  const horizontalSum = (acc: number) => [
    ...get(acc), ...op.f32x4ExtractLane(0), ...get(acc), ...op.f32x4ExtractLane(1), ...op.f32Add,
    ...get(acc), ...op.f32x4ExtractLane(2), ...op.f32Add, ...get(acc), ...op.f32x4ExtractLane(3), ...op.f32Add,
  ];
  emit(op.i32Const(0), set(N), op.loop);
  {
    emit(op.i32Const(0), set(O), op.loop);
    {
      for (let a = 0; a < 8; a++) emit(op.v128Zero, set(ACC + a));
      // row pointers: x0 = inp + n*rowBytes, x1 = x0 + rowBytes; w_j = weight + (o + j)*rowBytes
      emit(get(INP), get(N), get(ROW_BYTES), op.i32Mul, op.i32Add, set(X0));
      emit(get(X0), get(ROW_BYTES), op.i32Add, set(X1));
      emit(get(WEIGHT), get(O), get(ROW_BYTES), op.i32Mul, op.i32Add, set(W0));
      emit(get(W0), get(ROW_BYTES), op.i32Add, set(W1));
      emit(get(W1), get(ROW_BYTES), op.i32Add, set(W2));
      emit(get(W2), get(ROW_BYTES), op.i32Add, set(W3));
      emit(op.i32Const(0), set(C), op.loop);
      {
        emit(get(X0), get(C), op.i32Add, op.v128Load, set(XV0));
        emit(get(X1), get(C), op.i32Add, op.v128Load, set(XV1));
        [W0, W1, W2, W3].forEach((w, j) => {
          emit(get(w), get(C), op.i32Add, op.v128Load, set(WV));
          if (fused) {
            emit(get(XV0), get(WV), get(ACC + j), op.f32x4RelaxedMadd, set(ACC + j));
            emit(get(XV1), get(WV), get(ACC + 4 + j), op.f32x4RelaxedMadd, set(ACC + 4 + j));
          } else {
            emit(get(ACC + j), get(XV0), get(WV), op.f32x4Mul, op.f32x4Add, set(ACC + j));
            emit(get(ACC + 4 + j), get(XV1), get(WV), op.f32x4Mul, op.f32x4Add, set(ACC + 4 + j));
          }
        });
        emit(get(C), op.i32Const(16), op.i32Add, set(C));
        emit(get(C), get(LENGTH_BYTES), op.i32LtU, op.brIf(0));
      }
      emit(op.end);
      // out_ptr = out + n*outRowBytes + o*4; row 1 is outRowBytes further
      emit(get(OUT), get(N), get(OUT_ROW_BYTES), op.i32Mul, op.i32Add, get(O), op.i32Const(4), op.i32Mul, op.i32Add, set(OUT_PTR));
      for (let row = 0; row < 2; row++) {
        for (let j = 0; j < 4; j++) {
          // out[j] = hsum(acc) + (accumulate ? out[j] : 0)
          emit(get(OUT_PTR), horizontalSum(ACC + row * 4 + j));
          emit(get(OUT_PTR), op.f32Load(4 * j), op.f32Const0, get(ACCUMULATE), op.select, op.f32Add);
          emit(op.f32Store(4 * j));
        }
        if (row === 0) emit(get(OUT_PTR), get(OUT_ROW_BYTES), op.i32Add, set(OUT_PTR));
      }
      emit(get(O), op.i32Const(4), op.i32Add, set(O));
      emit(get(O), get(O_BLOCKED), op.i32LtU, op.brIf(0));
    }
    emit(op.end);
    emit(get(N), op.i32Const(2), op.i32Add, set(N));
    emit(get(N), get(N_BLOCKED), op.i32LtU, op.brIf(0));
  }
  emit(op.end);
  return moduleWithOneFunction("matmul", 9, [[10, valueType.i32], [11, valueType.v128]], code, sharedMaxPages);
}

export type KernelFunction = (out: number, inp: number, weight: number, nBlocked: number, rowBytes: number, outRowBytes: number, oBlocked: number, accumulate: number, lengthBytes: number) => void;


const PAGE = 65536;
const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/**
 * The kernel calls for row pairs [rowStart, rowStart + rowCount) with cache blocking: the reduction in
 * chunks of 1024 floats (L1-sized pieces of a 32000-wide head gradient) and, within a chunk, blocks of
 * output channels whose weight rows fit in L2 (~256 KB), so a block is reused by every row pair
 * instead of streaming the whole weight (37 MB for a 32000 x 288 head) once per pair.
 * Self-contained on purpose (no outer references): its source is also run inside the helper thread.
 */
export function runBlocks(kernel: KernelFunction, outAt: number, inpAt: number, weightAt: number, rowStart: number, rowCount: number, C: number, OC: number, O4: number, accumulate: number): void {
  const chunk = 1024;
  const out = outAt + rowStart * OC * 4, inp = inpAt + rowStart * C * 4;
  for (let c0 = 0; c0 < C; c0 += chunk) {
    const length = Math.min(chunk, C - c0);
    const channelsPerBlock = Math.max(4, Math.floor(262144 / (length * 4) / 4) * 4);
    const add = accumulate || c0 > 0 ? 1 : 0;
    for (let o0 = 0; o0 < O4; o0 += channelsPerBlock) {
      const channels = Math.min(channelsPerBlock, O4 - o0);
      kernel(out + o0 * 4, inp + c0 * 4, weightAt + (o0 * C + c0) * 4, rowCount, C * 4, OC * 4, channels, add, length * 4);
    }
  }
}

export class SimdMatmul {
  protected readonly memory: WebAssembly.Memory;
  protected readonly kernel: KernelFunction;
  private heap: Float32Array;

  /** Without arguments: a private memory. A shared memory and its compiled module come from ParallelSimdMatmul. */
  constructor(shared?: { memory: WebAssembly.Memory; module: WebAssembly.Module }) {
    this.memory = shared?.memory ?? new WebAssembly.Memory({ initial: 16 });
    const module = shared?.module ?? new WebAssembly.Module(buildMatmulKernel());
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.kernel = instance.exports.matmul as KernelFunction;
    this.heap = new Float32Array(this.memory.buffer);
  }

  /** Largest operand size in bytes this instance can hold (a shared memory has a fixed maximum). */
  protected maxBytes = Infinity;

  /** Same contract as matmulForward in ../matmul.ts. */
  forward(out: Float32Array, inp: Float32Array, weight: Float32Array, N: number, C: number, OC: number, accumulate = false): void {
    const N2 = N - (N % 2), O4 = OC - (OC % 4);
    if (C % 4 !== 0 || N2 === 0 || O4 === 0) return matmulForwardFast(out, inp, weight, N, C, OC, accumulate);
    const inpBytes = align16(N * C * 4), weightBytes = align16(OC * C * 4), outBytes = align16(N * OC * 4);
    if (inpBytes + weightBytes + outBytes > this.maxBytes) return matmulForwardFast(out, inp, weight, N, C, OC, accumulate);
    this.reserve(inpBytes + weightBytes + outBytes);
    const heap = this.heap;
    const inpAt = 0, weightAt = inpBytes, outAt = inpBytes + weightBytes;
    heap.set(inp.length === N * C ? inp : inp.subarray(0, N * C), inpAt / 4);
    heap.set(weight.length === OC * C ? weight : weight.subarray(0, OC * C), weightAt / 4);
    if (accumulate) heap.set(out.length === N * OC ? out : out.subarray(0, N * OC), outAt / 4);
    this.compute(outAt, inpAt, weightAt, N2, C, OC, O4, accumulate);
    // copy back only the rows the kernel wrote; the JS kernel fills the edges in place
    out.set(heap.subarray(outAt / 4, outAt / 4 + N2 * OC));
    if (O4 < OC) {
      for (let n = 0; n < N2; n++) for (let o = O4; o < OC; o++) out[n * OC + o] = dot(inp, weight, n, o, C) + (accumulate ? out[n * OC + o] : 0);
    }
    for (let n = N2; n < N; n++) for (let o = 0; o < OC; o++) out[n * OC + o] = dot(inp, weight, n, o, C) + (accumulate ? out[n * OC + o] : 0);
  }

  /** Runs the kernel over row pairs [0, N2) of operands already in memory; a subclass may split it. */
  protected compute(outAt: number, inpAt: number, weightAt: number, N2: number, C: number, OC: number, O4: number, accumulate: boolean): void {
    runBlocks(this.kernel, outAt, inpAt, weightAt, 0, N2, C, OC, O4, accumulate ? 1 : 0);
  }

  private reserve(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    this.memory.grow(Math.ceil((bytes - have) / PAGE));
    this.heap = new Float32Array(this.memory.buffer);
  }
}

function dot(inp: Float32Array, weight: Float32Array, n: number, o: number, C: number): number {
  let sum = 0;
  for (let c = 0; c < C; c++) sum += inp[n * C + c] * weight[o * C + c];
  return sum;
}

/** True when this runtime validates WebAssembly SIMD (Node 16.4+ does). */
export function simdAvailable(): boolean {
  try {
    return WebAssembly.validate(buildMatmulKernel());
  } catch {
    return false;
  }
}
