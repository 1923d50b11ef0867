// `camelid serve` configuration: a JSON file validated with zod, then flags on top. Every problem is a
// ConfigError naming the key (`models[0].sequences`) or the flag.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { ConfigError } from "../errors/index.js";
import { localModelSettingsSchema, loraAdapterSchema, type LocalModelSettings } from "../spec/local-model-options.js";
import { defaultCacheDir } from "../hub/cache-layout.js";
import type { PackagedSampling } from "../registry/modelfile.js";
import { resolveModelName } from "../registry/resolve.js";
import { hashApiKey, type ApiKeyRecord } from "./auth.js";
import { formatParameterPath } from "./openai/parse-body.js";
import { imageOptionsSchema, type ImageOptions } from "./images/image-intake.js";

const positiveInt = z.number().int().min(1);
/** Four parallel requests per local model, the provider's own default (DEFAULT_SEQUENCES there). */
const DEFAULT_SEQUENCES = 4;

/** A local model entry: the shared local-model settings (same keys, bounds and messages as the flags) plus its name and file. */
const localModelSchema = localModelSettingsSchema.extend({
  /** The name clients send as `model`. */
  id: z.string().min(1),
  path: z.string().min(1),
  lora: z.array(loraAdapterSchema).default([]),
  maxQueue: z.number().int().min(0).optional(),
});

/** Defaults for local models that do not set their own: every shared setting but the per-model adapters and format. */
const localDefaultsSchema = localModelSettingsSchema.omit({ lora: true, promptFormat: true }).extend({
  sequences: localModelSettingsSchema.shape.sequences.unwrap().default(DEFAULT_SEQUENCES),
});

const flavorSchema = z.enum(["openai", "vllm", "llama-server", "ollama"]);

const remoteModelSchema = z.union([
  z.string().min(1),
  z.strictObject({
    id: z.string().min(1),
    upstreamId: z.string().min(1).optional(),
    /** This model takes images (overrides the upstream's `vision`). */
    vision: z.boolean().optional(),
  }),
]);

const remoteSchema = z.strictObject({
  name: z.string().min(1),
  baseURL: z.url({ protocol: /^https?$/ }),
  /** Name of the environment variable holding the upstream's key; the key itself never sits in config. */
  apiKeyEnv: z.string().min(1).optional(),
  api: z.enum(["chat", "completions"]).default("chat"),
  flavor: flavorSchema.optional(),
  concurrency: positiveInt.max(1024).default(16),
  maxQueue: z.number().int().min(0).optional(),
  timeoutMs: positiveInt.optional(),
  /** The upstream's models take images (OpenAI image_url parts are forwarded as sent); a model entry may say otherwise. */
  vision: z.boolean().default(false),
  models: z.array(remoteModelSchema).min(1),
});

/** Keys only an OpenAI-compatible ("url") replica takes; every local-model setting is only a "path" replica's. */
const URL_REPLICA_KEYS = ["model", "apiKeyEnv", "flavor"] as const;
const ENGINE_REPLICA_KEYS = Object.keys(localModelSettingsSchema.shape) as (keyof LocalModelSettings)[];

/**
 * One upstream of a replica set: any OpenAI-compatible server (another `camelid serve`, vLLM, llama-server)
 * by "url", or a .gguf file by "path", run by a supervised llama-server engine of this server (the same
 * local-model settings, bounds and messages as a model entry).
 */
const replicaSchema = localModelSettingsSchema
  .extend({
    /** Its base URL, up to and including /v1. */
    url: z.url({ protocol: /^https?$/ }).optional(),
    /** A .gguf file run by a llama-server engine. */
    path: z.string().min(1).optional(),
    /** Names it in metrics and the request log; default its URL, or "engine-N" (its place in the list) for a path. */
    name: z.string().min(1).optional(),
    /** The name it serves the model under; default the set's id. */
    model: z.string().min(1).optional(),
    apiKeyEnv: z.string().min(1).optional(),
    /** Default: the set's flavor. */
    flavor: flavorSchema.optional(),
    /** Requests sent to it at once (the set's queue admits the sum); default 16, an engine's its sequences. */
    concurrency: positiveInt.max(1024).optional(),
    /** Relative speed, as FastChat's worker `--speed`: routing compares in-flight requests / speed. */
    speed: z.number().positive().default(1),
  })
  .superRefine((replica, context) => {
    if ((replica.url === undefined) === (replica.path === undefined)) {
      context.addIssue({ code: "custom", message: 'give exactly one of "url" (an OpenAI-compatible server) or "path" (a .gguf file run by a llama-server engine)' });
      return;
    }
    const misplaced = replica.url !== undefined ? ENGINE_REPLICA_KEYS.filter((key) => replica[key] !== undefined) : URL_REPLICA_KEYS.filter((key) => replica[key] !== undefined);
    for (const key of misplaced) {
      context.addIssue({ code: "custom", path: [key], message: replica.url !== undefined ? 'is a setting of a "path" (engine) replica, not of a "url" one' : 'is a setting of a "url" replica, not of a "path" (engine) one' });
    }
    if (replica.path !== undefined && replica.engine === "node-llama-cpp") {
      context.addIssue({ code: "custom", path: ["engine"], message: 'a replica runs in its own process: "llama-server" is the only engine a replica can have' });
    }
  });

/** One model alias served by several upstreams: least-loaded routing, health checks, failover. */
const replicaSetSchema = z.strictObject({
  id: z.string().min(1),
  api: z.enum(["chat", "completions"]).default("chat"),
  flavor: flavorSchema.optional(),
  maxQueue: z.number().int().min(0).optional(),
  timeoutMs: positiveInt.optional(),
  healthCheck: z
    .strictObject({
      /** GET /v1/models on every replica this often; an unhealthy replica gets requests again after a good one. */
      intervalMs: positiveInt.default(5000),
      timeoutMs: positiveInt.default(2000),
    })
    .default({ intervalMs: 5000, timeoutMs: 2000 }),
  replicas: z.array(replicaSchema).min(1, "a replica set needs at least one replica"),
});

const apiKeySchema = z
  .strictObject({
    name: z.string().min(1),
    key: z.string().min(8).optional(),
    keyEnv: z.string().min(1).optional(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits").optional(),
    revoked: z.boolean().default(false),
    /** Sees every key's conversations, request log and battles. */
    admin: z.boolean().default(false),
  })
  .refine((key) => [key.key, key.keyEnv, key.sha256].filter((v) => v !== undefined).length === 1, {
    message: "give exactly one of key, keyEnv or sha256",
  });

export const serveConfigFileSchema = z.strictObject({
  host: z.string().min(1).default("127.0.0.1"),
  port: z.number().int().min(0).max(65535).default(8080),
  dataDir: z.string().min(1).default(".camelid"),
  modelsDir: z.string().min(1).optional(),
  loading: z.enum(["lazy", "eager"]).default("lazy"),
  /** Defaults for local models that do not set their own (and for models found in modelsDir). */
  defaults: localDefaultsSchema.default({ sequences: DEFAULT_SEQUENCES }),
  models: z.array(localModelSchema).default([]),
  remotes: z.array(remoteSchema).default([]),
  replicaSets: z.array(replicaSetSchema).default([]),
  apiKeys: z.array(apiKeySchema).default([]),
  maxBodyBytes: positiveInt.default(1024 * 1024),
  maxQueue: z.number().int().min(0).default(64),
  retryAfterSeconds: positiveInt.default(1),
  cors: z.strictObject({ origins: z.array(z.string().min(1)).default([]) }).default({ origins: [] }),
  /** Host names clients may use besides IP addresses and localhost (DNS rebinding protection); "*": any. */
  allowedHosts: z.array(z.string().min(1)).default([]),
  /** A client must send its whole request (headers and body) within this time, else 408. */
  requestBodyTimeoutMs: positiveInt.default(30_000),
  /** Images in chat requests: size limit, count, whether http(s) URLs are fetched. */
  images: imageOptionsSchema.default(imageOptionsSchema.parse({})),
  requestLog: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** null keeps rows forever. */
      retentionDays: z.number().positive().nullable().default(30),
      maxRows: positiveInt.optional(),
    })
    .default({ enabled: true, retentionDays: 30 }),
});
export type ServeConfigFile = z.infer<typeof serveConfigFileSchema>;

export interface LocalModelConfig extends Omit<LocalModelSettings, "sequences" | "lora" | "loadTimeoutSeconds"> {
  id: string;
  path: string;
  sequences: number;
  lora: { path: string; scale: number }[];
  /** A created model's TEMPLATE (replaces the GGUF's chat template), SYSTEM prompt and PARAMETER defaults. */
  chatTemplate?: string;
  system?: string;
  sampling?: PackagedSampling;
  maxQueue: number;
  /** Deadline for checking and loading the file; the provider's default when absent. */
  loadTimeoutMs?: number;
}

export interface RemoteModelConfig {
  id: string;
  upstreamId: string;
  upstream: string;
  baseURL: string;
  apiKey?: string;
  api: "chat" | "completions";
  flavor?: "openai" | "vllm" | "llama-server" | "ollama";
  timeoutMs?: number;
  concurrency: number;
  maxQueue: number;
  /** Takes images (config `vision`). */
  vision?: boolean;
}

/** One upstream of a replica set, resolved: an OpenAI-compatible server (its key read from the environment) or a llama-server engine. */
export type ReplicaConfig = UrlReplicaConfig | EngineReplicaConfig;

export interface UrlReplicaConfig {
  kind: "url";
  name: string;
  baseURL: string;
  upstreamId: string;
  apiKey?: string;
  flavor?: RemoteModelConfig["flavor"];
  concurrency: number;
  speed: number;
}

/** A replica run by this server: a supervised llama-server process over `model.path`. */
export interface EngineReplicaConfig {
  kind: "engine";
  name: string;
  /** Its settings resolved as a model entry's (defaults and flags beneath); `id` names its log file. */
  model: LocalModelConfig;
  concurrency: number;
  speed: number;
}

export interface ReplicaSetConfig {
  id: string;
  api: "chat" | "completions";
  timeoutMs?: number;
  maxQueue: number;
  healthCheck: { intervalMs: number; timeoutMs: number };
  replicas: ReplicaConfig[];
}

/** Everything `serve` needs, with paths absolute and secrets resolved (keys hashed). */
export interface ServeConfig {
  host: string;
  port: number;
  dataDir: string;
  loading: "lazy" | "eager";
  localModels: LocalModelConfig[];
  /** What a local model added while serving (a training run's adapter) gets: the flags' and file's defaults. */
  localDefaults: Omit<LocalModelConfig, "id" | "path" | "lora">;
  remoteModels: RemoteModelConfig[];
  /** Absent: none (configs built in code before replica sets existed). */
  replicaSets?: ReplicaSetConfig[];
  apiKeys: ApiKeyRecord[];
  maxBodyBytes: number;
  retryAfterSeconds: number;
  corsOrigins: string[];
  allowedHosts: string[];
  requestBodyTimeoutMs: number;
  /** Absent: the defaults (data: URIs only, 8 MiB per image). */
  images?: ImageOptions;
  requestLog: { enabled: boolean; retentionDays: number | null; maxRows?: number };
}

/** Flag values, already typed; each overrides its config key. */
export interface ServeFlags {
  config?: string;
  host?: string;
  port?: number;
  dataDir?: string;
  modelsDir?: string;
  /** "path.gguf", "alias=path.gguf", or a pulled/created model's name (with or without an alias) */
  models?: string[];
  /** Where pulled and created models are recorded (default CAMELID_HOME, else ~/.cache/camelid). */
  cacheDir?: string;
  /** The local-model settings given as flags (--ctx-size, --threads, …): defaults for every local model. */
  localModel?: Omit<LocalModelSettings, "lora" | "promptFormat">;
  loading?: "lazy" | "eager";
  /** Environment variables that each hold one API key. */
  apiKeyEnvs?: string[];
  /** Environment variables that each hold an admin API key (sees every key's rows). */
  adminKeyEnvs?: string[];
  allowedHosts?: string[];
  requestBodyTimeoutMs?: number;
  corsOrigins?: string[];
  maxQueue?: number;
  maxBodyBytes?: number;
  logRetentionDays?: number;
  /** --allow-image-urls: fetch http(s) image URLs. */
  allowImageUrls?: boolean;
  /** --max-image-bytes N */
  maxImageBytes?: number;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") {
    const where = issue.path.length ? ` in ${formatParameterPath(issue.path)}` : "";
    return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}${where}`;
  }
  // The value is named when it is one (the flags name theirs too): `must be an integer from 16 to 1048576, got 8`.
  const input = (issue as { input?: unknown }).input;
  const got = input === undefined || (typeof input === "object" && input !== null) ? "" : `, got ${JSON.stringify(input)}`;
  return `"${formatParameterPath(issue.path)}": ${issue.message}${got}`;
}

/** Reads and validates a config file; errors name the file and the key. */
export function readServeConfigFile(path: string): ServeConfigFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseServeConfig(json, path);
}

export function parseServeConfig(json: unknown, source = "config"): ServeConfigFile {
  const result = serveConfigFileSchema.safeParse(json, { reportInput: true });
  if (!result.success) throw new ConfigError(`${source}: ${describeIssue(result.error.issues[0])}`);
  return result.data;
}

function envValue(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`${what}: environment variable ${name} is not set`);
  return value;
}

function discoverGgufFiles(dir: string, origin: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigError(`${origin}: models directory ${dir} does not exist`);
  return readdirSync(dir)
    .filter((name) => name.toLowerCase().endsWith(".gguf"))
    .sort()
    .map((name) => resolve(dir, name));
}

/** The keys whose value is not undefined (so that spreading it does not erase an earlier layer's value). */
function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function modelIdFromPath(path: string): string {
  return basename(path).replace(/\.gguf$/i, "");
}

/**
 * Merges the config file (if any) with flags into a ServeConfig. With no models anywhere, the
 * `.gguf` files of the models directory (default ./models) are served.
 */
export function resolveServeConfig(flags: ServeFlags, env: NodeJS.ProcessEnv, cwd: string): ServeConfig {
  const configPath = flags.config ? resolve(cwd, flags.config) : undefined;
  const file = configPath ? readServeConfigFile(configPath) : parseServeConfig({});
  // Paths in the file are relative to the file; paths in flags to the working directory.
  const fileBase = configPath ? dirname(configPath) : cwd;
  const fromFile = (path: string) => (isAbsolute(path) ? path : resolve(fileBase, path));

  // Flags beat the file's defaults; a model's own keys beat both.
  // The llama-server executable's path is relative to where it was written: the file or the working directory.
  // So is a projector's (--mmproj).
  const binFromFile = (settings: { llamaServerBin?: string; mmproj?: string }) => ({
    ...(settings.llamaServerBin === undefined ? {} : { llamaServerBin: fromFile(settings.llamaServerBin) }),
    ...(settings.mmproj === undefined ? {} : { mmproj: fromFile(settings.mmproj) }),
  });
  const binFromFlags = {
    ...(flags.localModel?.llamaServerBin === undefined ? {} : { llamaServerBin: resolve(cwd, flags.localModel.llamaServerBin) }),
    ...(flags.localModel?.mmproj === undefined ? {} : { mmproj: resolve(cwd, flags.localModel.mmproj) }),
  };
  const { loadTimeoutSeconds, ...settingDefaults } = {
    ...file.defaults,
    ...binFromFile(file.defaults),
    ...definedOnly(flags.localModel ?? {}),
    ...binFromFlags,
  };
  const maxQueue = flags.maxQueue ?? file.maxQueue;
  const loadTimeout = (seconds: number | undefined) => (seconds === undefined ? {} : { loadTimeoutMs: seconds * 1000 });

  /** A model entry's (or an engine replica's) own settings over the defaults. */
  const localModelFrom = ({ id, path, lora, maxQueue: modelMaxQueue, loadTimeoutSeconds: modelLoadTimeout, ...settings }: Omit<LocalModelSettings, "lora"> & { id: string; path: string; lora: { path: string; scale: number }[]; maxQueue?: number }): LocalModelConfig => ({
    ...settingDefaults,
    ...definedOnly(settings),
    ...binFromFile(settings),
    id,
    path: fromFile(path),
    lora: lora.map((adapter) => ({ path: fromFile(adapter.path), scale: adapter.scale })),
    maxQueue: modelMaxQueue ?? maxQueue,
    ...loadTimeout(modelLoadTimeout ?? loadTimeoutSeconds),
  });
  const localModels: LocalModelConfig[] = file.models.map(localModelFrom);
  const localDefaults = { ...settingDefaults, maxQueue, ...loadTimeout(loadTimeoutSeconds) };
  const contextSize = settingDefaults.contextSize;
  const fromDefaults = (id: string, path: string): LocalModelConfig => ({ id, path, ...localDefaults, lora: [] });
  for (const spec of flags.models ?? []) {
    const separator = spec.indexOf("=");
    const target = separator > 0 ? spec.slice(separator + 1) : spec;
    const packaged = resolveModelName(target, defaultCacheDir(env, flags.cacheDir), cwd);
    const path = packaged ? packaged.path : resolve(cwd, target);
    // A registry model is served under its name; a file under its base name.
    const id = separator > 0 ? spec.slice(0, separator) : packaged ? target : modelIdFromPath(path);
    if (!id) throw new ConfigError(`--model "${spec}": the alias before "=" is empty`);
    if (!packaged) {
      localModels.push(fromDefaults(id, path));
      continue;
    }
    localModels.push({
      ...fromDefaults(id, path),
      contextSize: flags.localModel?.contextSize ?? packaged.contextSize ?? contextSize,
      lora: packaged.lora,
      ...(packaged.promptFormat !== undefined ? { promptFormat: packaged.promptFormat } : {}),
      ...(packaged.chatTemplate !== undefined ? { chatTemplate: packaged.chatTemplate } : {}),
      ...(packaged.system !== undefined ? { system: packaged.system } : {}),
      sampling: packaged.sampling,
    });
  }
  const modelsDir = flags.modelsDir ? resolve(cwd, flags.modelsDir) : file.modelsDir ? fromFile(file.modelsDir) : undefined;
  if (modelsDir) {
    for (const path of discoverGgufFiles(modelsDir, flags.modelsDir ? "--models-dir" : '"modelsDir"')) localModels.push(fromDefaults(modelIdFromPath(path), path));
  }

  const remoteModels: RemoteModelConfig[] = file.remotes.flatMap((remote, index) => {
    const apiKey = remote.apiKeyEnv ? envValue(env, remote.apiKeyEnv, `"remotes[${index}].apiKeyEnv"`) : undefined;
    return remote.models.map((model) => {
      const id = typeof model === "string" ? model : model.id;
      const upstreamId = typeof model === "string" ? model : (model.upstreamId ?? model.id);
      return {
        id,
        upstreamId,
        upstream: remote.name,
        baseURL: remote.baseURL,
        apiKey,
        api: remote.api,
        flavor: remote.flavor,
        timeoutMs: remote.timeoutMs,
        concurrency: remote.concurrency,
        maxQueue: remote.maxQueue ?? maxQueue,
        vision: (typeof model === "string" ? undefined : model.vision) ?? remote.vision,
      };
    });
  });

  const replicaSets: ReplicaSetConfig[] = file.replicaSets.map((set, setIndex) => {
    const replicas = set.replicas.map((replica, index): ReplicaConfig => {
      const { url, path, name, model, apiKeyEnv, flavor, concurrency, speed, lora, ...settings } = replica;
      if (path !== undefined) {
        const engineName = name ?? `engine-${index + 1}`;
        const local = localModelFrom({ ...settings, engine: "llama-server", id: `${set.id}.${engineName}`, path, lora: lora ?? [] });
        return { kind: "engine", name: engineName, model: local, concurrency: concurrency ?? local.sequences, speed };
      }
      return {
        kind: "url",
        name: name ?? url!,
        baseURL: url!,
        upstreamId: model ?? set.id,
        ...(apiKeyEnv ? { apiKey: envValue(env, apiKeyEnv, `"replicaSets[${setIndex}].replicas[${index}].apiKeyEnv"`) } : {}),
        flavor: flavor ?? set.flavor,
        concurrency: concurrency ?? 16,
        speed,
      };
    });
    const names = new Set<string>();
    for (const [index, { name }] of replicas.entries()) {
      if (names.has(name)) throw new ConfigError(`"replicaSets[${setIndex}].replicas[${index}]": two replicas of "${set.id}" are named "${name}"; give each a "name"`);
      names.add(name);
    }
    return {
      id: set.id,
      api: set.api,
      ...(set.timeoutMs !== undefined ? { timeoutMs: set.timeoutMs } : {}),
      maxQueue: set.maxQueue ?? maxQueue,
      healthCheck: set.healthCheck,
      replicas,
    };
  });

  if (localModels.length === 0 && remoteModels.length === 0 && replicaSets.length === 0) {
    const fallback = resolve(cwd, "models");
    if (!existsSync(fallback)) {
      throw new ConfigError('no models to serve: pass --model PATH, --models-dir DIR or --config FILE (or put .gguf files in ./models)');
    }
    for (const path of discoverGgufFiles(fallback, "./models")) localModels.push(fromDefaults(modelIdFromPath(path), path));
    if (localModels.length === 0) throw new ConfigError(`no models to serve: ${fallback} has no .gguf files`);
  }
  const engineReplicas = replicaSets.flatMap((set) => set.replicas.flatMap((replica) => (replica.kind === "engine" ? [replica.model] : [])));
  for (const model of [...localModels, ...engineReplicas]) {
    if (!existsSync(model.path)) throw new ConfigError(`model "${model.id}": file ${model.path} does not exist`);
    for (const adapter of model.lora) {
      if (!existsSync(adapter.path)) throw new ConfigError(`model "${model.id}": LoRA adapter ${adapter.path} does not exist`);
    }
    if (model.mmproj !== undefined) {
      // node-llama-cpp has no multimodal API: a projector is only used by llama.cpp's own server.
      if (model.engine !== "llama-server") throw new ConfigError(`model "${model.id}": a projector (mmproj) needs the llama-server engine (--engine llama-server); the in-process engine takes text only`);
      if (!existsSync(model.mmproj)) throw new ConfigError(`model "${model.id}": projector ${model.mmproj} does not exist`);
    }
  }
  const ids = new Set<string>();
  for (const { id } of [...localModels, ...remoteModels, ...replicaSets]) {
    if (ids.has(id)) throw new ConfigError(`two models are named "${id}": give one an alias ("id" in config, alias=path on --model)`);
    ids.add(id);
  }

  const apiKeys: ApiKeyRecord[] = file.apiKeys.map((key, index) => ({
    name: key.name,
    sha256: key.sha256 ?? hashApiKey(key.key ?? envValue(env, key.keyEnv!, `"apiKeys[${index}].keyEnv"`)),
    revoked: key.revoked,
    admin: key.admin,
  }));
  for (const name of flags.apiKeyEnvs ?? []) {
    apiKeys.push({ name: name.toLowerCase(), sha256: hashApiKey(envValue(env, name, "--api-key-env")), revoked: false });
  }
  for (const name of flags.adminKeyEnvs ?? []) {
    apiKeys.push({ name: name.toLowerCase(), sha256: hashApiKey(envValue(env, name, "--admin-key-env")), revoked: false, admin: true });
  }

  return {
    host: flags.host ?? file.host,
    port: flags.port ?? file.port,
    dataDir: flags.dataDir ? resolve(cwd, flags.dataDir) : fromFile(file.dataDir),
    loading: flags.loading ?? file.loading,
    localModels,
    localDefaults,
    remoteModels,
    replicaSets,
    apiKeys,
    maxBodyBytes: flags.maxBodyBytes ?? file.maxBodyBytes,
    retryAfterSeconds: file.retryAfterSeconds,
    corsOrigins: flags.corsOrigins ?? file.cors.origins,
    allowedHosts: flags.allowedHosts ?? file.allowedHosts,
    requestBodyTimeoutMs: flags.requestBodyTimeoutMs ?? file.requestBodyTimeoutMs,
    images: { ...file.images, ...definedOnly({ allowUrls: flags.allowImageUrls, maxBytes: flags.maxImageBytes }) },
    requestLog: {
      enabled: file.requestLog.enabled,
      retentionDays: flags.logRetentionDays ?? file.requestLog.retentionDays,
      ...(file.requestLog.maxRows !== undefined ? { maxRows: file.requestLog.maxRows } : {}),
    },
  };
}

/** Loopback addresses; anything else exposes the server to the network. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}
