import type { ResidentWorkspace } from "./pointwise-resident-units.js";
import { buildPointwiseModule, type PointwiseExports } from "./pointwise-simd.js";
import { addressesIn, type ResidentMemory } from "./resident-memory.js";

// The element-wise kernels in place: when their operands already live in one shared WebAssembly
// memory (the SIMD matmul's, where the model keeps its activations, gradient scratch and logits when
// they fit), the SIMD functions of ./pointwise-simd.ts run on the operands' addresses there instead
// of on copies (units in ./pointwise-resident-units.ts). These kernels are light on arithmetic, so the
// copies in and out of a private memory (V8 copies shared memory word by word) were about half their
// time. What lives outside is copied into small regions of the memory first: the frozen norm weight
// (C floats), the loss mask (a byte a row); the softmax row statistics get a region there too.

/** Per-row scratch of a softmax job in the memory: (max, sum) f64 pairs and a mask byte per row. */
export interface ResidentRows {
  statsAt: number;
  maskAt: number;
  stats: Float64Array;
  mask: Uint8Array;
}

export class ResidentPointwise {
  /** The module compiled for the shared memory: the helper thread instantiates it too. */
  readonly module: WebAssembly.Module;
  /** This thread's instance on the memory. */
  readonly workspace: ResidentWorkspace;
  /** Where norm weights are copied, allocated on first use; null until then or when there was no room. */
  private weightRegion: Float32Array | null = null;
  private rows: (ResidentRows & { capacity: number; region: Float32Array }) | null = null;

  constructor(readonly resident: ResidentMemory) {
    this.module = new WebAssembly.Module(buildPointwiseModule(undefined, resident.maxPages));
    const exports = new WebAssembly.Instance(this.module, { env: { memory: resident.memory } }).exports as unknown as PointwiseExports;
    this.workspace = { exports, memory: resident.memory };
  }

  /** The byte addresses of the arrays, or null when any of them lives outside the memory. */
  addresses(arrays: Float32Array[]): number[] | null {
    return addressesIn(this.resident, arrays);
  }

  /** Gives the weight and row regions back to the memory. */
  dispose(): void {
    if (this.weightRegion) this.resident.free?.(this.weightRegion);
    if (this.rows) this.resident.free?.(this.rows.region);
    this.weightRegion = null;
    this.rows = null;
  }

  /** The weight's address in the memory: its own, or that of a copy in the weight region (-1: no room). */
  weightAddress(weight: Float32Array, C: number): number {
    const own = this.resident.addressOf(weight);
    if (own >= 0) return own;
    if (!this.weightRegion || this.weightRegion.length < C) {
      if (this.weightRegion) this.resident.free?.(this.weightRegion);
      this.weightRegion = this.resident.allocate(Math.max(C, 1024));
    }
    if (!this.weightRegion) return -1;
    this.weightRegion.set(weight.subarray(0, C));
    return this.resident.addressOf(this.weightRegion);
  }

  /** Row scratch for N rows holding a copy of the mask, or null when there is no room. */
  rowsFor(N: number, mask: Uint8Array): ResidentRows | null {
    if (!this.rows || this.rows.capacity < N) {
      // room for a few more rows than asked, so a batch a little larger later does not allocate again
      const capacity = Math.max(N, 2048);
      if (this.rows) this.resident.free?.(this.rows.region);
      this.rows = null;
      const region = this.resident.allocate(4 * capacity + Math.ceil(capacity / 4));
      if (!region) return null;
      const statsAt = this.resident.addressOf(region), maskAt = statsAt + 16 * capacity;
      this.rows = { region, statsAt, maskAt, capacity, stats: new Float64Array(region.buffer, region.byteOffset, 2 * capacity), mask: new Uint8Array(region.buffer, region.byteOffset + 16 * capacity, capacity) };
    }
    this.rows.mask.set(mask.subarray(0, N));
    return this.rows;
  }
}
