// One model served by several upstreams: routing (least loaded), health checks and failover behind
// the ordinary LanguageModel interface, so the server treats a replica set like any other model.
import {
  AbortError,
  ContextLengthExceededError,
  InvalidArgumentError,
  NoReplicaAvailableError,
  PromptFormatError,
  UnsupportedFeatureError,
  UpstreamError,
} from "../../errors/index.js";
import type { CallOptions } from "../../spec/call-options.js";
import type { LanguageModel } from "../../spec/language-model.js";
import type { StreamPart, StreamResult } from "../../spec/stream-parts.js";
import { ReplicaPool, type Replica, type ReplicaLease } from "./replica-pool.js";

export const REPLICA_SET_PROVIDER = "replica-set";

export interface ReplicaSetSettings {
  /** The alias clients send as `model`. */
  modelId: string;
  replicas: Replica[];
  healthCheck: {
    /** Between the starts of two rounds of probes. */
    intervalMs: number;
    /** A probe not answered within this time marks its replica unhealthy. */
    timeoutMs: number;
  };
  /** Tests inject a clock for the latency sums. */
  now?: () => number;
}

/**
 * Errors that the request itself causes: every replica would answer the same, so they are returned
 * at once and do not count against the replica. Anything else (refused connection, 5xx, timeout,
 * a broken stream, 401/404 from a misconfigured upstream) is the replica's failure.
 */
function isRequestError(error: unknown): boolean {
  return (
    error instanceof InvalidArgumentError ||
    error instanceof ContextLengthExceededError ||
    error instanceof PromptFormatError ||
    error instanceof UnsupportedFeatureError ||
    error instanceof AbortError
  );
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** What a replica-routed model is besides a LanguageModel: it starts and stops its health checks. */
export interface ReplicaSetModel extends LanguageModel {
  readonly pool: ReplicaPool;
  /** Probes every replica once now (the periodic checks do the same). */
  checkHealth(): Promise<void>;
}

/**
 * A LanguageModel over `replicas` (all serving the same weights). Each call goes to the least-loaded
 * healthy replica; one that fails before producing any output is retried on the next (a stream
 * counts as started once its first text or finish part arrived: nothing reached the client before
 * that), and once output has started an error is reported in the stream as for any model, never
 * repeated elsewhere. The health checks start at once and end with `dispose`.
 */
export function createReplicaSetModel(settings: ReplicaSetSettings): ReplicaSetModel {
  if (settings.replicas.length === 0) throw new InvalidArgumentError("replicas", `model "${settings.modelId}": a replica set needs at least one replica`);
  const names = new Set<string>();
  for (const { name } of settings.replicas) {
    if (names.has(name)) throw new InvalidArgumentError("replicas", `model "${settings.modelId}": two replicas are named "${name}"`);
    names.add(name);
  }
  const pool = new ReplicaPool(settings.replicas, settings.now);
  const { intervalMs, timeoutMs } = settings.healthCheck;
  // One round at a time: a round slower than the interval is not joined by another.
  let round: Promise<void> | undefined;
  const checkHealth = () => (round ??= pool.probeAll(timeoutMs).finally(() => (round = undefined)));
  void checkHealth();
  const timer = setInterval(() => void checkHealth(), intervalMs);
  // Health checks never keep a finished process alive.
  timer.unref();

  /** Runs `call` on replicas in routing order until one answers or none is left. */
  async function route<T>(what: string, call: (replica: Replica, lease: ReplicaLease) => Promise<T>, abortSignal?: AbortSignal): Promise<T> {
    const tried = new Set<string>();
    const failures: string[] = [];
    for (;;) {
      if (abortSignal?.aborted) throw new AbortError();
      const lease = pool.acquire(tried);
      if (!lease) {
        const reason = failures.length > 0 ? `every healthy replica failed it (${failures.join("; ")})` : "no replica is healthy now";
        throw new NoReplicaAvailableError(`model "${settings.modelId}": ${what}: ${reason}`, Math.max(1, intervalMs / 1000));
      }
      tried.add(lease.replica.name);
      try {
        return await call(lease.replica, lease);
      } catch (error) {
        if (isRequestError(error) || abortSignal?.aborted) {
          lease.finish("served");
          throw error;
        }
        lease.finish("failed-over", error);
        failures.push(`${lease.replica.name}: ${describe(error)}`);
      }
    }
  }

  /** A call that holds its replica until it returns (everything but a stream, which holds it to its end). */
  const served = <T>(what: string, call: (replica: Replica) => Promise<T>, abortSignal?: AbortSignal) =>
    route(
      what,
      async (replica, lease) => {
        const answer = await call(replica);
        lease.finish("served");
        return answer;
      },
      abortSignal,
    );
  const everyReplicaHas = <K extends keyof LanguageModel>(key: K) => settings.replicas.every((replica) => replica.model[key] !== undefined);

  const model: ReplicaSetModel = {
    specificationVersion: "camelid-v1",
    provider: REPLICA_SET_PROVIDER,
    modelId: settings.modelId,
    pool,
    checkHealth,

    doGenerate(options) {
      return served("generation", async (replica) => ({ ...(await replica.model.doGenerate(options)), servedBy: replica.name }), options.abortSignal);
    },

    doStream(options) {
      return route("stream", (replica, lease) => openReplicaStream(replica, lease, options), options.abortSignal);
    },

    renderPrompt(options) {
      return served("prompt rendering", (replica) => replica.model.renderPrompt(options), options.abortSignal);
    },

    replicas: () => pool.status(),

    async dispose() {
      clearInterval(timer);
      await Promise.allSettled(settings.replicas.map((replica) => replica.model.dispose?.()));
    },
  };
  // Optional capabilities only where every replica has them: any replica may get the call.
  if (everyReplicaHas("tokenize")) model.tokenize = (text, options) => served("tokenization", (replica) => replica.model.tokenize!(text, options));
  if (everyReplicaHas("detokenize")) model.detokenize = (tokens) => served("detokenization", (replica) => replica.model.detokenize!(tokens));
  if (everyReplicaHas("logLikelihood")) {
    model.logLikelihood = (requests, options) => served("scoring", (replica) => replica.model.logLikelihood!(requests, options), options?.abortSignal);
  }
  if (everyReplicaHas("logLikelihoodTokens")) {
    model.logLikelihoodTokens = (requests, options) => served("scoring", (replica) => replica.model.logLikelihoodTokens!(requests, options), options?.abortSignal);
  }
  if (everyReplicaHas("describe")) {
    model.describe = async () => ({ ...(await served("description", (replica) => replica.model.describe!())), modelId: settings.modelId, provider: REPLICA_SET_PROVIDER });
  }
  return model;
}

/**
 * Opens the replica's stream and reads it up to its first text, choice end or finish: an error up to
 * there throws (so the request fails over, nothing was sent); after it, the stream is the client's and
 * a failure is an in-band error part that also marks the replica unhealthy.
 */
async function openReplicaStream(replica: Replica, lease: ReplicaLease, options: CallOptions): Promise<StreamResult> {
  const result = await replica.model.doStream(options);
  const reader = result.stream.getReader();
  const head: StreamPart[] = [];
  let first: StreamPart | undefined;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.type === "error") throw value.error;
      head.push(value);
      if (value.type !== "stream-start") {
        first = value;
        break;
      }
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error;
  }
  if (!first) {
    await reader.cancel().catch(() => undefined);
    throw new UpstreamError(`replica "${replica.name}" ended its stream before producing anything`);
  }
  const stream = new ReadableStream<StreamPart>({
    start(controller) {
      for (const part of head) controller.enqueue(part);
      if (first.type === "finish") {
        lease.finish("served");
        controller.close();
      }
    },
    async pull(controller) {
      let next: ReadableStreamReadResult<StreamPart>;
      try {
        next = await reader.read();
      } catch (error) {
        lease.finish(options.abortSignal?.aborted ? "served" : "failed", error);
        controller.enqueue({ type: "error", error: error instanceof Error ? error : new Error(String(error)) });
        controller.close();
        return;
      }
      if (next.done) {
        lease.finish("served");
        controller.close();
        return;
      }
      const part = next.value;
      if (part.type === "error") lease.finish(isRequestError(part.error) || options.abortSignal?.aborted ? "served" : "failed", part.error);
      if (part.type === "finish") lease.finish("served");
      controller.enqueue(part);
    },
    async cancel(reason) {
      lease.finish("served");
      await reader.cancel(reason);
    },
  });
  return { ...result, stream, servedBy: replica.name };
}
