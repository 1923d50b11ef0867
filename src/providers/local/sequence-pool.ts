import { AbortError } from "../../errors/index.js";

/**
 * A fixed set of slots (llama.cpp sequences of one context) handed out one request at a time.
 * A request that finds every slot busy waits in FIFO order; its AbortSignal takes it out of the
 * queue at once. Slots are created by the caller so this stays free of node-llama-cpp.
 *
 * The free slot with the lowest index goes first: busy sequences then have consecutive ids, and
 * llama.cpp decodes a batch of consecutive sequence ids in one pass (see decode-lockstep.ts).
 */
export class SlotPool<Slot> {
  private readonly order: Map<Slot, number>;
  /** Free slots, lowest index first. */
  private readonly free: Slot[];
  private readonly waiters: { resolve: (slot: Slot) => void; reject: (error: unknown) => void; cleanup: () => void }[] = [];
  private closed = false;

  constructor(slots: readonly Slot[]) {
    this.order = new Map(slots.map((slot, index) => [slot, index]));
    this.free = [...slots];
  }

  /** The slot's index in the list the pool was made from. */
  indexOf(slot: Slot): number {
    const index = this.order.get(slot);
    if (index === undefined) throw new Error("the slot does not belong to this pool");
    return index;
  }

  get size(): number {
    return this.free.length;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  acquire(signal?: AbortSignal): Promise<Slot> {
    if (this.closed) return Promise.reject(new AbortError("the model was disposed"));
    if (signal?.aborted) return Promise.reject(new AbortError());
    const slot = this.free.shift();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise<Slot>((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiters.indexOf(waiter);
        if (index !== -1) this.waiters.splice(index, 1);
        reject(new AbortError());
      };
      const waiter = {
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener("abort", onAbort),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(slot: Slot): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.cleanup();
      waiter.resolve(slot);
      return;
    }
    const index = this.indexOf(slot);
    const at = this.free.findIndex((other) => this.indexOf(other) > index);
    this.free.splice(at === -1 ? this.free.length : at, 0, slot);
  }

  /** Rejects every waiting request; later acquires fail. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) {
      waiter.cleanup();
      waiter.reject(new AbortError("the model was disposed"));
    }
  }
}
