// What the in-place kernels need of the memory their operands live in: a kernel set's workspace
// (./workspace.ts), or, in tests and benchmarks, any shared memory that says where arrays sit in it.
// The attention (./attention-resident.ts) and element-wise kernels (./pointwise-resident.ts) and the
// matmul (./matmul-simd.ts) all follow the one rule below for their operands.

/** A shared memory and its owner's bookkeeping: where arrays live in it, and room for scratch. */
export interface ResidentMemory {
  /** A shared WebAssembly memory (it may grow; views of its earlier buffers stay valid). */
  readonly memory: WebAssembly.Memory;
  /** Its maximum size in pages (the modules importing it declare the same). */
  readonly maxPages: number;
  /** The byte address of an array that lives in the memory, else -1. */
  addressOf(array: Float32Array): number;
  /** Zeroed floats inside the memory, or null when there is no room. */
  allocate(floats: number): Float32Array | null;
  /** Gives floats from allocate back (a memory without it keeps them for good). */
  free?(array: Float32Array): void;
}

/**
 * The one rule for an operand: when every array lives in the memory, their byte addresses (the kernel
 * runs on them in place), else null (the kernel copies them in).
 */
export function addressesIn(memory: Pick<ResidentMemory, "addressOf">, arrays: Float32Array[]): number[] | null {
  const at: number[] = [];
  for (const array of arrays) {
    const address = memory.addressOf(array);
    if (address < 0) return null;
    at.push(address);
  }
  return at;
}
