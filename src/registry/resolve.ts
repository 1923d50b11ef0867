// A model name on the command line (`--model NAME`) → what to load: a pulled file, or a created package with
// its adapters, prompt format or template, system prompt and sampling defaults.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { ModelNotFoundError } from "../errors/index.js";
import { CacheLayout } from "../hub/cache-layout.js";
import { findCreated, ManifestStore, pulledModelPath } from "../hub/manifests.js";
import { NAME_PATTERN } from "./create.js";
import type { PackagedSampling } from "./modelfile.js";
import type { CreatedModel } from "./package-schema.js";

export interface ModelPackage {
  path: string;
  lora: { path: string; scale: number }[];
  promptFormat?: string;
  /** A packaged TEMPLATE: replaces the GGUF's own tokenizer.chat_template. */
  chatTemplate?: string;
  system?: string;
  sampling: PackagedSampling;
  contextSize?: number;
}

/**
 * `hf:…`/URLs are pulled models; an existing file is a file (undefined: the caller loads it as such); any
 * other value that names a created model is that package. A bare name (no folder, no .gguf) that is neither
 * is ModelNotFoundError listing the created models; a missing path is left to the caller to report.
 */
export function resolveModelName(value: string, cacheDir: string, cwd: string): ModelPackage | undefined {
  const manifests = new CacheLayout(cacheDir).manifestsFolder;
  if (/^hf:/i.test(value) || /^https?:\/\//i.test(value)) return { path: pulledModelPath(value, manifests), lora: [], sampling: {} };
  if (existsSync(resolve(cwd, value))) return undefined;
  const stored = new ManifestStore(manifests).listAllSync();
  const created = findCreated(stored, value);
  if (created) return packageOf(created);
  if (NAME_PATTERN.test(value) && !/\.gguf$/i.test(value)) {
    const names = stored.filter((model) => model.source === "created").map((model) => model.name);
    throw new ModelNotFoundError(
      value,
      `no file or created model named "${value}"${names.length ? `; created models: ${names.join(", ")}` : ""} (camelid list; camelid create ${value} -f Modelfile makes one)`,
    );
  }
  return undefined;
}

export function packageOf(created: CreatedModel): ModelPackage {
  return {
    path: created.base.path,
    lora: created.adapters.map(({ path, scale }) => ({ path, scale })),
    ...(created.template !== undefined ? { chatTemplate: created.template, promptFormat: "gguf-jinja" } : {}),
    ...(created.format !== undefined ? { promptFormat: created.format } : {}),
    ...(created.system !== undefined ? { system: created.system } : {}),
    sampling: created.sampling,
    ...(created.contextSize !== undefined ? { contextSize: created.contextSize } : {}),
  };
}
