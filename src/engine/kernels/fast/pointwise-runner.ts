import { InvalidArgumentError } from "../../../errors/index.js";
import { rmsnormBackward, rmsnormForward } from "../reference/rmsnorm.js";
import { ropeBackward, ropeForward } from "../reference/rope.js";
import { createPointwiseWorkspace, runPointwiseUnit, STATS_BYTES, SWIGLU_CHUNK, UNIT_KIND, type PointwiseWorkspace } from "./pointwise-blocks.js";
import { ResidentPointwise } from "./pointwise-resident.js";
import type { ResidentMemory } from "./resident-memory.js";
import { isResidentKind, RESIDENT_KIND, runResidentUnit } from "./pointwise-resident-units.js";
import { buildPointwiseModule } from "./pointwise-simd.js";

// The fast cross-entropy, SwiGLU, RMSNorm and RoPE kernels on one thread: argument checks, the per-row bookkeeping
// (target logits, losses, the target entries of the gradient) in JS, the element-wise work in SIMD
// units (./pointwise-blocks.ts). ./parallel-pointwise.ts shares the units with a helper thread. When
// the operands live in a registered shared memory (useResidentMemory), the units run on them in place
// (./pointwise-resident-units.ts): the same SIMD functions on the same data, so the results are the
// copying units' bit for bit.

/** The operand types a unit takes: floats, and a mask and row statistics for the softmax. */
export type SharedArray = Float32Array | Uint8Array | Float64Array;

/** Rows of a softmax unit: about 64 KB of floats, at least one row, at most the stats area's 16 bytes a row. */
export function rowsPerUnit(V: number): number {
  const stride = Math.ceil(V / 16) * 16;
  return Math.max(1, Math.min(STATS_BYTES / 16, Math.floor(16384 / stride)));
}

/** Rows of an RMSNorm unit: about 64 KB of each operand, at least one row. */
export function normRowsPerUnit(C: number): number {
  return Math.max(1, Math.floor(16384 / C));
}

export class PointwiseSimd {
  protected readonly module: WebAssembly.Module;
  private readonly workspace: PointwiseWorkspace;
  private targetLogits = new Float64Array(0);
  /** (max, sum) per row and a copy of the mask: shared memory in the two-thread subclass. */
  private rowScratch: { stats: Float64Array; mask: Uint8Array; capacity: number } = { stats: new Float64Array(0), mask: new Uint8Array(0), capacity: 0 };

  constructor(module?: WebAssembly.Module) {
    this.module = module ?? new WebAssembly.Module(buildPointwiseModule());
    this.workspace = createPointwiseWorkspace(this.module);
  }

  /** Same contract as crossEntropyForward in ../reference/cross-entropy.ts. */
  crossEntropyForward(losses: Float32Array, probs: Float32Array, logits: Float32Array, targets: Int32Array, mask: Uint8Array, N: number, V: number): number {
    checkShape("crossEntropyForward", { logits, probs }, N * V, { losses, targets, mask }, N, N, V);
    checkTargets(targets, mask, N, V);
    return this.softmaxRows(UNIT_KIND.softmax, losses, probs, logits, targets, mask, N, V, 0);
  }

  /** The softmax pass of the forward (kind softmax) or of the fused forward and backward (softmaxGradient). */
  private softmaxRows(kind: number, losses: Float32Array, out: Float32Array, logits: Float32Array, targets: Int32Array, mask: Uint8Array, N: number, V: number, weight: number): number {
    if (this.targetLogits.length < N) this.targetLogits = new Float64Array(N);
    // read before the softmax overwrites the row (the output may alias logits)
    for (let n = 0; n < N; n++) if (mask[n]) this.targetLogits[n] = logits[n * V + targets[n]];
    const units = Math.ceil(N / rowsPerUnit(V));
    const inPlace = this.residentRows(out, logits, mask, N, V);
    let stats: Float64Array;
    if (inPlace) {
      stats = inPlace.stats;
      this.runInPlace(RESIDENT_KIND.softmax, [inPlace.at[0], inPlace.at[1], inPlace.statsAt, inPlace.maskAt, N, V, rowsPerUnit(V)], kind === UNIT_KIND.softmaxGradient ? weight : 0, units, N * V);
    } else {
      const scratch = this.scratchFor(N, mask);
      stats = scratch.stats;
      this.run(kind, [out, logits, scratch.mask, stats], [N, V, rowsPerUnit(V)], weight, units, N * V);
    }
    let total = 0, count = 0;
    for (let n = 0; n < N; n++) {
      if (!mask[n]) {
        losses[n] = 0;
        continue;
      }
      const loss = Math.log(stats[2 * n + 1]) + stats[2 * n] - this.targetLogits[n];
      losses[n] = loss;
      total += loss;
      count++;
    }
    return count === 0 ? 0 : total / count;
  }

  /**
   * crossEntropyForward then crossEntropyBackward in one pass over the logits: returns the mean loss
   * and writes losses and dlogits (may alias logits) as the two would, never the probabilities. Half the
   * memory traffic of the two calls, for a caller that needs only the gradient (a training step).
   */
  crossEntropyForwardBackward(losses: Float32Array, dlogits: Float32Array, logits: Float32Array, targets: Int32Array, mask: Uint8Array, N: number, V: number): number {
    checkShape("crossEntropyForwardBackward", { logits, dlogits }, N * V, { losses, targets, mask }, N, N, V);
    checkTargets(targets, mask, N, V);
    let count = 0;
    for (let n = 0; n < N; n++) if (mask[n]) count++;
    if (count === 0) {
      losses.fill(0, 0, N);
      dlogits.fill(0, 0, N * V);
      return 0;
    }
    // float32 like the helper thread's copy of it, so one and two threads agree bit for bit
    const weight = Math.fround(1 / count);
    const mean = this.softmaxRows(UNIT_KIND.softmaxGradient, losses, dlogits, logits, targets, mask, N, V, weight);
    for (let n = 0; n < N; n++) if (mask[n]) dlogits[n * V + targets[n]] -= 1 / count;
    return mean;
  }

  /** Same contract as crossEntropyBackward in ../reference/cross-entropy.ts. */
  crossEntropyBackward(dlogits: Float32Array, probs: Float32Array, targets: Int32Array, mask: Uint8Array, N: number, V: number): void {
    checkShape("crossEntropyBackward", { dlogits, probs }, N * V, { targets, mask }, N, N, V);
    checkTargets(targets, mask, N, V);
    let count = 0;
    for (let n = 0; n < N; n++) if (mask[n]) count++;
    if (count === 0) {
      dlogits.fill(0, 0, N * V);
      return;
    }
    const weight = 1 / count;
    const inPlace = this.residentRows(dlogits, probs, mask, N, V);
    if (inPlace) {
      this.runInPlace(RESIDENT_KIND.scale, [inPlace.at[0], inPlace.at[1], inPlace.statsAt, inPlace.maskAt, N, V, rowsPerUnit(V)], weight, Math.ceil(N / rowsPerUnit(V)), N * V);
    } else {
      const { mask: maskCopy } = this.scratchFor(N, mask);
      this.run(UNIT_KIND.scale, [dlogits, probs, maskCopy], [N, V, rowsPerUnit(V)], weight, Math.ceil(N / rowsPerUnit(V)), N * V);
    }
    for (let n = 0; n < N; n++) if (mask[n]) dlogits[n * V + targets[n]] -= weight;
  }

  /** Same contract as swigluForward in ../reference/swiglu.ts. */
  swigluForward(out: Float32Array, gate: Float32Array, up: Float32Array, size: number): void {
    checkShape("swigluForward", { out, gate, up }, size, {}, 0, 0, 1);
    const at = this.residentElements([out, gate, up], size);
    if (at) return this.runInPlace(RESIDENT_KIND.swigluForward, [...at, size, SWIGLU_CHUNK], 0, Math.ceil(size / SWIGLU_CHUNK), size);
    this.run(UNIT_KIND.swigluForward, [out, gate, up], [size, SWIGLU_CHUNK], 0, Math.ceil(size / SWIGLU_CHUNK), size);
  }

  /** Same contract as swigluBackward in ../reference/swiglu.ts. */
  swigluBackward(dgate: Float32Array, dup: Float32Array, dout: Float32Array, gate: Float32Array, up: Float32Array, size: number): void {
    this.swigluBackwardKind(UNIT_KIND.swigluBackward, RESIDENT_KIND.swigluBackward, dgate, dup, dout, gate, up, size);
  }

  /** Same contract as KernelSet.swigluBackwardOverwrite: swigluBackward's gradients written, not added. */
  swigluBackwardOverwrite(dgate: Float32Array, dup: Float32Array, dout: Float32Array, gate: Float32Array, up: Float32Array, size: number): void {
    this.swigluBackwardKind(UNIT_KIND.swigluBackwardOverwrite, RESIDENT_KIND.swigluBackwardOverwrite, dgate, dup, dout, gate, up, size);
  }

  private swigluBackwardKind(kind: number, residentKind: number, dgate: Float32Array, dup: Float32Array, dout: Float32Array, gate: Float32Array, up: Float32Array, size: number): void {
    checkShape(kind === UNIT_KIND.swigluBackward ? "swigluBackward" : "swigluBackwardOverwrite", { dgate, dup, dout, gate, up }, size, {}, 0, 0, 1);
    const at = this.residentElements([dgate, dup, dout, gate, up], size);
    if (at) return this.runInPlace(residentKind, [...at, size, SWIGLU_CHUNK], 0, Math.ceil(size / SWIGLU_CHUNK), size);
    this.run(kind, [dgate, dup, dout, gate, up], [size, SWIGLU_CHUNK], 0, Math.ceil(size / SWIGLU_CHUNK), size);
  }

  /** Element-wise operands' addresses when they all live in the registered memory and size is whole f32x4 (else null: copy). */
  private residentElements(arrays: Float32Array[], size: number): number[] | null {
    return size > 0 && size % 4 === 0 ? (this.resident?.addresses(arrays) ?? null) : null;
  }

  /**
   * Same contract as rmsnormForward in ../reference/rmsnorm.ts (out may even alias inp here). Rows whose length
   * is not a multiple of 4 floats run the reference kernel.
   */
  rmsnormForward(out: Float32Array, rstd: Float32Array, inp: Float32Array, weight: Float32Array, N: number, C: number, eps: number): void {
    checkShape("rmsnormForward", { out, inp }, N * C, { rstd }, N, N, C);
    checkShape("rmsnormForward", { weight }, C, {}, 0, N, C);
    if (C % 4 !== 0 || N === 0) return rmsnormForward(out, rstd, inp, weight, N, C, eps);
    const rows = normRowsPerUnit(C);
    const at = this.residentOperands([out, rstd, inp], weight, C);
    if (at) return this.runInPlace(RESIDENT_KIND.rmsnormForward, [...at, N, C, rows], Math.fround(eps), Math.ceil(N / rows), 2 * N * C);
    // eps as float32, as the helper thread reads it, so one and two threads agree bit for bit
    this.run(UNIT_KIND.rmsnormForward, [out, rstd, inp, this.shareable(weight, C)], [N, C, rows], Math.fround(eps), Math.ceil(N / rows), 2 * N * C);
  }

  /**
   * Same contract as rmsnormBackward in ../reference/rmsnorm.ts. A weight gradient (a trained norm, which LoRA
   * never has) or rows whose length is not a multiple of 4 floats run the reference kernel.
   */
  rmsnormBackward(dinp: Float32Array, dweight: Float32Array | null, dout: Float32Array, inp: Float32Array, weight: Float32Array, rstd: Float32Array, N: number, C: number): void {
    checkShape("rmsnormBackward", { dinp, dout, inp }, N * C, { rstd }, N, N, C);
    checkShape("rmsnormBackward", { weight }, C, {}, 0, N, C);
    if (dweight || C % 4 !== 0 || N === 0) return rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C);
    const rows = normRowsPerUnit(C);
    const at = this.residentOperands([dinp, dout, inp], weight, C);
    const rstdAt = at ? this.resident!.resident.addressOf(rstd) : -1;
    if (at && rstdAt >= 0) return this.runInPlace(RESIDENT_KIND.rmsnormBackward, [...at, rstdAt, N, C, rows], 0, Math.ceil(N / rows), 4 * N * C);
    this.run(UNIT_KIND.rmsnormBackward, [dinp, dout, inp, this.shareable(weight, C), rstd], [N, C, rows], 0, Math.ceil(N / rows), 4 * N * C);
  }

  /** Same contract as ropeForward in ../reference/rope.ts; a rotated width (nRot) not a multiple of 4 runs the reference kernel. */
  ropeForward(out: Float32Array, inp: Float32Array, cos: Float32Array, sin: Float32Array, B: number, T: number, nHeads: number, headSize: number, nRot: number): void {
    this.rope(UNIT_KIND.ropeForward, out, inp, cos, sin, B, T, nHeads, headSize, nRot);
  }

  /** Same contract as ropeBackward in ../reference/rope.ts (dinp may alias dout). */
  ropeBackward(dinp: Float32Array, dout: Float32Array, cos: Float32Array, sin: Float32Array, B: number, T: number, nHeads: number, headSize: number, nRot: number): void {
    this.rope(UNIT_KIND.ropeBackward, dinp, dout, cos, sin, B, T, nHeads, headSize, nRot);
  }

  private rope(kind: number, out: Float32Array, inp: Float32Array, cos: Float32Array, sin: Float32Array, B: number, T: number, nHeads: number, headSize: number, nRot: number): void {
    const name = kind === UNIT_KIND.ropeForward ? "ropeForward" : "ropeBackward";
    for (const [what, value] of Object.entries({ B, T, nHeads, headSize })) {
      if (!Number.isInteger(value) || value < 0) throw new InvalidArgumentError(what, `${name}: ${what} = ${value} is not a count`);
    }
    if (!Number.isInteger(nRot) || nRot < 0 || nRot % 2 !== 0 || nRot > headSize) throw new InvalidArgumentError("nRot", `${name}: nRot = ${nRot} must be even and at most the head size ${headSize}`);
    checkShape(name, { out, inp }, B * T * nHeads * headSize, { cos, sin }, (T * nRot) / 2, B * T, 1);
    if (nRot % 4 !== 0 || B * T * nHeads === 0 || nRot === 0) {
      if (kind === UNIT_KIND.ropeForward) ropeForward(out, inp, cos, sin, B, T, nHeads, headSize, nRot);
      else ropeBackward(out, inp, cos, sin, B, T, nHeads, headSize, nRot);
      return;
    }
    const positions = Math.max(1, Math.floor(16384 / (nHeads * headSize)));
    const size = B * T * nHeads * headSize;
    const at = this.resident?.addresses([out, inp, cos, sin]);
    if (at) {
      // the kernel rotates in place
      if (out !== inp) out.set(inp.subarray(0, size));
      const residentKind = kind === UNIT_KIND.ropeForward ? RESIDENT_KIND.ropeForward : RESIDENT_KIND.ropeBackward;
      return this.runInPlace(residentKind, [at[0], at[2], at[3], T, nHeads, headSize, nRot, positions], 0, B * Math.ceil(T / positions), 2 * size);
    }
    this.run(kind, [out, inp, cos, sin], [T, nHeads, headSize, nRot, positions], 0, B * Math.ceil(T / positions), 2 * size);
  }

  /**
   * Registers the shared memory in which the cross-entropy, SwiGLU, RMSNorm and RoPE run in place when all
   * their operands live there (null: none, always copy). See ./pointwise-resident.ts.
   */
  useResidentMemory(memory: ResidentMemory | null): void {
    this.resident = memory ? new ResidentPointwise(memory) : null;
  }
  protected resident: ResidentPointwise | null = null;

  /** Gives the in-place scratch back to the registered memory; a subclass stops its helper thread too. */
  dispose(): void {
    this.resident?.dispose();
    this.resident = null;
  }

  /** Calls this process ran in place (tests and benchmarks check the in-place path is taken). */
  static callsInPlace = 0;

  private runInPlace(kind: number, params: number[], factor: number, units: number, elements: number): void {
    PointwiseSimd.callsInPlace++;
    this.run(kind, [], params, factor, units, elements);
  }

  /**
   * The addresses of the softmax operands and row scratch when the rows can run in place: both in the
   * registered memory, the output the input itself or apart from it, rows whole 64-byte blocks (V a
   * multiple of 16: the kernel's row contract, with no room to pad in place). Else null: copy.
   */
  private residentRows(out: Float32Array, inp: Float32Array, mask: Uint8Array, N: number, V: number) {
    if (!this.resident || V % 16 !== 0) return null;
    const at = this.resident.addresses([out, inp]);
    const bytes = N * V * 4;
    if (!at || !(at[0] === at[1] || at[0] + bytes <= at[1] || at[1] + bytes <= at[0])) return null;
    const rows = this.resident.rowsFor(N, mask);
    return rows ? { at, ...rows } : null;
  }

  /** The operands' addresses then the weight's (copied into the memory when outside), or null: copy. */
  private residentOperands(arrays: Float32Array[], weight: Float32Array, C: number): number[] | null {
    const at = this.resident?.addresses(arrays);
    const weightAt = at ? this.resident!.weightAddress(weight, C) : -1;
    return at && weightAt >= 0 ? [...at, weightAt] : null;
  }

  /** An operand the units can read: the array itself here; a shared copy where another thread reads it. */
  protected shareable(array: Float32Array, _size: number): Float32Array {
    return array;
  }

  /** Runs units [0, units) of a job of `elements` floats; the two-thread subclass shares them out. */
  protected run(kind: number, arrays: SharedArray[], params: number[], factor: number, units: number, _elements: number): void {
    for (let unit = 0; unit < units; unit++) this.runUnit(kind, arrays, params, factor, unit);
  }

  /** One unit on this thread's workspace, or on its instance in the registered memory. */
  protected runUnit(kind: number, arrays: SharedArray[], params: number[], factor: number, unit: number): void {
    if (isResidentKind(kind)) runResidentUnit(this.resident!.workspace, kind, params, factor, unit);
    else runPointwiseUnit(this.workspace, kind, arrays, params, factor, unit);
  }

  /** A row-statistics array and a mask copy of at least N rows, allocated by allocateRows. */
  private scratchFor(N: number, mask: Uint8Array): { stats: Float64Array; mask: Uint8Array } {
    if (this.rowScratch.capacity < N) this.rowScratch = { ...this.allocateRows(N), capacity: N };
    this.rowScratch.mask.set(mask.subarray(0, N));
    return this.rowScratch;
  }

  /** Plain memory here; shared memory where another thread reads it. */
  protected allocateRows(N: number): { stats: Float64Array; mask: Uint8Array } {
    return { stats: new Float64Array(2 * N), mask: new Uint8Array(N) };
  }
}

function checkShape(kernel: string, big: Record<string, ArrayLike<number>>, bigSize: number, small: Record<string, ArrayLike<number>>, smallSize: number, N: number, V: number): void {
  if (!Number.isInteger(N) || N < 0 || !Number.isInteger(V) || V < 1) throw new InvalidArgumentError("N, V", `${kernel}: N = ${N} and V = ${V} must be a count and a positive count`);
  if (!Number.isInteger(bigSize) || bigSize < 0) throw new InvalidArgumentError("size", `${kernel}: size ${bigSize} is not a count`);
  for (const [name, array] of Object.entries(big)) {
    if (array.length < bigSize) throw new InvalidArgumentError(name, `${kernel}: ${name} holds ${array.length} floats, needs ${bigSize}`);
  }
  for (const [name, array] of Object.entries(small)) {
    if (array.length < smallSize) throw new InvalidArgumentError(name, `${kernel}: ${name} holds ${array.length} entries, needs ${smallSize}`);
  }
}

function checkTargets(targets: Int32Array, mask: Uint8Array, N: number, V: number): void {
  for (let n = 0; n < N; n++) {
    if (mask[n] && !(targets[n] >= 0 && targets[n] < V)) {
      throw new InvalidArgumentError("targets", `target ${targets[n]} at position ${n} is outside the vocabulary [0, ${V})`);
    }
  }
}
