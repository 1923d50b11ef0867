import { GgufFormatError, ModelLoadError, ModelNotFoundError, QueueFullError } from "../errors/index.js";
import type { EngineBinaryInfo, EngineProcessState, LanguageModel, ReplicaStatus } from "../spec/index.js";
import { ResourceConflictError } from "./http-errors.js";
import { RequestScheduler, type SchedulerStats } from "./scheduling/scheduler.js";

/** How the server learns about one model; the composition root (cli/serve) supplies `load`. */
export interface ModelSpec {
  /** The name clients send as `model`. */
  id: string;
  kind: "local" | "remote";
  /** `owned_by` in /v1/models (e.g. "camelid" or the upstream's name). */
  ownedBy: string;
  /** Concurrent requests: a local model's sequences, a remote upstream's allowed parallelism. */
  capacity: number;
  maxQueue: number;
  /** What the model can do besides text: "vision" takes images (a remote with `vision: true`, a local engine with a projector). */
  capabilities?: readonly ModelCapability[];
  /** Loaded when the server starts even under lazy loading (a replica set: cheap, and its health checks must run). */
  loadAtStart?: boolean;
  /** Loads the model; a loader that can tell how far it got calls `onProgress` with a fraction in (0, 1]. */
  load(onProgress?: LoadProgressListener): Promise<LanguageModel>;
}

export type ModelCapability = "vision";

/** Called with how much of a load is done, a fraction in (0, 1]. */
export type LoadProgressListener = (fraction: number) => void;

export type ModelState = "unloaded" | "loading" | "ready" | "failed";

export interface ModelStatus extends SchedulerStats {
  id: string;
  kind: ModelSpec["kind"];
  state: ModelState;
  error?: string;
  /** While loading: the fraction done, when the loader reports one. */
  progress?: number;
  /** A replicated model's upstreams: health, load and counters. */
  replicas?: ReplicaStatus[];
  /** A loaded model run by a supervised process (the llama-server engine): that process's state. */
  process?: EngineProcessState;
  /** A loaded in-process model: which node-llama-cpp binary it runs ("prebuilt" / "localBuild") and its threads. */
  engine?: EngineBinaryInfo;
}

/** One served model: its loader (single-flight, retried after a failure) and its scheduler. */
export class ModelEntry {
  readonly scheduler: RequestScheduler;
  private state: ModelState = "unloaded";
  private loading: Promise<LanguageModel> | undefined;
  private loaded: LanguageModel | undefined;
  private lastError: string | undefined;
  private loadProgress: number | undefined;

  constructor(
    readonly spec: ModelSpec,
    retryAfterSeconds: number,
  ) {
    this.scheduler = new RequestScheduler({ capacity: spec.capacity, maxQueue: spec.maxQueue, retryAfterSeconds });
  }

  get id(): string {
    return this.spec.id;
  }

  status(): ModelStatus {
    return {
      id: this.spec.id,
      kind: this.spec.kind,
      state: this.state,
      ...(this.lastError ? { error: this.lastError } : {}),
      ...(this.state === "loading" && this.loadProgress !== undefined ? { progress: this.loadProgress } : {}),
      ...(this.loaded?.replicas ? { replicas: this.loaded.replicas() } : {}),
      ...(this.loaded?.processState ? { process: this.loaded.processState() } : {}),
      ...(this.loaded?.engineInfo?.() ? { engine: this.loaded.engineInfo()! } : {}),
      ...this.scheduler.stats(),
    };
  }

  /** The model, loading it on first use; concurrent callers share one load. */
  model(): Promise<LanguageModel> {
    if (this.loaded) return Promise.resolve(this.loaded);
    this.loading ??= this.startLoad();
    return this.loading;
  }

  private async startLoad(): Promise<LanguageModel> {
    this.state = "loading";
    this.loadProgress = undefined;
    try {
      const model = await this.spec.load((fraction) => {
        // A late or repeated report never moves the bar backwards (shared loads report to every listener).
        if (this.state === "loading") this.loadProgress = Math.max(this.loadProgress ?? 0, Math.min(1, fraction));
      });
      this.loaded = model;
      this.state = "ready";
      this.lastError = undefined;
      return model;
    } catch (error) {
      // Forget the failed attempt so a later request (after the file is fixed) tries again.
      this.loading = undefined;
      this.state = "failed";
      // Whatever went wrong (a bad option, a missing file) is the server's problem, not the
      // client's: always a ModelLoadError (503), never e.g. a 400 from an option validator.
      const wrapped =
        error instanceof ModelLoadError || error instanceof GgufFormatError
          ? error
          : new ModelLoadError(this.spec.id, `model "${this.spec.id}" failed to load: ${error instanceof Error ? error.message : String(error)}`, {
              cause: error,
            });
      this.lastError = wrapped.message;
      throw wrapped;
    }
  }

  async dispose(): Promise<void> {
    const model = this.loaded;
    this.loaded = undefined;
    this.loading = undefined;
    this.state = "unloaded";
    await model?.dispose?.();
  }
}

/** The models a server offers, by id. */
export class ModelRegistry {
  private readonly entries = new Map<string, ModelEntry>();

  private readonly retryAfterSeconds: number;

  constructor(specs: ModelSpec[], options: { retryAfterSeconds?: number } = {}) {
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
    for (const spec of specs) {
      if (this.entries.has(spec.id)) throw new ModelLoadError(spec.id, `two models are named "${spec.id}"; model ids must be unique`);
      this.entries.set(spec.id, new ModelEntry(spec, this.retryAfterSeconds));
    }
  }

  /** Serves one more model from now on (the playground's "serve this adapter"); ids stay unique. */
  add(spec: ModelSpec): ModelEntry {
    if (this.entries.has(spec.id)) throw new ResourceConflictError("model", `a model named "${spec.id}" is already served; choose another name`);
    const entry = new ModelEntry(spec, this.retryAfterSeconds);
    this.entries.set(spec.id, entry);
    return entry;
  }

  list(): ModelEntry[] {
    return [...this.entries.values()];
  }

  get(id: string): ModelEntry {
    const entry = this.entries.get(id);
    if (!entry) throw new ModelNotFoundError(id, `model "${id}" not found; available: ${[...this.entries.keys()].join(", ") || "(none)"}`);
    return entry;
  }

  /**
   * Refuses (QueueFullError, 429) when no model could take one more request, before the caller reads
   * the request's body: which model it names is unknown until then, but every queue being full
   * settles the answer for all of them.
   */
  assertCanQueue(): void {
    const entries = this.list();
    if (entries.length === 0 || entries.some((entry) => !entry.scheduler.isFull())) return;
    const retryAfter = Math.min(...entries.map((entry) => entry.scheduler.retryAfterSeconds));
    throw new QueueFullError(`every model's queue is full (${entries.map((entry) => `${entry.id}: ${entry.scheduler.stats().queued} waiting`).join(", ")}); retry later`, retryAfter);
  }

  /**
   * Eager loading: load every model now, side by side, so one bad or slow file never holds up the
   * others. A failure is not thrown: the model stays "failed" (with its reason) in its status, is
   * retried on its next request, and is returned here for the caller to report.
   */
  async loadAll(): Promise<{ id: string; error: Error }[]> {
    const entries = this.list();
    const results = await Promise.allSettled(entries.map((entry) => entry.model()));
    return results.flatMap((result, index) => (result.status === "rejected" ? [{ id: entries[index].id, error: result.reason as Error }] : []));
  }

  async dispose(): Promise<void> {
    await Promise.allSettled(this.list().map((entry) => entry.dispose()));
  }
}
