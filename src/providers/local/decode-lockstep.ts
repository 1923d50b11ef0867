// Why this exists: node-llama-cpp batches the decodes that are queued on a context when its dispatcher
// runs, and keeps looping while more arrive. Generations that each run their own loop re-queue at
// slightly different moments, so the dispatcher keeps starting batches before the slowest sequence has
// re-queued: 8 streams decoded mostly as batches of 7 plus stragglers, and aggregate throughput was
// 1.6-1.9x one stream where the same 8 sequences stepped together reach 3x (bench/batch-scaling.ts,
// random 24M and 110M models). The lockstep makes the running generations of a context wait, between
// two tokens, until every one of them has handled its token, then lets them all request the next token
// in the same tick, so each step is one full batch.
//
// Order matters too: node-llama-cpp creates contexts without a unified KV cache, and llama.cpp then splits
// a batch into micro-batches of *consecutive, increasing* sequence ids (llama_batch_allocr::split_equal
// with sequential = true), each a separate pass over the weights. A step queued in the order 3,4,5,0,1,2
// costs two passes instead of one, so members are released in the order of their sequence (slot) index:
// each then takes the same number of microtask hops to queue its decode, and the batch comes out sorted.
//
// Only generations that already produce tokens are members: a request still evaluating its prompt does
// not hold the others back, and joins with its first token.

interface Waiting {
  order: number;
  resolve: () => void;
}

export class DecodeLockstep {
  private members = 0;
  private waiting: Waiting[] = [];

  /** A generation starts producing tokens. */
  join(): void {
    this.members++;
  }

  /** A generation ended (finished, aborted or failed); the others no longer wait for it. */
  leave(): void {
    this.members = Math.max(0, this.members - 1);
    if (this.waiting.length > 0 && this.waiting.length >= this.members) this.open();
  }

  /**
   * A member handled its token and wants the next. Undefined when it is alone and may go on at once;
   * otherwise a promise that resolves when every member has arrived, members in ascending `order`
   * (the sequence's slot index), so that their decodes are queued sorted.
   */
  arrive(order: number): Promise<void> | undefined {
    if (this.members <= 1 && this.waiting.length === 0) return undefined;
    const released = new Promise<void>((resolve) => this.waiting.push({ order, resolve }));
    // The last to arrive opens one microtask later: by then it awaits its own promise like the others,
    // so it too resumes in slot order instead of always first (or last).
    if (this.waiting.length >= this.members) queueMicrotask(() => this.open());
    return released;
  }

  /** Members currently generating and how many of them wait for the rest (for tests and metrics). */
  stats(): { members: number; waiting: number } {
    return { members: this.members, waiting: this.waiting.length };
  }

  private open(): void {
    const waiting = this.waiting;
    this.waiting = [];
    waiting.sort((a, b) => a.order - b.order);
    for (const member of waiting) member.resolve();
  }
}

const lockstepByContext = new WeakMap<object, DecodeLockstep>();

/** One lockstep per llama.cpp context: its sequences share one batch dispatcher. */
export function decodeLockstepFor(context: object): DecodeLockstep {
  let lockstep = lockstepByContext.get(context);
  if (!lockstep) {
    lockstep = new DecodeLockstep();
    lockstepByContext.set(context, lockstep);
  }
  return lockstep;
}
