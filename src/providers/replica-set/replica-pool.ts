// The replicas of one model: which are healthy, how many requests each has in flight, and the
// routing rule (least loaded, ties in turn). State only; the calls themselves are the model's.
import type { LanguageModel, ReplicaStatus } from "../../spec/language-model.js";

/** One upstream serving the model: any provider kind, with a way to ask it whether it is up. */
export interface Replica {
  /** Names it in metrics and the request log; unique within the set. */
  name: string;
  model: LanguageModel;
  /** Relative speed, as a FastChat worker's `--speed` (default 1): the load compared is in-flight / speed. */
  speed?: number;
  /** Resolves when the upstream answers its health check; rejects (with the reason) otherwise. */
  probe(signal: AbortSignal): Promise<void>;
}

/** One request's hold on a replica; `finish` exactly once. */
export interface ReplicaLease {
  readonly replica: Replica;
  /**
   * "served": answered (a request error such as a too-long prompt counts: the replica did its job);
   * "failed": the replica failed the request, so it is unhealthy until its next good probe;
   * "failed-over": failed before any output and the request moves to another replica.
   */
  finish(outcome: "served" | "failed" | "failed-over", error?: unknown): void;
}

interface ReplicaState extends Omit<ReplicaStatus, "name" | "lastError"> {
  replica: Replica;
  lastError?: string;
  /** Bumped by each request failure: a probe that started before it cannot clear it. */
  failureEpoch: number;
}

const load = (state: ReplicaState) => state.inFlight / (state.replica.speed ?? 1);

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Routing rule, FastChat's controller's "shortest_queue" dispatch (argmin of queue_length / speed) with
 * our own count of requests in flight as the queue: among healthy replicas not yet tried for this
 * request, the one with the least in-flight / speed; among equals, the first one after the replica
 * chosen last, in configuration order (round robin; FastChat's argmin takes the first), so idle
 * replicas share requests evenly.
 */
export class ReplicaPool {
  private readonly states: ReplicaState[];
  /** Index of the replica chosen last; ties go to the next one after it. */
  private lastChosen = -1;

  constructor(
    replicas: Replica[],
    private readonly now: () => number = () => performance.now(),
  ) {
    this.states = replicas.map((replica) => ({
      replica,
      // Healthy until shown otherwise: the first probe runs at once, and a request finds out too.
      healthy: true,
      inFlight: 0,
      requests: 0,
      failures: 0,
      failovers: 0,
      latencySecondsSum: 0,
      latencyCount: 0,
      failureEpoch: 0,
    }));
  }

  /** The least-loaded healthy replica not in `tried`, holding one in-flight slot; undefined when none is left. */
  acquire(tried: ReadonlySet<string>): ReplicaLease | undefined {
    const count = this.states.length;
    let best: { state: ReplicaState; index: number } | undefined;
    for (let step = 1; step <= count; step++) {
      const index = (this.lastChosen + step) % count;
      const state = this.states[index];
      if (!state.healthy || tried.has(state.replica.name)) continue;
      if (!best || load(state) < load(best.state)) best = { state, index };
    }
    if (!best) return undefined;
    this.lastChosen = best.index;
    const state = best.state;
    state.inFlight++;
    state.requests++;
    const startedAt = this.now();
    let finished = false;
    return {
      replica: state.replica,
      finish: (outcome, error) => {
        if (finished) return;
        finished = true;
        state.inFlight--;
        state.latencySecondsSum += (this.now() - startedAt) / 1000;
        state.latencyCount++;
        if (outcome === "served") return;
        state.failures++;
        if (outcome === "failed-over") state.failovers++;
        this.markUnhealthy(state, error);
      },
    };
  }

  /** Probes every replica once, side by side; resolves when all answered or timed out. */
  async probeAll(timeoutMs: number): Promise<void> {
    await Promise.all(this.states.map((state) => this.probe(state, timeoutMs)));
  }

  private async probe(state: ReplicaState, timeoutMs: number): Promise<void> {
    const epoch = state.failureEpoch;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      // Raced with the deadline: a probe that ignores its signal still cannot hold the health state.
      await Promise.race([state.replica.probe(signal), untilAborted(signal)]);
      // A request that failed while this probe was on its way wins: wait for the next probe.
      if (state.failureEpoch !== epoch) return;
      state.healthy = true;
      state.lastError = undefined;
    } catch (error) {
      this.markUnhealthy(state, signal.aborted ? `health check timed out after ${timeoutMs} ms` : error);
    }
  }

  private markUnhealthy(state: ReplicaState, error: unknown): void {
    state.healthy = false;
    state.failureEpoch++;
    state.lastError = describe(error);
  }

  /** Every replica's health, load and counters, in configuration order. */
  status(): ReplicaStatus[] {
    return this.states.map(({ replica, lastError, failureEpoch: _epoch, ...counters }) => ({
      name: replica.name,
      ...counters,
      ...(lastError !== undefined && !counters.healthy ? { lastError } : {}),
    }));
  }
}
