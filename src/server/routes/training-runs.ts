// Training runs for the playground's Train tab: the folders `camelid train --out <data dir>/runs/<name>`
// writes, read-only (state, settings, outputs, metrics appended since the reader's cursor), and
// "serve this adapter": a run's base model with its adapter added to the running server as a model.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { InvalidArgumentError, PermissionDeniedError } from "../../errors/index.js";
import { readMetricsAfter, type MetricsCursor } from "../../train/metrics-tail.js";
import { runFiles } from "../../train/run-training.js";
import type { MetricRecord } from "../../train/metrics-log.js";
import { trainingRunStatus, type TrainingRunState } from "../../train/run-status.js";
import { readServeConfigFile } from "../config.js";
import type { ServerApp, ServerContext } from "../context.js";
import { ResourceConflictError, ResourceNotFoundError } from "../http-errors.js";
import type { ModelSpec } from "../model-registry.js";
import { readJsonBody } from "../openai/parse-body.js";
import { dataFolder, dataFolderNames } from "./data-folders.js";

/** Where runs are read: `<data dir>/runs`. */
export const trainingRunsSubdirectory = "runs";

/** A run's base model with its adapter, as its serve.json names them (paths absolute). */
export interface AdapterModel {
  id: string;
  path: string;
  lora: { path: string; scale: number }[];
  promptFormat?: string;
}

/** One run of GET /api/train/runs. */
export interface TrainingRunSummary {
  name: string;
  state: TrainingRunState;
  reason: string;
  /** The run folder's last change (ISO time). */
  updated: string;
  steps: number | null;
  total_steps: number | null;
  final_loss: number | null;
  has_adapter: boolean;
  /** The model id this server serves the run's adapter as, if it does. */
  served_as: string | null;
}

/** GET /api/train/runs */
export interface TrainingRunList {
  object: "list";
  data: TrainingRunSummary[];
  can_serve: boolean;
}

/** A file of a run folder, for the outputs list. */
export interface TrainingRunOutput {
  file: string;
  kind: string;
  bytes: number;
  downloadable: boolean;
}

/** GET /api/train/runs/:name: the run's state, settings, report, serve config and outputs. */
export interface TrainingRunDetail {
  name: string;
  state: TrainingRunState;
  reason: string;
  recipe: Record<string, unknown> | null;
  report: Record<string, unknown> | null;
  serve_config: Record<string, unknown> | null;
  outputs: TrainingRunOutput[];
  served_as: string | null;
  can_serve: boolean;
}

/** GET /api/train/runs/:name/metrics: the records after the cursor, and the cursor to ask from next. */
export interface TrainingMetricsPage {
  records: MetricRecord[];
  cursor: string;
  /** The metrics file was started again (a resumed run): the records replace what was read. */
  reset: boolean;
  state: TrainingRunState;
}

/** POST /api/train/runs/:name/serve: the model added to the server. */
export interface ServedAdapter {
  id: string;
  object: "model";
  run: string;
  base: string;
  adapters: string[];
  prompt_format: string | null;
}

export interface TrainingRunRouteOptions {
  directory: string;
  /** Builds a servable model (the composition root knows the providers); absent: runs cannot be served. */
  adapterModel?: (model: AdapterModel) => ModelSpec;
}

/** The files a run may hold, by kind, for the outputs list (metrics and checkpoints are the run's own). */
const outputKinds: Record<string, string> = {
  "adapter.gguf": "adapter",
  "reward.gguf": "reward model",
  "serve.json": "serve config",
  "loss.svg": "chart",
  "loss.png": "chart",
  "recipe.yaml": "settings",
  "run.json": "report",
  "metrics.jsonl": "metrics",
  "checkpoint.bin": "checkpoint",
  "data-problems.jsonl": "data problems",
};
const mergedModelPattern = /^merged-[a-z0-9_]+\.gguf$/;

/** Files a browser may fetch from a run: its charts (shown as images) and small text files. */
const downloadable: Record<string, string> = {
  "loss.svg": "image/svg+xml",
  "loss.png": "image/png",
  "recipe.yaml": "text/yaml; charset=utf-8",
  "serve.json": "application/json",
  "run.json": "application/json",
  "data-problems.jsonl": "application/x-ndjson",
};

const runMarkers = ["recipe.yaml", "metrics.jsonl", "run.json", "running.json"];

const serveBodySchema = z.strictObject({
  /** The served model's id; default `<base model id>+<run name>`. */
  id: z.string().min(1).max(128).regex(/^[\w.:+@/-]+$/, "letters, digits and . _ - : + @ / only").optional(),
});

const cursorSchema = z
  .string()
  .regex(/^\d+:\d+$/, 'a cursor is "<file>:<offset>" as the previous answer gave it')
  .transform((text): MetricsCursor => {
    const [file, offset] = text.split(":").map(Number);
    return { file, offset };
  });

function readJsonObject(path: string): Record<string, unknown> | null {
  if (!existsSync(path)) return null;
  try {
    const value: unknown = JSON.parse(readFileSync(path, "utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function readRecipe(path: string): Record<string, unknown> | null {
  if (!existsSync(path)) return null;
  try {
    const value: unknown = parseYaml(readFileSync(path, "utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function outputsOf(folder: string): TrainingRunOutput[] {
  return readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isFile() && (entry.name in outputKinds || mergedModelPattern.test(entry.name)))
    .map((entry) => ({
      file: entry.name,
      kind: outputKinds[entry.name] ?? "merged model",
      bytes: statSync(join(folder, entry.name)).size,
      downloadable: entry.name in downloadable,
    }))
    .sort((a, b) => a.file.localeCompare(b.file));
}

/** The run's serve.json as the model to add: paths resolved against the run's folder, files checked. */
function adapterModelOf(name: string, folder: string, id: string | undefined): AdapterModel {
  const files = runFiles(folder);
  const state = trainingRunStatus(folder).state;
  if (!existsSync(files.adapter) || !existsSync(files.serveConfig)) {
    throw new ResourceConflictError("training run", `training run "${name}" has no adapter to serve yet (it is ${state}; the adapter is written when the run ends)`);
  }
  let model;
  try {
    model = readServeConfigFile(files.serveConfig).models[0];
  } catch (error) {
    throw new ResourceConflictError("training run", `training run "${name}": its serve.json cannot be used: ${(error as Error).message}`);
  }
  if (!model) throw new ResourceConflictError("training run", `training run "${name}": its serve.json names no model`);
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(folder, path));
  const served: AdapterModel = {
    id: id ?? `${model.id.replace(/-lora$/, "")}+${name}`,
    path: absolute(model.path),
    lora: model.lora.map((adapter) => ({ path: absolute(adapter.path), scale: adapter.scale })),
    ...(model.promptFormat !== undefined ? { promptFormat: model.promptFormat } : {}),
  };
  for (const path of [served.path, ...served.lora.map((adapter) => adapter.path)]) {
    if (!existsSync(path)) throw new ResourceConflictError("training run", `training run "${name}" cannot be served: ${path} no longer exists`);
  }
  return served;
}

export function registerTrainingRunRoutes(app: ServerApp, context: ServerContext, options: TrainingRunRouteOptions): void {
  const { directory } = options;
  const runFolder = (name: string) => dataFolder(directory, name, "training run");
  // The runs this server serves, by run name: the Train tab shows the model id beside its run.
  const servedAs = new Map<string, string>();

  app.get("/api/train/runs", (c) => {
    const runs = dataFolderNames(directory, runMarkers).map((name): TrainingRunSummary => {
      const folder = join(directory, name);
      const status = trainingRunStatus(folder);
      const report = readJsonObject(runFiles(folder).run);
      const summary = report?.summary as { steps?: number; finalLoss?: number } | undefined;
      return {
        name,
        state: status.state,
        reason: status.reason,
        updated: statSync(folder).mtime.toISOString(),
        steps: summary?.steps ?? null,
        total_steps: typeof report?.totalSteps === "number" ? report.totalSteps : null,
        final_loss: summary?.finalLoss ?? null,
        has_adapter: existsSync(runFiles(folder).adapter),
        served_as: servedAs.get(name) ?? null,
      };
    });
    const list: TrainingRunList = { object: "list", data: runs, can_serve: options.adapterModel !== undefined };
    return c.json(list);
  });

  app.get("/api/train/runs/:name", (c) => {
    const name = c.req.param("name");
    const folder = runFolder(name);
    const files = runFiles(folder);
    const status = trainingRunStatus(folder);
    const detail: TrainingRunDetail = {
      name,
      state: status.state,
      reason: status.reason,
      // The resolved settings: recipe.yaml while running; run.json's copy (with the model and data paths) once done.
      recipe: readRecipe(files.recipe),
      report: readJsonObject(files.run),
      serve_config: readJsonObject(files.serveConfig),
      outputs: outputsOf(folder),
      served_as: servedAs.get(name) ?? null,
      can_serve: options.adapterModel !== undefined,
    };
    return c.json(detail);
  });

  app.get("/api/train/runs/:name/metrics", (c) => {
    const folder = runFolder(c.req.param("name"));
    const raw = c.req.query("cursor");
    let cursor: MetricsCursor | undefined;
    if (raw !== undefined) {
      const parsed = cursorSchema.safeParse(raw);
      if (!parsed.success) throw new InvalidArgumentError("cursor", `cursor: ${parsed.error.issues[0].message}, got "${raw}"`);
      cursor = parsed.data;
    }
    const tail = readMetricsAfter(runFiles(folder).metrics, cursor);
    const page: TrainingMetricsPage = { records: tail.records, cursor: `${tail.cursor.file}:${tail.cursor.offset}`, reset: tail.reset, state: trainingRunStatus(folder).state };
    return c.json(page);
  });

  app.get("/api/train/runs/:name/files/:file", (c) => {
    const name = c.req.param("name");
    const file = c.req.param("file");
    const type = Object.hasOwn(downloadable, file) ? downloadable[file] : undefined;
    const path = join(runFolder(name), file);
    if (!type || !existsSync(path)) throw new ResourceNotFoundError("training run file", `training run "${name}" has no file "${file}" to show`);
    return c.body(readFileSync(path), 200, { "content-type": type, "cache-control": "no-store" });
  });

  app.post("/api/train/runs/:name/serve", async (c) => {
    // Adding a model changes the server for every user: with API keys, only an admin key may.
    if (!c.get("visibility").seesAll) throw new PermissionDeniedError("serving an adapter adds a model for every user of this server: it needs an admin API key");
    const name = c.req.param("name");
    const folder = runFolder(name);
    const body = await readJsonBody(c.req, serveBodySchema, { emptyAs: {} });
    if (!options.adapterModel) throw new ResourceConflictError("training run", "this server cannot load local models, so it cannot serve an adapter");
    const model = adapterModelOf(name, folder, body.id);
    const entry = context.registry.add(options.adapterModel(model));
    servedAs.set(name, entry.id);
    const served: ServedAdapter = { id: entry.id, object: "model", run: name, base: model.path, adapters: model.lora.map((adapter) => adapter.path), prompt_format: model.promptFormat ?? null };
    return c.json(served, 201);
  });
}
