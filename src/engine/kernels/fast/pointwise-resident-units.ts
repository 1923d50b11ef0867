import type { PointwiseExports } from "./pointwise-simd.js";

// The units of the in-place element-wise jobs: the operands already live in one shared WebAssembly
// memory (the SIMD matmul's), so a unit names them by byte address and runs the SIMD kernels of
// ./pointwise-simd.ts on them there, with nothing to copy. Each thread has its own instance of the
// module on that memory. Every function here is self-contained (no references outside its body and
// parameters) because the helper thread of ./parallel-pointwise.ts runs their source text.

/** One thread's instance of the pointwise module on the shared memory. */
export interface ResidentWorkspace {
  exports: PointwiseExports;
  memory: WebAssembly.Memory;
}

/** Job kinds of the in-place units, after those of ./pointwise-blocks.ts (UNIT_KIND). */
export const RESIDENT_KIND = { softmax: 11, scale: 12, rmsnormForward: 13, rmsnormBackward: 14, ropeForward: 15, ropeBackward: 16, swigluForward: 17, swigluBackward: 18, swigluBackwardOverwrite: 19 } as const;

/** True for the kinds runResidentUnit runs. */
export function isResidentKind(kind: number): boolean {
  return kind >= 11 && kind <= 19;
}

/**
 * Runs unit `unit` of an in-place job; params are byte addresses in the memory and counts:
 * softmax: [out, logits, stats, mask, N, V, rowsPerUnit], factor the gradient weight (0: the
 *   probabilities; > 0: probabilities times it, masked rows zeroed), stats (max, sum) as f64 pairs per
 *   row, mask one byte per row, V a multiple of 16 (the kernel's rows are whole 64-byte blocks);
 * scale: [dlogits, probs, stats (unused), mask, N, V, rowsPerUnit], factor the weight;
 * rmsnormForward: [out, rstd, inp, weight, N, C, rowsPerUnit], factor eps;
 * rmsnormBackward: [dinp, dout, inp, weight, rstd, N, C, rowsPerUnit];
 * ropeForward, ropeBackward: [x (rotated in place), cos, sin, T, nHeads, headSize, nRot, positionsPerUnit];
 * swigluForward: [out, gate, up, size, elementsPerUnit]; swigluBackward(Overwrite): [dgate, dup, dout,
 *   gate, up, size, elementsPerUnit] (size and elementsPerUnit multiples of 4).
 * An output either is its input or does not overlap it (the caller checks).
 */
export function runResidentUnit(resident: ResidentWorkspace, kind: number, params: ArrayLike<number>, factor: number, unit: number): void {
  const kernels = resident.exports;
  if (kind === 11 || kind === 12) {
    const out = params[0], inp = params[1], stats = params[2], N = params[4], V = params[5], rows = params[6];
    const start = unit * rows, end = Math.min(N, start + rows);
    const buffer = resident.memory.buffer;
    const mask = new Uint8Array(buffer, params[3], N);
    for (let n = start; n < end; n++) {
      const outAt = out + n * V * 4, inAt = inp + n * V * 4;
      if (!mask[n]) {
        // as the copying kernels: a forward leaves masked rows alone, a gradient zeroes them
        if (kind === 12 || factor > 0) new Float32Array(buffer, outAt, V).fill(0);
        continue;
      }
      if (outAt !== inAt) new Float32Array(buffer).copyWithin(outAt / 4, inAt / 4, inAt / 4 + V);
      if (kind === 11) kernels.softmax(outAt, V * 4, stats + 16 * n, factor > 0 ? factor : 1);
      else kernels.scale(outAt, V * 4, factor);
    }
  } else if (kind === 13 || kind === 14) {
    const N = params[kind === 13 ? 4 : 5], C = params[kind === 13 ? 5 : 6], rows = params[kind === 13 ? 6 : 7];
    const start = unit * rows, end = Math.min(N, start + rows), first = start * C * 4;
    if (kind === 13) kernels.rmsnormForward(params[0] + first, params[1] + start * 4, params[2] + first, params[3], end - start, C * 4, factor, C);
    else kernels.rmsnormBackward(params[0] + first, params[1] + first, params[2] + first, params[3], params[4] + start * 4, end - start, C * 4, C);
  } else if (kind >= 17) {
    const size = params[kind === 17 ? 3 : 5], chunk = params[kind === 17 ? 4 : 6];
    const start = unit * chunk, bytes = (Math.min(size, start + chunk) - start) * 4, at = start * 4;
    if (kind === 17) kernels.swigluForward(params[0] + at, params[1] + at, params[2] + at, bytes);
    else (kind === 18 ? kernels.swigluBackward : kernels.swigluBackwardOverwrite)(params[0] + at, params[1] + at, params[2] + at, params[3] + at, params[4] + at, bytes);
  } else {
    const T = params[3], nHeads = params[4], headSize = params[5], nRot = params[6], positions = params[7];
    const perSequence = Math.ceil(T / positions);
    const b = Math.floor(unit / perSequence), t0 = (unit % perSequence) * positions, t1 = Math.min(T, t0 + positions);
    const x = params[0] + (b * T + t0) * nHeads * headSize * 4, table = t0 * (nRot / 2) * 4;
    // the tables restart at position 0 with every sequence
    const rope = kind === 15 ? kernels.ropeForward : kernels.ropeBackward;
    rope(x, params[1] + table, params[2] + table, t1 - t0, nHeads, headSize * 4, nRot * 4);
  }
}
