// `camelid serve`: the composition root of the server. It is the only place that turns config into
// providers; the server itself receives LanguageModels through ModelFactories.
import { parseArgs } from "node:util";
import { InvalidArgumentError } from "../../errors/index.js";
import { join } from "node:path";
import { defaultCacheDir } from "../../hub/cache-layout.js";
import { resolveServeConfig, type LocalModelConfig, type ServeFlags } from "../../server/config.js";
import type { PromptFormatFit } from "../../prompts/index.js";
import type { LoadProgressListener } from "../../server/model-registry.js";
import type { EngineBinaryInfo, LanguageModel } from "../../spec/index.js";
import { describeEngineBinary } from "../../providers/local/llama-runtime.js";
import type { Replica } from "../../providers/replica-set/index.js";
import { startServer, type ModelFactories } from "../../server/server.js";
import type { CliIo } from "../io.js";
import { localModelFlagHelp, localModelFlagOptions, parseLocalModelFlags } from "../local-model-flags.js";

const help = () => `usage: camelid serve [options]

Serves local GGUF models and remote OpenAI-compatible upstreams behind one OpenAI-compatible API.
With no --config, --model or --models-dir, serves the .gguf files in ./models.

options:
  --config FILE            JSON config (see docs); flags override its keys
  --model [ALIAS=]PATH     a local .gguf model, or a pulled (hf:owner/repo:QUANT) or created model's name,
                           served under that name with its adapters, format, system prompt and
                           sampling defaults (repeatable)
  --cache-dir DIR          where pulled and created models are recorded (default $CAMELID_HOME,
                           else ~/.cache/camelid)
  --models-dir DIR         serve every .gguf file in DIR
  --host HOST              bind address (default 127.0.0.1: loopback only)
  --port N                 port (default 8080; 0 picks a free one)
  --data-dir DIR           SQLite request log and conversations (default .camelid); the playground
                           shows the safety reports in DIR/safety, training runs in DIR/runs (with
                           "serve this adapter") and llm_judge results in DIR/eval
  --eager                  load every model at startup (default: on first request); a model that
                           fails is reported and marked failed, the others are served
  --api-key-env NAME       require the API key held in environment variable NAME (repeatable)
  --admin-key-env NAME     an admin API key (sees every key's conversations, request log, battles) (repeatable)
  --cors ORIGIN            allow browser requests from ORIGIN, or "*" (repeatable)
  --allowed-host NAME      accept requests for host NAME besides IP addresses and localhost
                           (DNS rebinding protection; "*" for any) (repeatable)
  --body-timeout-ms N      408 for a client that has not sent its whole request after N ms (default 30000)
  --max-queue N            waiting requests per model before 429 (default 64)
  --max-body-bytes N       largest request body (default 1048576); routes that carry images
                           (chat, its dry run, conversation replies, arena turns) take this plus
                           the images' own room (max image bytes × images per request × 4/3)
  --log-retention-days N   delete request-log rows older than N days (default 30)
  --max-image-bytes N      largest image in a chat request, decoded (default 8388608); the body
                           limit of the routes that carry images follows it
  --allow-image-urls       fetch http(s) image URLs in chat requests (default: data: URIs only;
                           the server then makes requests to hosts the client names)
  --uv-threadpool-size N   threads in Node's libuv pool (1-1024; default libuv's 4, or $UV_THREADPOOL_SIZE),
                           where node-llama-cpp decodes and samples. 1 keeps every decode on one thread:
                           with a source build (OpenMP) each pool thread brings its own OpenMP team, and
                           moving between them cost 20-40% of the in-process tok/s here (README,
                           "Performance"); but then a model load or a long prompt also holds the
                           server's file reads and DNS lookups. camelid runs again in a child process
                           that starts with UV_THREADPOOL_SIZE=N (libuv fixes the size before camelid's
                           code runs)

local models (defaults for every local model; a config file's model entry may set its own):
${localModelFlagHelp(SERVE_SETTINGS, { contextSize: "(alias --context-size)" })}`;

/** The local-model settings serve takes as flags; names, bounds and messages come from the settings schema. */
const SERVE_SETTINGS = ["contextSize", "sequences", "threads", "batchSize", "flashAttention", "loadTimeoutSeconds", "engine", "llamaServerBin", "keepAliveSeconds", "mmproj"] as const;

const flagOptions = {
  config: { type: "string" },
  model: { type: "string", multiple: true },
  "cache-dir": { type: "string" },
  "models-dir": { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  "data-dir": { type: "string" },
  ...localModelFlagOptions(SERVE_SETTINGS),
  /** The old spelling of --ctx-size, kept working. */
  "context-size": { type: "string" },
  eager: { type: "boolean" },
  lazy: { type: "boolean" },
  "api-key-env": { type: "string", multiple: true },
  "admin-key-env": { type: "string", multiple: true },
  cors: { type: "string", multiple: true },
  "allowed-host": { type: "string", multiple: true },
  "body-timeout-ms": { type: "string" },
  "max-queue": { type: "string" },
  "max-body-bytes": { type: "string" },
  "log-retention-days": { type: "string" },
  "max-image-bytes": { type: "string" },
  "allow-image-urls": { type: "boolean" },
  /** Acted on by bin/camelid.js, which runs camelid again with UV_THREADPOOL_SIZE set (bin/uv-threadpool.js); validated and reported here. */
  "uv-threadpool-size": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function integerFlag(value: string | undefined, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === "" || !Number.isInteger(number) || number < min || number > max) {
    throw new InvalidArgumentError(flag, `--${flag} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return number;
}

/** The local-model flags, with an error about the old spelling naming that spelling. */
function parseServeModelFlags(values: Record<string, string | boolean | (string | boolean)[] | undefined>) {
  const alias = values["context-size"];
  try {
    return parseLocalModelFlags(alias === undefined ? values : { ...values, "ctx-size": alias }, SERVE_SETTINGS);
  } catch (error) {
    if (alias === undefined || !(error instanceof InvalidArgumentError) || error.parameter !== "ctx-size") throw error;
    throw new InvalidArgumentError("context-size", error.message.replace("--ctx-size", "--context-size"));
  }
}

export function parseServeFlags(argv: string[]): ServeFlags & { help: boolean; uvThreadpoolSize?: number } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: flagOptions, allowPositionals: false, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new InvalidArgumentError(/'(-{1,2}[^' ]+)/.exec(message)?.[1] ?? "arguments", message.replace(/\. To specify a positional argument.*$/s, ""));
  }
  const v = parsed.values;
  if (v["context-size"] !== undefined && v["ctx-size"] !== undefined) {
    throw new InvalidArgumentError("--context-size", "--context-size is the old spelling of --ctx-size: give one of them");
  }
  const localModel = parseServeModelFlags(v);
  if (v.eager && v.lazy) throw new InvalidArgumentError("--eager", "--eager and --lazy contradict each other");
  const retention = v["log-retention-days"];
  if (retention !== undefined && !(Number(retention) > 0)) {
    throw new InvalidArgumentError("log-retention-days", `--log-retention-days must be a positive number, got "${retention}"`);
  }
  return {
    help: v.help === true,
    config: v.config,
    models: v.model,
    cacheDir: v["cache-dir"],
    modelsDir: v["models-dir"],
    host: v.host,
    port: integerFlag(v.port, "port", 0, 65535),
    dataDir: v["data-dir"],
    localModel,
    loading: v.eager ? "eager" : v.lazy ? "lazy" : undefined,
    apiKeyEnvs: v["api-key-env"],
    adminKeyEnvs: v["admin-key-env"],
    corsOrigins: v.cors,
    allowedHosts: v["allowed-host"],
    requestBodyTimeoutMs: integerFlag(v["body-timeout-ms"], "body-timeout-ms", 1),
    maxQueue: integerFlag(v["max-queue"], "max-queue", 0),
    maxBodyBytes: integerFlag(v["max-body-bytes"], "max-body-bytes", 1),
    logRetentionDays: retention === undefined ? undefined : Number(retention),
    allowImageUrls: v["allow-image-urls"],
    maxImageBytes: integerFlag(v["max-image-bytes"], "max-image-bytes", 1, 256 * 1024 * 1024),
    uvThreadpoolSize: integerFlag(v["uv-threadpool-size"], "uv-threadpool-size", 1, 1024),
  };
}

/**
 * The libuv pool size this process runs with, as a startup line; an error when --uv-threadpool-size was given
 * but did not reach the environment before the pool started (serve run as a library, not through bin/camelid.js).
 */
export function describeUvThreadpool(requested: number | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (requested === undefined) return undefined;
  if (env.UV_THREADPOOL_SIZE !== String(requested)) {
    throw new InvalidArgumentError(
      "uv-threadpool-size",
      `--uv-threadpool-size only takes effect on camelid's own command line (bin/camelid.js runs camelid again with UV_THREADPOOL_SIZE set before libuv starts its pool); set UV_THREADPOOL_SIZE=${requested} in the environment instead`,
    );
  }
  return `libuv thread pool: ${requested} thread(s) (--uv-threadpool-size), where node-llama-cpp decodes and samples`;
}

/**
 * Providers load lazily: a server with only remote models never loads llama.cpp. A local model's
 * prompt format is reported when it loads: the same choice `camelid train` makes for it.
 */
const providerFactories = (log: (line: string) => void, places: { dataDir: string; cacheDir: string }): ModelFactories => ({
  async local(model, onProgress) {
    // The provider defers loading to its first call; the registry calls this factory exactly when the
    // model should be resident (at startup when eager, on the first request when lazy).
    const { engine, note } = model.engine === "llama-server" ? await llamaServerEngine(model, places) : await inProcessEngine(model, onProgress);
    const fit = await engine.promptFormatFit();
    const { describeFormatMisfit } = await import("../../prompts/index.js");
    const misfit = describeFormatMisfit(fit, model.path);
    log(`model "${model.id}": ${note}prompt format ${fit.choice.name} for chat (${fit.choice.reason})${misfit ? `; warning: ${misfit}` : ""}`);
    const { withPackagedDefaults } = await import("../../registry/packaged-model.js");
    return withPackagedDefaults(engine, { system: model.system, sampling: model.sampling ?? {} });
  },
  async remote(model) {
    const { createOpenAICompatibleModel } = await import("../../providers/openai/index.js");
    return createOpenAICompatibleModel({
      baseURL: model.baseURL,
      apiKey: model.apiKey,
      model: model.upstreamId,
      api: model.api,
      flavor: model.flavor,
      timeoutMs: model.timeoutMs,
    });
  },
  async replicaSet(set) {
    const { createOpenAICompatibleModel } = await import("../../providers/openai/index.js");
    const { createReplicaSetModel } = await import("../../providers/replica-set/index.js");
    const replicas = await Promise.all(
      set.replicas.map(async (replica): Promise<Replica> => {
        if (replica.kind === "engine") {
          // Created, not started: the process starts with the first request routed to it (and ends idle).
          const engine = await createLlamaServerEngine(replica.model, places, { retryAfterCrash: false });
          log(`model "${set.id}": replica "${replica.name}" is a llama-server engine over ${replica.model.path} (log: ${engine.logPath})`);
          return { name: replica.name, speed: replica.speed, model: engine, probe: () => engine.checkEngine() };
        }
        // No retries inside a replica: a failure moves the request to the next replica at once.
        const connect = (timeoutMs: number | undefined) =>
          createOpenAICompatibleModel({
            baseURL: replica.baseURL,
            apiKey: replica.apiKey,
            model: replica.upstreamId,
            api: set.api,
            flavor: replica.flavor,
            timeoutMs,
            maxRetries: 0,
          });
        // The health check: GET /v1/models answers and still lists the model, on a connection whose own
        // timeout is the probe's, so a hung upstream does not pile up unanswered probes.
        const prober = connect(set.healthCheck.timeoutMs);
        return { name: replica.name, speed: replica.speed, model: connect(set.timeoutMs), probe: async () => void (await prober.describe!()) };
      }),
    );
    return createReplicaSetModel({ modelId: set.id, replicas, healthCheck: set.healthCheck });
  },
});

/** The settings both engines take, from a model's config. */
const engineSettings = (model: LocalModelConfig) => ({
  modelPath: model.path,
  modelId: model.id,
  contextSize: model.contextSize,
  sequences: model.sequences,
  threads: model.threads,
  batchSize: model.batchSize,
  flashAttention: model.flashAttention,
  lora: model.lora,
  promptFormat: model.promptFormat,
  chatTemplate: model.chatTemplate,
  loadTimeoutMs: model.loadTimeoutMs,
});

type LoadedEngine = { engine: LanguageModel & { promptFormatFit(): Promise<PromptFormatFit> }; note: string };

/** The startup line's word on an in-process model: which node-llama-cpp binary runs it, with how many threads. */
export function inProcessEngineNote(info: EngineBinaryInfo | undefined): string {
  return info ? `in-process engine (${describeEngineBinary(info)}); ` : "";
}

async function inProcessEngine(model: LocalModelConfig, onProgress: LoadProgressListener | undefined): Promise<LoadedEngine> {
  const { createLocalModel } = await import("../../providers/local/index.js");
  const local = createLocalModel(engineSettings(model));
  await local.load(onProgress);
  return { engine: local, note: inProcessEngineNote(local.engineInfo()) };
}

/**
 * A local model run by a supervised llama-server process (--engine llama-server). The first load starts the
 * process (a missing executable or a bad file fails here, with how to fix it); its output goes to
 * DATA_DIR/engines/<model>.log.
 */
async function llamaServerEngine(model: LocalModelConfig, places: { dataDir: string; cacheDir: string }): Promise<LoadedEngine> {
  const engine = await createLlamaServerEngine(model, places);
  await engine.load();
  return { engine, note: `llama-server engine (log: ${engine.logPath}); ` };
}

/** A llama-server engine for `model`'s settings, not started yet; its output goes to DATA_DIR/engines/<model>.log. */
async function createLlamaServerEngine(model: LocalModelConfig, places: { dataDir: string; cacheDir: string }, extra: { retryAfterCrash?: boolean } = {}) {
  const { createLlamaServerModel } = await import("../../providers/llama-server/index.js");
  return createLlamaServerModel({
    ...engineSettings(model),
    llamaServerBin: model.llamaServerBin,
    keepAliveSeconds: model.keepAliveSeconds,
    ...(model.mmproj ? { mmproj: model.mmproj } : {}),
    logDir: join(places.dataDir, "engines"),
    cacheDir: places.cacheDir,
    ...extra,
  });
}

/**
 * Resolves when SIGINT/SIGTERM arrives. The listeners stay installed: `signal-exit` (pulled in by
 * node-llama-cpp's dependencies) re-raises a signal when it finds itself the only listener left,
 * which would kill the process before the graceful shutdown (closing the database) could run.
 */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => resolve(signal);
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

export async function run(argv: string[], io: CliIo, stop: Promise<unknown> = untilSignal()): Promise<number> {
  const flags = parseServeFlags(argv);
  if (flags.help) {
    io.stdout(help());
    return 0;
  }
  const pool = describeUvThreadpool(flags.uvThreadpoolSize, process.env);
  const config = resolveServeConfig(flags, io.env, io.cwd);
  const log = (line: string) => io.stderr(`camelid serve: ${line}\n`);
  if (pool) log(pool);
  const server = await startServer(config, providerFactories(log, { dataDir: config.dataDir, cacheDir: defaultCacheDir(io.env, flags.cacheDir) }), log);
  const ids = server.registry.list().map((entry) => `${entry.id} (${entry.spec.kind})`);
  io.stdout(`camelid serve: listening on ${server.url}\n`);
  log(`models: ${ids.join(", ")}; loading ${config.loading}; data in ${config.dataDir}${config.apiKeys.length ? `; ${config.apiKeys.length} API key(s)` : ""}`);
  await stop;
  log("shutting down");
  await server.close();
  return 0;
}
