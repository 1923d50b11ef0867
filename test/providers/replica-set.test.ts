// The replica set's rules in isolation, over in-memory models: the routing order, health state
// (probes, failures, a probe that raced a failure), failover before output, in-band errors after it.
import { afterEach, describe, expect, it } from "vitest";
import { ConnectionError, InvalidArgumentError, NoReplicaAvailableError, toHttpError, UpstreamError } from "../../src/errors/index.js";
import { createReplicaSetModel, ReplicaPool, type Replica, type ReplicaSetModel } from "../../src/providers/replica-set/index.js";
import type { LanguageModel, StreamPart } from "../../src/spec/index.js";
import { scriptedModel } from "../support/scripted-model.js";

/** A probe the test answers by hand: `pending` resolves or rejects the one in flight. */
function manualProbe() {
  let settle: { resolve: () => void; reject: (error: Error) => void } | undefined;
  return {
    probe: () => new Promise<void>((resolve, reject) => (settle = { resolve, reject })),
    pass: () => settle!.resolve(),
    fail: (message: string) => settle!.reject(new Error(message)),
  };
}

const replica = (name: string, model: LanguageModel = scriptedModel({ reply: () => `from ${name}` }), probe: () => Promise<void> = async () => undefined): Replica => ({ name, model, probe });

const models: ReplicaSetModel[] = [];
afterEach(async () => {
  for (const model of models.splice(0)) await model.dispose?.();
});
function replicaSet(replicas: Replica[]): ReplicaSetModel {
  // A long interval: the tests probe by hand (checkHealth) and never wait for the timer.
  const model = createReplicaSetModel({ modelId: "alias", replicas, healthCheck: { intervalMs: 3_600_000, timeoutMs: 60_000 } });
  models.push(model);
  return model;
}

async function drain(stream: ReadableStream<StreamPart>): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of stream as unknown as AsyncIterable<StreamPart>) parts.push(part);
  return parts;
}

describe("ReplicaPool routing", () => {
  it("picks the fewest in flight, and among equals the next one after the replica chosen last", () => {
    const pool = new ReplicaPool(["a", "b", "c"].map((name) => replica(name)));
    const none = new Set<string>();
    const first = [pool.acquire(none)!, pool.acquire(none)!, pool.acquire(none)!];
    expect(first.map((lease) => lease.replica.name)).toEqual(["a", "b", "c"]);
    // b finishes: it alone has the fewest in flight.
    first[1].finish("served");
    const next = pool.acquire(none)!;
    expect(next.replica.name).toBe("b");
    // All have one again: ties go round, starting after b; then a and b are the least loaded, a first after c.
    expect(pool.acquire(none)!.replica.name).toBe("c");
    expect(pool.acquire(none)!.replica.name).toBe("a");
    expect(pool.status().map((s) => s.inFlight)).toEqual([2, 1, 2]);
    // Replicas already tried for this request are skipped whatever their load.
    expect(pool.acquire(new Set(["a", "b"]))!.replica.name).toBe("c");
    expect(pool.acquire(new Set(["a", "b", "c"]))).toBeUndefined();
  });

  it("compares in-flight / speed, as FastChat's shortest-queue dispatch", () => {
    const pool = new ReplicaPool([replica("slow"), { ...replica("fast"), speed: 2 }]);
    const none = new Set<string>();
    // slow: 0/1, fast: 0/2 -> slow (first in turn); then fast 0 < slow 1; then fast 1/2 < slow 1; then a tie at 1 -> round robin.
    expect([1, 2, 3, 4].map(() => pool.acquire(none)!.replica.name)).toEqual(["slow", "fast", "fast", "slow"]);
  });

  it("skips a replica that failed a request until a probe started after the failure passes", async () => {
    const probes = manualProbe();
    const pool = new ReplicaPool([replica("a", undefined, probes.probe), replica("b")]);
    // A probe is on its way to a when a request fails there.
    const racing = pool.probeAll(60_000);
    pool.acquire(new Set())!.finish("failed", new ConnectionError("connection refused"));
    probes.pass();
    await racing;
    // That probe was sent before the failure: a stays out.
    expect(pool.status()[0]).toMatchObject({ name: "a", healthy: false, failures: 1, lastError: "connection refused" });
    expect(pool.acquire(new Set())!.replica.name).toBe("b");
    const next = pool.probeAll(60_000);
    probes.pass();
    await next;
    expect(pool.status()[0]).toMatchObject({ healthy: true });
    expect(pool.status()[0].lastError).toBeUndefined();
  });

  it("marks a replica unhealthy when its probe fails or never answers", async () => {
    const failing = manualProbe();
    const pool = new ReplicaPool([replica("a", undefined, failing.probe), replica("b", undefined, () => new Promise<void>(() => undefined))]);
    const round = pool.probeAll(50);
    failing.fail("GET /v1/models answered 502");
    await round;
    expect(pool.status().map((s) => [s.healthy, s.lastError])).toEqual([
      [false, "GET /v1/models answered 502"],
      [false, "health check timed out after 50 ms"],
    ]);
    expect(pool.acquire(new Set())).toBeUndefined();
  });
});

describe("createReplicaSetModel", () => {
  it("retries a generation that failed on one replica on the next, and names the replica that answered", async () => {
    const down = { ...scriptedModel(), doGenerate: () => Promise.reject(new ConnectionError("connect ECONNREFUSED")) };
    const model = replicaSet([replica("a", down), replica("b")]);
    const result = await model.doGenerate({ messages: [{ role: "user", content: "hi" }] });
    expect(result.choices[0].text).toBe("from b");
    expect(result.servedBy).toBe("b");
    expect(model.replicas!().map(({ name, healthy, requests, failures, failovers, inFlight }) => ({ name, healthy, requests, failures, failovers, inFlight }))).toEqual([
      { name: "a", healthy: false, requests: 1, failures: 1, failovers: 1, inFlight: 0 },
      { name: "b", healthy: true, requests: 1, failures: 0, failovers: 0, inFlight: 0 },
    ]);
  });

  it("returns a request's own error at once: another replica would answer the same", async () => {
    const refuses = { ...scriptedModel(), doGenerate: () => Promise.reject(new InvalidArgumentError("max_tokens", "max_tokens too large")) };
    const second = scriptedModel();
    const model = replicaSet([replica("a", refuses), replica("b", second)]);
    await expect(model.doGenerate({ prompt: "x" })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(second.calls).toHaveLength(0);
    expect(model.replicas!()[0]).toMatchObject({ healthy: true, failures: 0 });
  });

  it("answers 503 with retry-after when no replica is left, naming what each one said", async () => {
    const down = (message: string) => ({ ...scriptedModel(), doGenerate: () => Promise.reject(new ConnectionError(message)) });
    const model = replicaSet([replica("a", down("refused at a")), replica("b", down("refused at b"))]);
    const error = await model.doGenerate({ prompt: "x" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NoReplicaAvailableError);
    expect((error as Error).message).toContain("a: refused at a; b: refused at b");
    const http = toHttpError(error);
    expect(http.status).toBe(503);
    expect(http.headers["retry-after"]).toBeDefined();
    // Both are unhealthy now: the next request is refused without trying them.
    await expect(model.doGenerate({ prompt: "x" })).rejects.toThrow(/no replica is healthy now/);
  });

  it("fails a stream over while it has produced nothing, and passes on the next replica's parts", async () => {
    const failsFirst = scriptedModel({ fail: () => "upstream 502" });
    const model = replicaSet([replica("a", failsFirst), replica("b")]);
    const result = await model.doStream({ messages: [{ role: "user", content: "hi" }] });
    expect(result.servedBy).toBe("b");
    const parts = await drain(result.stream);
    expect(parts[0].type).toBe("stream-start");
    expect(parts.filter((p) => p.type === "text-delta").map((p) => (p as { delta: string }).delta).join("")).toBe("from b");
    expect(parts.at(-1)!.type).toBe("finish");
    expect(model.replicas!().map((s) => [s.name, s.failovers, s.inFlight, s.latencyCount])).toEqual([
      ["a", 1, 0, 1],
      ["b", 0, 0, 1],
    ]);
  });

  it("reports an error after output in the stream, without trying another replica, and marks the replica unhealthy", async () => {
    const breaksMidway: LanguageModel = {
      ...scriptedModel(),
      async doStream() {
        const stream = new ReadableStream<StreamPart>({
          start(controller) {
            controller.enqueue({ type: "stream-start", warnings: [] });
            controller.enqueue({ type: "text-delta", choiceIndex: 0, delta: "Once" });
            controller.enqueue({ type: "error", error: new UpstreamError("connection reset mid-stream") });
            controller.close();
          },
        });
        return { stream, warnings: [] };
      },
    };
    const second = scriptedModel();
    const model = replicaSet([replica("a", breaksMidway), replica("b", second)]);
    const result = await model.doStream({ prompt: "x" });
    const parts = await drain(result.stream);
    expect(parts.map((p) => p.type)).toEqual(["stream-start", "text-delta", "error"]);
    expect(second.calls).toHaveLength(0);
    expect(model.replicas!()[0]).toMatchObject({ healthy: false, failures: 1, failovers: 0, inFlight: 0 });
  });

  it("refuses two replicas with one name", () => {
    expect(() => createReplicaSetModel({ modelId: "x", replicas: [replica("a"), replica("a")], healthCheck: { intervalMs: 1000, timeoutMs: 1000 } })).toThrow(
      /two replicas are named "a"/,
    );
  });
});
