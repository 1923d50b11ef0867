import { describe, expect, it } from "vitest";
import { AbortError, QueueFullError } from "../../src/errors/index.js";
import { RequestScheduler } from "../../src/server/scheduling/scheduler.js";

describe("RequestScheduler", () => {
  it("admits up to capacity at once and queues the rest in FIFO order", async () => {
    const scheduler = new RequestScheduler({ capacity: 2, maxQueue: 10 });
    const a = await scheduler.acquire("c");
    const b = await scheduler.acquire("c");
    const order: string[] = [];
    const c = scheduler.acquire("c").then((lease) => (order.push("c"), lease));
    const d = scheduler.acquire("c").then((lease) => (order.push("d"), lease));
    expect(scheduler.stats()).toEqual({ capacity: 2, active: 2, queued: 2 });
    a.release();
    a.release(); // idempotent: must not free a second sequence
    await c;
    expect(order).toEqual(["c"]);
    expect(scheduler.stats()).toEqual({ capacity: 2, active: 2, queued: 1 });
    b.release();
    await d;
    expect(order).toEqual(["c", "d"]);
  });

  it("serves waiting clients round-robin so a busy client cannot starve another", async () => {
    const scheduler = new RequestScheduler({ capacity: 1, maxQueue: 10 });
    const first = await scheduler.acquire("busy");
    const order: string[] = [];
    const waits = [
      ...[1, 2, 3].map((i) => scheduler.acquire("busy").then((lease) => (order.push(`busy${i}`), lease.release()))),
      scheduler.acquire("quiet").then((lease) => (order.push("quiet"), lease.release())),
    ];
    first.release();
    await Promise.all(waits);
    expect(order).toEqual(["busy1", "quiet", "busy2", "busy3"]);
  });

  it("refuses with QueueFullError carrying retry-after when the queue is full", async () => {
    const scheduler = new RequestScheduler({ capacity: 1, maxQueue: 1, retryAfterSeconds: 3 });
    await scheduler.acquire("a");
    void scheduler.acquire("a");
    const refused = await scheduler.acquire("b").catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(QueueFullError);
    expect((refused as QueueFullError).retryAfterSeconds).toBe(3);
  });

  it("drops a waiter whose signal aborts and serves the next one", async () => {
    const scheduler = new RequestScheduler({ capacity: 1, maxQueue: 5 });
    const holder = await scheduler.acquire("a");
    const controller = new AbortController();
    const abandoned = scheduler.acquire("b", 1, controller.signal).catch((error: unknown) => error);
    const next = scheduler.acquire("c");
    controller.abort();
    expect(await abandoned).toBeInstanceOf(AbortError);
    expect(scheduler.stats().queued).toBe(1);
    holder.release();
    (await next).release();
    expect(scheduler.stats()).toEqual({ capacity: 1, active: 0, queued: 0 });
  });

  it("reserves n sequences for an n>1 request, capped at capacity", async () => {
    const scheduler = new RequestScheduler({ capacity: 4, maxQueue: 5 });
    const wide = await scheduler.acquire("a", 3);
    expect(scheduler.stats().active).toBe(3);
    let admitted = false;
    const pending = scheduler.acquire("b", 2).then((lease) => ((admitted = true), lease));
    await Promise.resolve();
    expect(admitted).toBe(false);
    wide.release();
    (await pending).release();
    const capped = await scheduler.acquire("c", 99);
    expect(capped.weight).toBe(4);
    capped.release();
  });
});
