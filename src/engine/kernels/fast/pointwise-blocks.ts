import type { PointwiseExports } from "./pointwise-simd.js";

// The JS side of the element-wise SIMD kernels: each call handles one unit of work (a block of rows,
// or a chunk of elements), copying its operands into the thread's WebAssembly memory, running the
// kernel there, and copying the results out. A 32000-float row is 128 KB, so it stays in L2 between
// the copy in, the kernel's passes and the copy out. The copies read and write the model's shared
// memory, which V8 copies a word at a time (not memcpy): on the stories15M logits they are about as
// costly as the softmax arithmetic, still far cheaper than computing in JS. Every function here is
// self-contained (no references outside its body and parameters) because the helper thread runs
// their source text (./parallel-pointwise.ts).

/** One thread's kernel instance and its private memory. */
export interface PointwiseWorkspace {
  exports: PointwiseExports;
  memory: WebAssembly.Memory;
  heap: Float32Array;
  heap64: Float64Array;
}

/** Bytes of the memory's start kept for per-row statistics: (max, sum) pairs of f64 for up to 256 rows (a unit's). */
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
 * With gradientWeight > 0 it writes probs * gradientWeight instead, and zeros on masked rows: the
 * loss gradient in the same pass, but for the target entries (the caller's).
 * Each row sits in a slot of the memory at the same address modulo 8 as its source, so V8 copies shared
 * memory a word at a time (byte by byte otherwise: five times slower); a slot has a float to spare for that.
 */
export function softmaxBlock(workspace: PointwiseWorkspace, probs: Float32Array, logits: Float32Array, mask: Uint8Array, stats: Float64Array, rowStart: number, rowEnd: number, V: number, gradientWeight: number): void {
  const stride = Math.ceil(V / 16) * 16, slot = stride + 16, base = 1024; // floats; stats (STATS_BYTES) below base
  reserveWorkspace(workspace, (base + (rowEnd - rowStart) * slot) * 4);
  for (let n = rowStart, k = 0; n < rowEnd; n++, k++) {
    if (!mask[n]) {
      if (gradientWeight > 0) probs.fill(0, n * V, n * V + V);
      continue;
    }
    const heap = workspace.heap;
    const inShift = ((logits.byteOffset + n * V * 4) & 7) >> 2, outShift = ((probs.byteOffset + n * V * 4) & 7) >> 2;
    const at = base + k * slot + inShift;
    heap.set(logits.subarray(n * V, n * V + V), at);
    if (stride > V) heap.fill(-Infinity, at + V, at + stride);
    workspace.exports.softmax(at * 4, stride * 4, k * 16, gradientWeight > 0 ? gradientWeight : 1);
    stats[2 * n] = workspace.heap64[2 * k];
    stats[2 * n + 1] = workspace.heap64[2 * k + 1];
    const outAt = base + k * slot + outShift;
    if (outAt !== at) heap.copyWithin(outAt, at, at + V);
    probs.set(heap.subarray(outAt, outAt + V), n * V);
  }
}

/** dlogits = probs * weight on unmasked rows of [rowStart, rowEnd), 0 on masked rows (the target entries are the caller's). */
export function scaleBlock(workspace: PointwiseWorkspace, dlogits: Float32Array, probs: Float32Array, mask: Uint8Array, weight: number, rowStart: number, rowEnd: number, V: number): void {
  const stride = Math.ceil(V / 16) * 16, slot = stride + 16, base = 1024; // as softmaxBlock
  reserveWorkspace(workspace, (base + (rowEnd - rowStart) * slot) * 4);
  for (let n = rowStart, k = 0; n < rowEnd; n++, k++) {
    if (!mask[n]) {
      dlogits.fill(0, n * V, n * V + V);
      continue;
    }
    const heap = workspace.heap;
    const inShift = ((probs.byteOffset + n * V * 4) & 7) >> 2, outShift = ((dlogits.byteOffset + n * V * 4) & 7) >> 2;
    const at = base + k * slot + inShift;
    heap.set(probs.subarray(n * V, n * V + V), at);
    workspace.exports.scale(at * 4, stride * 4, weight);
    const outAt = base + k * slot + outShift;
    if (outAt !== at) heap.copyWithin(outAt, at, at + V);
    dlogits.set(heap.subarray(outAt, outAt + V), n * V);
  }
}

/** out = silu(gate) * up over elements [start, end) (at most SWIGLU_CHUNK); operands placed as in softmaxBlock. */
export function swigluForwardBlock(workspace: PointwiseWorkspace, out: Float32Array, gate: Float32Array, up: Float32Array, start: number, end: number): void {
  const count = end - start, padded = Math.ceil(count / 4) * 4, region = padded + 4;
  const gateAt = ((gate.byteOffset + start * 4) & 7) >> 2, upAt = region + (((up.byteOffset + start * 4) & 7) >> 2), outAt = 2 * region + (((out.byteOffset + start * 4) & 7) >> 2);
  reserveWorkspace(workspace, 3 * region * 4);
  const heap = workspace.heap;
  heap.set(gate.subarray(start, end), gateAt);
  heap.set(up.subarray(start, end), upAt);
  // padding lanes compute silu(0) * 0 and are never copied out
  heap.fill(0, gateAt + count, gateAt + padded);
  heap.fill(0, upAt + count, upAt + padded);
  workspace.exports.swigluForward(outAt * 4, gateAt * 4, upAt * 4, padded * 4);
  out.set(heap.subarray(outAt, outAt + count), start);
}

/**
 * dgate += dout * up * silu'(gate), dup += dout * silu(gate) over elements [start, end); with overwrite,
 * dgate = ..., dup = ... (their old values are neither copied in nor read).
 */
export function swigluBackwardBlock(workspace: PointwiseWorkspace, dgate: Float32Array, dup: Float32Array, dout: Float32Array, gate: Float32Array, up: Float32Array, start: number, end: number, overwrite: boolean): void {
  const count = end - start, padded = Math.ceil(count / 4) * 4, region = padded + 4;
  const operands = [dgate, dup, dout, gate, up];
  const places = [0, 0, 0, 0, 0];
  reserveWorkspace(workspace, 5 * region * 4);
  const heap = workspace.heap;
  for (let i = 0; i < 5; i++) {
    const at = i * region + (((operands[i].byteOffset + start * 4) & 7) >> 2);
    places[i] = at;
    if (overwrite && i < 2) continue;
    heap.set(operands[i].subarray(start, end), at);
    heap.fill(0, at + count, at + padded);
  }
  const backward = overwrite ? workspace.exports.swigluBackwardOverwrite : workspace.exports.swigluBackward;
  backward(places[0] * 4, places[1] * 4, places[2] * 4, places[3] * 4, places[4] * 4, padded * 4);
  dgate.set(heap.subarray(places[0], places[0] + count), start);
  dup.set(heap.subarray(places[1], places[1] + count), start);
}

/**
 * RMSNorm forward of rows [rowStart, rowEnd) of inp [N, C] (C a multiple of 4) into out and rstd, the
 * weight, rows and results each in a region of the memory at their source's address modulo 8.
 */
export function rmsnormForwardBlock(workspace: PointwiseWorkspace, out: Float32Array, rstd: Float32Array, inp: Float32Array, weight: Float32Array, rowStart: number, rowEnd: number, C: number, eps: number): void {
  const rows = rowEnd - rowStart, count = rows * C, first = rowStart * C;
  const weightAt = ((weight.byteOffset & 7) >> 2), inAt = C + 2 + (((inp.byteOffset + first * 4) & 7) >> 2), outAt = C + count + 4 + (((out.byteOffset + first * 4) & 7) >> 2), rstdAt = C + 2 * count + 6 + (((rstd.byteOffset + rowStart * 4) & 7) >> 2);
  reserveWorkspace(workspace, (C + 2 * count + rows + 8) * 4);
  const heap = workspace.heap;
  heap.set(weight.subarray(0, C), weightAt);
  heap.set(inp.subarray(first, first + count), inAt);
  workspace.exports.rmsnormForward(outAt * 4, rstdAt * 4, inAt * 4, weightAt * 4, rows, C * 4, eps, C);
  out.set(heap.subarray(outAt, outAt + count), first);
  rstd.set(heap.subarray(rstdAt, rstdAt + rows), rowStart);
}

/** RMSNorm backward (dinp += dL/dx, no weight gradient) of rows [rowStart, rowEnd); placed as in rmsnormForwardBlock. */
export function rmsnormBackwardBlock(workspace: PointwiseWorkspace, dinp: Float32Array, dout: Float32Array, inp: Float32Array, weight: Float32Array, rstd: Float32Array, rowStart: number, rowEnd: number, C: number): void {
  const rows = rowEnd - rowStart, count = rows * C, first = rowStart * C;
  const weightAt = ((weight.byteOffset & 7) >> 2), dinpAt = C + 2 + (((dinp.byteOffset + first * 4) & 7) >> 2), doutAt = C + count + 4 + (((dout.byteOffset + first * 4) & 7) >> 2);
  const inAt = C + 2 * count + 6 + (((inp.byteOffset + first * 4) & 7) >> 2), rstdAt = C + 3 * count + 8 + (((rstd.byteOffset + rowStart * 4) & 7) >> 2);
  reserveWorkspace(workspace, (C + 3 * count + rows + 10) * 4);
  const heap = workspace.heap;
  heap.set(weight.subarray(0, C), weightAt);
  heap.set(dinp.subarray(first, first + count), dinpAt);
  heap.set(dout.subarray(first, first + count), doutAt);
  heap.set(inp.subarray(first, first + count), inAt);
  heap.set(rstd.subarray(rowStart, rowEnd), rstdAt);
  workspace.exports.rmsnormBackward(dinpAt * 4, doutAt * 4, inAt * 4, weightAt * 4, rstdAt * 4, rows, C * 4, C);
  dinp.set(heap.subarray(dinpAt, dinpAt + count), first);
}

/**
 * RoPE (forward, or its inverse for backward) of unit `unit` of x [B, T, nHeads, headSize]: positions
 * [t0, t1) of one sequence, positionsPerUnit at a time, so its table rows [t0, t1) are contiguous.
 * out may alias inp; the dimensions past nRot are copied through.
 */
export function ropeBlock(workspace: PointwiseWorkspace, out: Float32Array, inp: Float32Array, cos: Float32Array, sin: Float32Array, unit: number, T: number, nHeads: number, headSize: number, nRot: number, positionsPerUnit: number, backward: boolean): void {
  const perSequence = Math.ceil(T / positionsPerUnit);
  const b = Math.floor(unit / perSequence), t0 = (unit % perSequence) * positionsPerUnit, t1 = Math.min(T, t0 + positionsPerUnit);
  const half = nRot / 2, positions = t1 - t0, count = positions * nHeads * headSize, first = (b * T + t0) * nHeads * headSize, tableCount = positions * half;
  const xAt = (((inp.byteOffset + first * 4) & 7) >> 2), outAt = (((out.byteOffset + first * 4) & 7) >> 2), cosAt = count + 2 + (((cos.byteOffset + t0 * half * 4) & 7) >> 2), sinAt = count + tableCount + 4 + (((sin.byteOffset + t0 * half * 4) & 7) >> 2);
  reserveWorkspace(workspace, (count + 2 * tableCount + 6) * 4);
  const heap = workspace.heap;
  heap.set(inp.subarray(first, first + count), xAt);
  heap.set(cos.subarray(t0 * half, t1 * half), cosAt);
  heap.set(sin.subarray(t0 * half, t1 * half), sinAt);
  const rope = backward ? workspace.exports.ropeBackward : workspace.exports.ropeForward;
  rope(xAt * 4, cosAt * 4, sinAt * 4, positions, nHeads, headSize * 4, nRot * 4);
  if (outAt !== xAt) heap.copyWithin(outAt, xAt, xAt + count);
  out.set(heap.subarray(outAt, outAt + count), first);
}

/** Job kinds a unit belongs to. */
export const UNIT_KIND = { softmax: 1, scale: 2, swigluForward: 3, swigluBackward: 4, softmaxGradient: 5, rmsnormForward: 6, rmsnormBackward: 7, ropeForward: 8, ropeBackward: 9, swigluBackwardOverwrite: 10 } as const;

/**
 * Runs unit `unit` of a job. softmax: arrays [probs, logits, mask, stats], params [N, V, rowsPerUnit];
 * softmaxGradient: arrays [dlogits, logits, mask, stats], same params, factor the weight;
 * scale: arrays [dlogits, probs, mask], same params, factor the weight; swigluForward: arrays
 * [out, gate, up], swigluBackward and swigluBackwardOverwrite: [dgate, dup, dout, gate, up], params [size, chunk];
 * rmsnormForward: arrays [out, rstd, inp, weight], params [N, C, rowsPerUnit], factor eps;
 * rmsnormBackward: arrays [dinp, dout, inp, weight, rstd], same params; ropeForward, ropeBackward:
 * arrays [out, inp, cos, sin], params [T, nHeads, headSize, nRot, positionsPerUnit].
 */
export function runPointwiseUnit(workspace: PointwiseWorkspace, kind: number, arrays: ArrayLike<number>[], params: ArrayLike<number>, factor: number, unit: number): void {
  const a = arrays as Float32Array[]; // mask and stats are cast back below
  if (kind === 1 || kind === 2 || kind === 5) {
    const N = params[0], V = params[1], rowsPerUnit = params[2];
    const start = unit * rowsPerUnit, end = Math.min(N, start + rowsPerUnit);
    if (kind !== 2) softmaxBlock(workspace, a[0], a[1], arrays[2] as Uint8Array, arrays[3] as Float64Array, start, end, V, kind === 5 ? factor : 0);
    else scaleBlock(workspace, a[0], a[1], arrays[2] as Uint8Array, factor, start, end, V);
  } else if (kind === 3 || kind === 4 || kind === 10) {
    const size = params[0], chunk = params[1];
    const start = unit * chunk, end = Math.min(size, start + chunk);
    if (kind === 3) swigluForwardBlock(workspace, a[0], a[1], a[2], start, end);
    else swigluBackwardBlock(workspace, a[0], a[1], a[2], a[3], a[4], start, end, kind === 10);
  } else if (kind === 6 || kind === 7) {
    const N = params[0], C = params[1], rowsPerUnit = params[2];
    const start = unit * rowsPerUnit, end = Math.min(N, start + rowsPerUnit);
    if (kind === 6) rmsnormForwardBlock(workspace, a[0], a[1], a[2], a[3], start, end, C, factor);
    else rmsnormBackwardBlock(workspace, a[0], a[1], a[2], a[3], a[4], start, end, C);
  } else {
    ropeBlock(workspace, a[0], a[1], a[2], a[3], unit, params[0], params[1], params[2], params[3], params[4], kind === 9);
  }
}
