// Starts a configured server: database, registry, app, socket. Providers arrive through `factories`
// (the CLI's composition root builds them), so this module never imports a provider.
import { join } from "node:path";
import type { LanguageModel } from "../spec/index.js";
import { createServerApp, type ServerAppHandle } from "./app.js";
import { ModelLoadError } from "../errors/index.js";
import { isLoopbackHost, type LocalModelConfig, type RemoteModelConfig, type ReplicaSetConfig, type ServeConfig } from "./config.js";
import { listen, nodePeerAddress } from "./listen.js";
import { ModelRegistry, type LoadProgressListener, type ModelSpec } from "./model-registry.js";
import { ArenaStore } from "./arena/arena-store.js";
import { ConversationStore } from "./store/conversations.js";
import { PlaygroundSessionStore } from "./store/playground-sessions.js";
import { openServerDatabase, type ServerDatabase } from "./store/database.js";
import { RequestLog } from "./store/request-log.js";
import { ImageIntake } from "./images/image-intake.js";
import { ImageStore, imagesSubdirectory } from "./images/image-store.js";
import { safetyReportsSubdirectory } from "./routes/safety-reports.js";
import { evalResultsSubdirectory } from "./routes/eval-results.js";
import { trainingRunsSubdirectory, type AdapterModel } from "./routes/training-runs.js";

export interface ModelFactories {
  /** `onProgress` receives the fraction of the weights loaded (node-llama-cpp's onLoadProgress). */
  local(config: LocalModelConfig, onProgress?: LoadProgressListener): LanguageModel | Promise<LanguageModel>;
  remote(config: RemoteModelConfig): LanguageModel | Promise<LanguageModel>;
  /** One alias over several upstreams (routing, health checks, failover); needed only when the config has replica sets. */
  replicaSet?(config: ReplicaSetConfig): LanguageModel | Promise<LanguageModel>;
}

export interface RunningServer extends ServerAppHandle {
  url: string;
  registry: ModelRegistry;
  database: ServerDatabase;
  close(): Promise<void>;
}

const pruneIntervalMs = 60 * 60 * 1000;

export function modelSpecs(config: ServeConfig, factories: ModelFactories): ModelSpec[] {
  return [
    ...config.localModels.map<ModelSpec>((model) => ({
      id: model.id,
      kind: "local",
      ownedBy: "camelid",
      capacity: model.sequences,
      maxQueue: model.maxQueue,
      // A projector (checked in config to go with the llama-server engine) lets the model see.
      ...(model.mmproj !== undefined ? { capabilities: ["vision" as const] } : {}),
      load: async (onProgress) => factories.local(model, onProgress),
    })),
    ...config.remoteModels.map<ModelSpec>((model) => ({
      id: model.id,
      kind: "remote",
      ownedBy: model.upstream,
      capacity: model.concurrency,
      maxQueue: model.maxQueue,
      ...(model.vision ? { capabilities: ["vision" as const] } : {}),
      load: async () => factories.remote(model),
    })),
    ...(config.replicaSets ?? []).map<ModelSpec>((set) => ({
      id: set.id,
      kind: "remote",
      ownedBy: set.replicas.map((replica) => replica.name).join(", "),
      capacity: set.replicas.reduce((sum, replica) => sum + replica.concurrency, 0),
      maxQueue: set.maxQueue,
      // Created at startup: its health checks must know which replicas are up before the first request.
      loadAtStart: true,
      load: async () => {
        if (!factories.replicaSet) throw new ModelLoadError(set.id, `model "${set.id}": this server was built without replica-set support`);
        return factories.replicaSet(set);
      },
    })),
  ];
}

/** A training run's adapter served with the server's defaults for local models (`serve this adapter`). */
function adapterModelSpec(config: ServeConfig, factories: ModelFactories, model: AdapterModel): ModelSpec {
  const local: LocalModelConfig = { ...config.localDefaults, ...model, lora: model.lora };
  return { id: local.id, kind: "local", ownedBy: "camelid", capacity: local.sequences, maxQueue: local.maxQueue, load: async () => factories.local(local) };
}

export async function startServer(config: ServeConfig, factories: ModelFactories, log: (line: string) => void = () => undefined): Promise<RunningServer> {
  const database = openServerDatabase(join(config.dataDir, "camelid.sqlite"));
  const registry = new ModelRegistry(modelSpecs(config, factories), { retryAfterSeconds: config.retryAfterSeconds });
  let pruneTimer: NodeJS.Timeout | undefined;
  try {
    const requestLog = config.requestLog.enabled ? new RequestLog(database) : undefined;
    if (requestLog) {
      const interrupted = requestLog.markInterrupted();
      if (interrupted > 0) log(`request log: ${interrupted} request(s) were interrupted by the previous shutdown`);
      const policy = { maxAgeDays: config.requestLog.retentionDays ?? undefined, maxRows: config.requestLog.maxRows };
      requestLog.prune(policy);
      pruneTimer = setInterval(() => requestLog.prune(policy), pruneIntervalMs);
      pruneTimer.unref();
    }
    const conversations = new ConversationStore(database);
    const cutShort = conversations.markInterruptedReplies();
    if (cutShort > 0) log(`conversations: ${cutShort} answer(s) were interrupted by the previous shutdown`);
    const handle = createServerApp({
      registry,
      requestLog,
      conversations,
      images: new ImageIntake(new ImageStore(join(config.dataDir, imagesSubdirectory)), config.images),
      sessions: new PlaygroundSessionStore(database),
      arena: { store: new ArenaStore(database) },
      safetyReportsDirectory: join(config.dataDir, safetyReportsSubdirectory),
      trainingRuns: { directory: join(config.dataDir, trainingRunsSubdirectory), adapterModel: (model) => adapterModelSpec(config, factories, model) },
      evalResultsDirectory: join(config.dataDir, evalResultsSubdirectory),
      apiKeys: config.apiKeys,
      bodyLimitBytes: config.maxBodyBytes,
      corsOrigins: config.corsOrigins,
      allowedHosts: config.allowedHosts,
      peerAddress: nodePeerAddress,
      log,
    });
    // Replica sets start their health checks now whatever the loading mode (creating one loads nothing).
    for (const entry of registry.list()) if (entry.spec.loadAtStart) await entry.model().catch(() => undefined);
    if (config.loading === "eager") {
      const started = performance.now();
      const failures = await registry.loadAll();
      const loaded = registry.list().length - failures.length;
      log(`loaded ${loaded} of ${registry.list().length} model(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      for (const failure of failures) log(`model "${failure.id}" failed to load (it is retried on its next request): ${failure.error.message}`);
    }
    const server = await listen(handle.app, { host: config.host, port: config.port, requestTimeoutMs: config.requestBodyTimeoutMs });
    if (!isLoopbackHost(config.host) && config.apiKeys.filter((key) => !key.revoked).length === 0) {
      log(`warning: listening on ${config.host} without API keys: anyone who can reach this address can use the models`);
    }
    if (!isLoopbackHost(config.host) && config.allowedHosts.length === 0) {
      log(`requests must name this server by IP address or localhost; add --allowed-host NAME for each host name clients use`);
    }
    let closed = false;
    return {
      ...handle,
      url: server.url,
      registry,
      database,
      close: async () => {
        if (closed) return;
        closed = true;
        clearInterval(pruneTimer);
        await server.close();
        await registry.dispose();
        await requestLog?.close();
        database.close();
      },
    };
  } catch (error) {
    clearInterval(pruneTimer);
    await registry.dispose();
    database.close();
    throw error;
  }
}
