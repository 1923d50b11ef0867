// The local list of models: one small JSON file per model, so two pulls never rewrite a shared file. Pulled
// models (source "hub" or "url") and models made by `camelid create` (source "created") share the folder.
import { mkdir, readdir, readFile, unlink, writeFile } from "node:fs/promises";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError, ModelNotFoundError } from "../errors/index.js";
import { replaceFileAtomic } from "../files/atomic-write.js";
import { createdModelSchema, type CreatedModel } from "../registry/package-schema.js";
import { AmbiguousFileError } from "./errors.js";

export const manifestSchema = z.object({
  /** What `list` shows and `rm`/`--model` accept: "hf:owner/repo:Q4_K_M" or the URL. */
  name: z.string().min(1),
  source: z.enum(["hub", "url"]),
  repo: z.string().optional(),
  revision: z.string().optional(),
  commit: z.string().optional(),
  /** The file's path in the repo (or the URL's file name). */
  file: z.string(),
  url: z.string(),
  quantization: z.string().optional(),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The model file to load (a snapshot link for Hub files). */
  path: z.string(),
  /** The bytes themselves; shared by every manifest that names the same blob. */
  blob: z.string(),
  pulledAt: z.string(),
});

export type Manifest = z.infer<typeof manifestSchema>;

/** Any model the cache knows: pulled or created. */
export type StoredModel = Manifest | CreatedModel;
const storedModelSchema = z.union([manifestSchema, createdModelSchema]);

export function isPulled(model: StoredModel): model is Manifest {
  return model.source !== "created";
}

/** The created model named `name` (names compare case-insensitively, as their manifest files do). */
export function findCreated(models: StoredModel[], name: string): CreatedModel | undefined {
  const wanted = name.toLowerCase();
  return models.find((model): model is CreatedModel => model.source === "created" && model.name.toLowerCase() === wanted);
}

export class ManifestStore {
  constructor(private readonly folder: string) {}

  async save(manifest: StoredModel): Promise<void> {
    await mkdir(this.folder, { recursive: true });
    const path = this.pathOf(manifest.name);
    // The temporary is unique per call: two pulls of one model in one process save the same manifest at the same time.
    await replaceFileAtomic(path, (temporary) => writeFile(temporary, `${JSON.stringify(manifest, null, 2)}\n`));
  }

  /** Pulled models only. */
  async list(): Promise<Manifest[]> {
    return (await this.listAll()).filter(isPulled);
  }

  async listAll(): Promise<StoredModel[]> {
    let names: string[];
    try {
      names = await readdir(this.folder);
    } catch {
      return [];
    }
    const manifests = await Promise.all(
      names.filter((name) => name.endsWith(".json")).map(async (name) => parseManifest(join(this.folder, name), await readFile(join(this.folder, name), "utf8"))),
    );
    return manifests.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Synchronous, for `--model hf:…` in the CLI's model selection; pulled models only. */
  listSync(): Manifest[] {
    return this.listAllSync().filter(isPulled);
  }

  listAllSync(): StoredModel[] {
    let names: string[];
    try {
      names = readdirSync(this.folder);
    } catch {
      return [];
    }
    return names
      .filter((name) => name.endsWith(".json"))
      .map((name) => parseManifest(join(this.folder, name), readFileSync(join(this.folder, name), "utf8")))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async remove(manifest: StoredModel): Promise<void> {
    await unlink(this.pathOf(manifest.name));
  }

  private pathOf(name: string): string {
    return join(this.folder, `${encodeURIComponent(name.toLowerCase())}.json`);
  }
}

/**
 * The pulled model `name` means: its exact name (case-insensitive), or `hf:owner/repo` when only one file of
 * that repo was pulled. Unknown: ModelNotFoundError listing what there is.
 */
export function findManifest(manifests: Manifest[], name: string): Manifest {
  const wanted = name.toLowerCase();
  const exact = manifests.filter((manifest) => manifest.name.toLowerCase() === wanted);
  if (exact.length === 1) return exact[0];
  const ofRepo = manifests.filter((manifest) => manifest.source === "hub" && `hf:${manifest.repo}`.toLowerCase() === wanted);
  if (ofRepo.length === 1) return ofRepo[0];
  if (ofRepo.length > 1) throw new AmbiguousFileError(name.slice(3), undefined, ofRepo.map((manifest) => manifest.name));
  const known = manifests.length ? `; pulled models: ${manifests.map((manifest) => manifest.name).join(", ")}` : "; nothing has been pulled yet";
  throw new ModelNotFoundError(name, `no pulled model named "${name}"${known} (see camelid list; camelid pull ${name} downloads it)`);
}

function parseManifest(path: string, text: string): StoredModel {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`${path} is not JSON; delete it and pull the model again`);
  }
  const parsed = storedModelSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${path}: ${issue.path.join(".") || "manifest"}: ${issue.message}; delete it and pull the model again`);
  }
  return parsed.data;
}

/** The file of a pulled model, for `--model hf:owner/repo:QUANT`; never downloads (that is `camelid pull`). */
export function pulledModelPath(name: string, manifestsFolder: string): string {
  return findManifest(new ManifestStore(manifestsFolder).listSync(), name).path;
}
