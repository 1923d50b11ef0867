import type { PointwiseExports } from "./pointwise-simd.js";

// The JS side of the element-wise SIMD kernels: each call handles one unit of work (a block of rows,
// or a chunk of elements), copying its operands into the thread's WebAssembly memory, running the
// kernel there, and copying the results out. A 32000-float row is 128 KB, so it stays in L2 between
// the copy in, the kernel's passes and the copy out; the copies are memcpy, far cheaper than the
// arithmetic they save. Every function here is self-contained (no references outside its body and
// parameters) because the helper thread runs their source text (./parallel-pointwise.ts).

/** One thread's kernel instance and its private memory. */
export interface PointwiseWorkspace {
  exports: PointwiseExports;
  memory: WebAssembly.Memory;
  heap: Float32Array;
  heap64: Float64Array;
}

/** Bytes of the memory's start kept for per-row statistics: (max, sum) pairs of f64 for up to 256 rows. */
export const STATS_BYTES = 4096;
/** Elements per SwiGLU chunk: its five operands (320 KB) stay in L2. */
export const SWIGLU_CHUNK = 16384;

export function createPointwiseWorkspace(module: WebAssembly.Module): PointwiseWorkspace {
  const memory = new WebAssembly.Memory({ initial: 32 });
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return { exports: instance.exports as unknown as PointwiseExports, memory, heap: new Float32Array(memory.buffer), heap64: new Float64Array(memory.buffer) };
}

/** Grows the workspace's memory to at least `bytes`, refreshing its views. */
export function reserveWorkspace(workspace: PointwiseWorkspace, bytes: number): void {
  const have = workspace.memory.buffer.byteLength;
  if (bytes <= have) return;
  workspace.memory.grow(Math.ceil((bytes - have) / 65536));
  workspace.heap = new Float32Array(workspace.memory.buffer);
  workspace.heap64 = new Float64Array(workspace.memory.buffer);
}

/**
 * Softmax of the unmasked rows in [rowStart, rowEnd) of logits [N, V] into probs (may alias), with
 * stats[2n] = max and stats[2n + 1] = sum of e^(x - max) of row n. At most 256 rows per call.
 */
export function softmaxBlock(workspace: PointwiseWorkspace, probs: Float32Array, logits: Float32Array, mask: Uint8Array, stats: Float64Array, rowStart: number, rowEnd: number, V: number): void {
  const stride = Math.ceil(V / 16) * 16, base = 4096; // STATS_BYTES
  reserveWorkspace(workspace, base + (rowEnd - rowStart) * stride * 4);
  const heap = workspace.heap;
  let rows = 0;
  for (let n = rowStart; n < rowEnd; n++) {
    if (!mask[n]) continue;
    const at = base / 4 + rows * stride;
    heap.set(logits.subarray(n * V, n * V + V), at);
    if (stride > V) heap.fill(-Infinity, at + V, at + stride);
    rows++;
  }
  if (rows === 0) return;
  workspace.exports.softmax(base, rows, stride * 4, 0);
  const heap64 = workspace.heap64;
  rows = 0;
  for (let n = rowStart; n < rowEnd; n++) {
    if (!mask[n]) continue;
    const at = base / 4 + rows * stride;
    probs.set(heap.subarray(at, at + V), n * V);
    stats[2 * n] = heap64[2 * rows];
    stats[2 * n + 1] = heap64[2 * rows + 1];
    rows++;
  }
}

/** dlogits = probs * weight on unmasked rows of [rowStart, rowEnd), 0 on masked rows (the target entries are the caller's). */
export function scaleBlock(workspace: PointwiseWorkspace, dlogits: Float32Array, probs: Float32Array, mask: Uint8Array, weight: number, rowStart: number, rowEnd: number, V: number): void {
  const stride = Math.ceil(V / 16) * 16, base = 4096; // STATS_BYTES
  reserveWorkspace(workspace, base + (rowEnd - rowStart) * stride * 4);
  const heap = workspace.heap;
  let rows = 0;
  for (let n = rowStart; n < rowEnd; n++) {
    if (!mask[n]) dlogits.fill(0, n * V, n * V + V);
    else heap.set(probs.subarray(n * V, n * V + V), base / 4 + rows++ * stride);
  }
  if (rows === 0) return;
  workspace.exports.scale(base, rows * stride * 4, weight);
  rows = 0;
  for (let n = rowStart; n < rowEnd; n++) {
    if (!mask[n]) continue;
    const at = base / 4 + rows++ * stride;
    dlogits.set(heap.subarray(at, at + V), n * V);
  }
}

/** out = silu(gate) * up over elements [start, end) (at most SWIGLU_CHUNK). */
export function swigluForwardBlock(workspace: PointwiseWorkspace, out: Float32Array, gate: Float32Array, up: Float32Array, start: number, end: number): void {
  const count = end - start, padded = Math.ceil(count / 4) * 4;
  const gateAt = 0, upAt = padded, outAt = 2 * padded;
  reserveWorkspace(workspace, 3 * padded * 4);
  const heap = workspace.heap;
  heap.set(gate.subarray(start, end), gateAt);
  heap.set(up.subarray(start, end), upAt);
  // padding lanes compute silu(0) * 0 and are never copied out
  heap.fill(0, gateAt + count, gateAt + padded);
  heap.fill(0, upAt + count, upAt + padded);
  workspace.exports.swigluForward(outAt * 4, gateAt * 4, upAt * 4, padded * 4);
  out.set(heap.subarray(outAt, outAt + count), start);
}

/** dgate += dout * up * silu'(gate), dup += dout * silu(gate) over elements [start, end). */
export function swigluBackwardBlock(workspace: PointwiseWorkspace, dgate: Float32Array, dup: Float32Array, dout: Float32Array, gate: Float32Array, up: Float32Array, start: number, end: number): void {
  const count = end - start, padded = Math.ceil(count / 4) * 4;
  const places = [0, padded, 2 * padded, 3 * padded, 4 * padded];
  const sources = [dgate, dup, dout, gate, up];
  reserveWorkspace(workspace, 5 * padded * 4);
  const heap = workspace.heap;
  for (let i = 0; i < 5; i++) {
    heap.set(sources[i].subarray(start, end), places[i]);
    heap.fill(0, places[i] + count, places[i] + padded);
  }
  workspace.exports.swigluBackward(places[0] * 4, places[1] * 4, places[2] * 4, places[3] * 4, places[4] * 4, padded * 4);
  dgate.set(heap.subarray(places[0], places[0] + count), start);
  dup.set(heap.subarray(places[1], places[1] + count), start);
}

/** Job kinds a unit belongs to. */
export const UNIT_KIND = { softmax: 1, scale: 2, swigluForward: 3, swigluBackward: 4 } as const;

/**
 * Runs unit `unit` of a job. softmax: arrays [probs, logits, mask, stats], params [N, V, rowsPerUnit];
 * scale: arrays [dlogits, probs, mask], same params, factor the weight; swigluForward: arrays
 * [out, gate, up], swigluBackward: [dgate, dup, dout, gate, up], params [size, chunk].
 */
export function runPointwiseUnit(workspace: PointwiseWorkspace, kind: number, arrays: ArrayLike<number>[], params: ArrayLike<number>, factor: number, unit: number): void {
  const a = arrays as Float32Array[]; // mask and stats are cast back below
  if (kind === 1 || kind === 2) {
    const N = params[0], V = params[1], rowsPerUnit = params[2];
    const start = unit * rowsPerUnit, end = Math.min(N, start + rowsPerUnit);
    if (kind === 1) softmaxBlock(workspace, a[0], a[1], arrays[2] as Uint8Array, arrays[3] as Float64Array, start, end, V);
    else scaleBlock(workspace, a[0], a[1], arrays[2] as Uint8Array, factor, start, end, V);
  } else {
    const size = params[0], chunk = params[1];
    const start = unit * chunk, end = Math.min(size, start + chunk);
    if (kind === 3) swigluForwardBlock(workspace, a[0], a[1], a[2], start, end);
    else swigluBackwardBlock(workspace, a[0], a[1], a[2], a[3], a[4], start, end);
  }
}
