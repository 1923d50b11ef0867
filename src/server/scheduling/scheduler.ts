import { AbortError, QueueFullError } from "../../errors/index.js";

/** Permission to use `weight` of a model's sequences; `release` is idempotent. */
export interface Lease {
  readonly weight: number;
  release(): void;
}

export interface SchedulerOptions {
  /** Sequences the model decodes together (continuous batching happens inside the model). */
  capacity: number;
  /** Requests allowed to wait; one more is refused with QueueFullError. */
  maxQueue: number;
  /** Sent to refused clients as `retry-after`. */
  retryAfterSeconds?: number;
}

export interface SchedulerStats {
  capacity: number;
  active: number;
  queued: number;
}

interface Waiter {
  clientId: string;
  weight: number;
  resolve(lease: Lease): void;
  reject(error: Error): void;
  detach(): void;
}

/**
 * Admission control for one model. At most `capacity` sequences are in use; the rest wait in a
 * bounded queue. Waiting requests are kept per client and served round-robin between clients, so
 * one client sending 50 requests cannot starve another that sends one (FIFO within a client).
 */
export class RequestScheduler {
  readonly capacity: number;
  readonly maxQueue: number;
  readonly retryAfterSeconds: number;
  private active = 0;
  private queued = 0;
  /** Client ids in the order they will next be served; each id maps to its own FIFO. */
  private readonly queues = new Map<string, Waiter[]>();

  constructor(options: SchedulerOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) throw new RangeError("capacity must be a positive integer");
    if (!Number.isInteger(options.maxQueue) || options.maxQueue < 0) throw new RangeError("maxQueue must be a non-negative integer");
    this.capacity = options.capacity;
    this.maxQueue = options.maxQueue;
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
  }

  stats(): SchedulerStats {
    return { capacity: this.capacity, active: this.active, queued: this.queued };
  }

  /**
   * Waits for `weight` sequences (an n>1 request decodes its choices side by side). Rejects with
   * QueueFullError when the queue is full and AbortError when `signal` fires while waiting.
   */
  acquire(clientId: string, weight = 1, signal?: AbortSignal): Promise<Lease> {
    const need = Math.max(1, Math.min(Math.floor(weight), this.capacity));
    if (signal?.aborted) return Promise.reject(new AbortError());
    if (this.queued === 0 && this.active + need <= this.capacity) {
      this.active += need;
      return Promise.resolve(this.lease(need));
    }
    if (this.queued >= this.maxQueue) return Promise.reject(this.queueFull());
    return new Promise<Lease>((resolve, reject) => {
      const onAbort = () => {
        this.remove(waiter);
        reject(new AbortError("the request was aborted while waiting in the queue"));
      };
      const waiter: Waiter = {
        clientId,
        weight: need,
        resolve,
        reject,
        detach: () => signal?.removeEventListener("abort", onAbort),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const queue = this.queues.get(clientId);
      if (queue) queue.push(waiter);
      else this.queues.set(clientId, [waiter]);
      this.queued++;
    });
  }

  /** What acquire() would answer a new single-sequence request right now: refused when true. */
  isFull(): boolean {
    const admitsAtOnce = this.queued === 0 && this.active < this.capacity;
    return !admitsAtOnce && this.queued >= this.maxQueue;
  }

  /** The QueueFullError a refused request gets. */
  private queueFull(): QueueFullError {
    return new QueueFullError(
      `the queue for this model is full (${this.active}/${this.capacity} sequences busy, ${this.queued} waiting); retry later`,
      this.retryAfterSeconds,
    );
  }

  private lease(weight: number): Lease {
    let released = false;
    return {
      weight,
      release: () => {
        if (released) return;
        released = true;
        this.active -= weight;
        this.dispatch();
      },
    };
  }

  private remove(waiter: Waiter): void {
    const queue = this.queues.get(waiter.clientId);
    if (!queue) return;
    const index = queue.indexOf(waiter);
    if (index < 0) return;
    queue.splice(index, 1);
    this.queued--;
    waiter.detach();
    if (queue.length === 0) this.queues.delete(waiter.clientId);
    this.dispatch();
  }

  /** Serves clients round-robin: the first client in map order goes, then moves to the back. */
  private dispatch(): void {
    for (;;) {
      const next = this.queues.entries().next();
      if (next.done) return;
      const [clientId, queue] = next.value;
      const waiter = queue[0];
      if (this.active + waiter.weight > this.capacity) return;
      queue.shift();
      this.queued--;
      this.queues.delete(clientId);
      if (queue.length > 0) this.queues.set(clientId, queue);
      waiter.detach();
      this.active += waiter.weight;
      waiter.resolve(this.lease(waiter.weight));
    }
  }
}
