// `camelid create NAME -f Modelfile`: resolve what the Modelfile names, check it, and record the package as a
// manifest in the cache (never copying weights). FROM another created model starts from its package.
import { readFile, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { InvalidArgumentError } from "../errors/index.js";
import { CacheLayout } from "../hub/cache-layout.js";
import { findCreated, findManifest, isPulled, ManifestStore, type StoredModel } from "../hub/manifests.js";
import { sha256OfFile } from "../hub/resumable-download.js";
import { validateGgufFile } from "../hub/validate-gguf.js";
import { readGgufHeader } from "../gguf/index.js";
import { CHAT_TEMPLATE_FORMAT_NAME, createChatTemplateFormat, findPromptFormat, promptFormatNames } from "../prompts/index.js";
import { ModelfileError } from "./errors.js";
import { parseModelfile, type Modelfile } from "./modelfile.js";
import type { CreatedModel, FileRecord } from "./package-schema.js";

/** Ollama's name[:tag]; never hf:… or a URL (those are pulled names) nor a .gguf file name (that is a path). */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*(?::[A-Za-z0-9][A-Za-z0-9._-]*)?$/;

export function checkCreatedName(name: string): void {
  if (!NAME_PATTERN.test(name) || /^hf:/i.test(name) || /^https?:/i.test(name) || /\.gguf$/i.test(name)) {
    throw new InvalidArgumentError(
      "name",
      `"${name}" is not a model name: use letters, digits, ".", "_" and "-", with an optional ":tag" (not hf:…, a URL or a .gguf file name)`,
    );
  }
}

export interface CreateOptions {
  cacheDir: string;
  /** The Modelfile's path: relative paths in it are relative to its folder, and errors name it. */
  modelfilePath: string;
  now?: () => Date;
}

/** Reads, checks and records a Modelfile as the model `name` (replacing an earlier model of that name). */
export async function createModelFromFile(name: string, options: CreateOptions): Promise<CreatedModel> {
  let text: string;
  try {
    text = await readFile(options.modelfilePath, "utf8");
  } catch (error) {
    throw new InvalidArgumentError("file", `cannot read the Modelfile ${options.modelfilePath}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return createModel(name, parseModelfile(text, options.modelfilePath), options);
}

export async function createModel(name: string, modelfile: Modelfile, options: CreateOptions): Promise<CreatedModel> {
  checkCreatedName(name);
  const folder = dirname(resolve(options.modelfilePath));
  const fail = (line: number, message: string): never => {
    throw new ModelfileError(options.modelfilePath, line, message);
  };
  const store = new ManifestStore(new CacheLayout(options.cacheDir).manifestsFolder);
  const known = await store.listAll();
  const { from, base, inherited } = await resolveFrom(modelfile.from, known, folder, fail);

  const adapters = [...(inherited?.adapters ?? [])];
  for (const adapter of modelfile.adapters) {
    const path = expandPath(adapter.path, folder);
    if (!existsSync(path)) fail(adapter.line, `ADAPTER file not found: ${path}`);
    const header = await readGgufHeader(path).catch((error: Error) => fail(adapter.line, `ADAPTER ${path} is not a readable GGUF: ${error.message}`));
    const type = header.metadata.get("general.type");
    if (type?.type !== "string" || type.value !== "adapter") fail(adapter.line, `ADAPTER ${path} is not a LoRA adapter (its general.type is not "adapter")`);
    adapters.push({ ...(await recordFile(path)), scale: adapter.scale });
  }

  let format = inherited?.format;
  let template = inherited?.template;
  if (modelfile.format) {
    const wanted = modelfile.format.name;
    if (wanted !== CHAT_TEMPLATE_FORMAT_NAME && !findPromptFormat(wanted)) {
      fail(modelfile.format.line, `unknown prompt format "${wanted}"; one of ${[...promptFormatNames(), CHAT_TEMPLATE_FORMAT_NAME].join(", ")} (camelid formats list)`);
    }
    format = wanted;
    template = undefined;
  }
  if (modelfile.template !== undefined) {
    try {
      createChatTemplateFormat(modelfile.template.text);
    } catch (error) {
      fail(modelfile.template.line, `TEMPLATE is not a usable Jinja chat template: ${(error as Error).message}`);
    }
    template = modelfile.template.text;
    format = undefined;
  }
  const stop = modelfile.sampling.stop ?? inherited?.sampling.stop;
  const created: CreatedModel = {
    name,
    source: "created",
    from,
    base,
    adapters,
    ...(format !== undefined ? { format } : {}),
    ...(template !== undefined ? { template } : {}),
    ...(modelfile.system !== undefined ? { system: modelfile.system } : inherited?.system !== undefined ? { system: inherited.system } : {}),
    sampling: { ...inherited?.sampling, ...modelfile.sampling, ...(stop ? { stop } : {}) },
    ...(modelfile.contextSize !== undefined ? { contextSize: modelfile.contextSize } : inherited?.contextSize !== undefined ? { contextSize: inherited.contextSize } : {}),
    createdAt: (options.now?.() ?? new Date()).toISOString(),
  };
  const clash = known.find((model) => model.name.toLowerCase() === name.toLowerCase() && isPulled(model));
  if (clash) throw new InvalidArgumentError("name", `"${name}" is already a pulled model`);
  await store.save(created);
  return created;
}

async function resolveFrom(
  reference: Modelfile["from"],
  known: StoredModel[],
  folder: string,
  fail: (line: number, message: string) => never,
): Promise<{ from: string; base: FileRecord; inherited?: CreatedModel }> {
  const { reference: text, line } = reference;
  if (/^hf:/i.test(text) || /^https?:\/\//i.test(text)) {
    let manifest;
    try {
      manifest = findManifest(known.filter(isPulled), text);
    } catch (error) {
      return fail(line, (error as Error).message);
    }
    if (!existsSync(manifest.path)) fail(line, `FROM ${text}: its file ${manifest.path} is gone (camelid pull ${text} again)`);
    // A pulled file was verified against the Hub's sha256 when it arrived: no need to hash it again.
    const info = await stat(manifest.path);
    return { from: manifest.name, base: { path: manifest.path, sha256: manifest.sha256, size: info.size, mtimeMs: info.mtimeMs } };
  }
  const created = findCreated(known, text);
  const looksLikePath = /\.gguf$/i.test(text) || text.includes("/") || text.includes("\\") || text.startsWith("~") || isAbsolute(text);
  if (created && !looksLikePath) return { from: created.name, base: created.base, inherited: created };
  const path = expandPath(text, folder);
  if (!existsSync(path)) {
    const names = known.filter((model) => model.source === "created").map((model) => model.name);
    fail(
      line,
      looksLikePath
        ? `FROM file not found: ${path}`
        : `FROM "${text}" is neither a file nor a created model${names.length ? ` (created: ${names.join(", ")})` : ""}; pulled models are named hf:owner/repo[:quant]`,
    );
  }
  await validateGgufFile(path, path).catch((error: Error) => fail(line, `FROM ${path}: ${error.message}`));
  return { from: path, base: await recordFile(path) };
}

/** As Ollama's expandPath: `~/…` is in the home folder, a relative path is relative to the Modelfile's folder. */
function expandPath(path: string, folder: string): string {
  if (path === "~" || path.startsWith("~/")) return join(homedir(), path.slice(1));
  return resolve(folder, path);
}

/** sha256, size and mtime of a file the package refers to. */
export async function recordFile(path: string): Promise<FileRecord> {
  const info = await stat(path);
  return { path, sha256: await sha256OfFile(path), size: info.size, mtimeMs: info.mtimeMs };
}

export type FileState = "unchanged" | "changed" | "missing";

/** Whether a recorded file is still the same: size and mtime first, the sha256 only when those moved. */
export async function checkFile(record: FileRecord): Promise<FileState> {
  let info;
  try {
    info = await stat(record.path);
  } catch {
    return "missing";
  }
  if (info.size !== record.size) return "changed";
  if (info.mtimeMs === record.mtimeMs) return "unchanged";
  return (await sha256OfFile(record.path)) === record.sha256 ? "unchanged" : "changed";
}
