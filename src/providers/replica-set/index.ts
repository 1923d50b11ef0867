/**
 * One model alias over several upstreams (other camelid servers, vLLM, any OpenAI-compatible server,
 * or any other provider): least-loaded routing, health checks, failover before output, per-replica counters.
 *
 *   const model = createReplicaSetModel({ modelId: "llama", replicas, healthCheck: { intervalMs: 5000, timeoutMs: 2000 } });
 */
export { createReplicaSetModel, REPLICA_SET_PROVIDER, type ReplicaSetModel, type ReplicaSetSettings } from "./replica-set-model.js";
export { ReplicaPool, type Replica, type ReplicaLease } from "./replica-pool.js";
