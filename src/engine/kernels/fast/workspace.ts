import { InvalidArgumentError } from "../../../errors/index.js";
import { addressesIn, type ResidentMemory } from "./resident-memory.js";

// A kernel set's WebAssembly memory and the one allocator over it. Everything the set keeps there
// (the model's activations, gradient scratch and logits; packed panels of frozen weights; the matmul's
// per-call scratch; the attention and element-wise kernels' scratch) is a block from this free list,
// given back when its owner is done: a model that is disposed, or that changes batch shape, returns its
// blocks, and the next allocation reuses them. Blocks are 16-byte aligned (whole f32x4 vectors).
// The memory only grows (WebAssembly cannot shrink one); freed blocks at the end are merged into the
// free space above the highest live block.

const PAGE = 65536;
const ALIGN = 16;
const align = (bytes: number) => Math.ceil(bytes / ALIGN) * ALIGN;

export interface WorkspaceOptions {
  /** A shared memory (views survive growth, and helper threads can work on it); else a private one. */
  shared: boolean;
  /** The memory's maximum in pages (a shared memory reserves it up front). */
  maxPages?: number;
  /** Initial size in pages. */
  initialPages?: number;
}

/** Bad use of a workspace: freeing what it never handed out. */
export class WorkspaceFreeError extends InvalidArgumentError {}

export class KernelWorkspace implements ResidentMemory {
  readonly memory: WebAssembly.Memory;
  readonly maxPages: number;
  readonly shared: boolean;
  /** Live blocks: byte address -> size in bytes. */
  private readonly blocks = new Map<number, number>();
  /** Free gaps below `end`, sorted by address, never adjacent (merged on free). */
  private gaps: { at: number; bytes: number }[] = [];
  /** One past the highest byte ever handed out and still counted (the bump point of the free space above). */
  private end = 0;
  private used = 0;
  /** Every ArrayBuffer object this memory has had (a new one after each growth). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();

  constructor(options: WorkspaceOptions) {
    this.shared = options.shared;
    this.maxPages = options.maxPages ?? (options.shared ? 32768 : 65536);
    const initial = options.initialPages ?? 16;
    this.memory = options.shared ? new WebAssembly.Memory({ initial, maximum: this.maxPages, shared: true }) : new WebAssembly.Memory({ initial });
    this.buffers.add(this.memory.buffer);
  }

  /** Bytes in live blocks. */
  get usedBytes(): number {
    return this.used;
  }

  /** Bytes the memory spans now (live blocks, gaps and free space above them). */
  get sizeBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** The largest address space the memory may reach. */
  get maxBytes(): number {
    return this.maxPages * PAGE;
  }

  /** The byte address of an array that lives in this memory, else -1. */
  addressOf(array: ArrayBufferView): number {
    return this.buffers.has(array.buffer) ? array.byteOffset : -1;
  }

  /** The operands' byte addresses when all live here (used in place), else null (copied in): ./resident-memory.ts's rule. */
  addressesOf(arrays: Float32Array[]): number[] | null {
    return addressesIn(this, arrays);
  }

  /** A block of at least `bytes` bytes (16-byte aligned address), the memory grown as needed; -1 past its maximum. */
  reserve(bytes: number): number {
    const size = align(Math.max(bytes, 1));
    let at = -1;
    const gapIndex = this.gaps.findIndex((gap) => gap.bytes >= size);
    if (gapIndex >= 0) {
      const gap = this.gaps[gapIndex];
      at = gap.at;
      if (gap.bytes === size) this.gaps.splice(gapIndex, 1);
      else this.gaps[gapIndex] = { at: gap.at + size, bytes: gap.bytes - size };
    } else {
      if (this.end + size > this.maxBytes) return -1;
      at = this.end;
      this.end += size;
      this.growTo(this.end);
    }
    this.blocks.set(at, size);
    this.used += size;
    return at;
  }

  /** Gives a block from reserve back; its bytes may be handed out again. */
  release(at: number): void {
    const size = this.blocks.get(at);
    if (size === undefined) throw new WorkspaceFreeError("at", `no block of this workspace starts at byte ${at}`);
    this.blocks.delete(at);
    this.used -= size;
    let index = this.gaps.findIndex((gap) => gap.at > at);
    if (index < 0) index = this.gaps.length;
    this.gaps.splice(index, 0, { at, bytes: size });
    // merge with the neighbours, then fold a gap that reaches the end into the free space above
    const next = this.gaps[index + 1];
    if (next && at + size === next.at) {
      this.gaps[index].bytes += next.bytes;
      this.gaps.splice(index + 1, 1);
    }
    const previous = this.gaps[index - 1];
    if (previous && previous.at + previous.bytes === at) {
      previous.bytes += this.gaps[index].bytes;
      this.gaps.splice(index, 1);
      index--;
    }
    const last = this.gaps[this.gaps.length - 1];
    if (last && last.at + last.bytes === this.end) {
      this.end = last.at;
      this.gaps.pop();
    }
  }

  /**
   * Zeroed floats in a block of their own, for arrays that kernels use in place (activations, logits);
   * null where the memory is private (a growth would detach the view) or there is no room.
   */
  allocate(floats: number): Float32Array | null {
    if (!this.shared) return null;
    const at = this.reserve(floats * 4);
    if (at < 0) return null;
    return new Float32Array(this.memory.buffer, at, floats).fill(0);
  }

  /** Gives an array from allocate back. Arrays that live elsewhere are ignored (the caller's own). */
  free(array: Float32Array): void {
    const at = this.addressOf(array);
    if (at >= 0) this.release(at);
  }

  /** A Float32Array over the whole memory as it is now (a new one after growth). */
  heap(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }

  private growTo(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    this.memory.grow(Math.ceil((bytes - have) / PAGE));
    this.buffers.add(this.memory.buffer);
  }
}
