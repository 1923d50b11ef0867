// `camelid rm`: forget a pulled model and delete its bytes unless another pulled name still uses them.
import { readdir, rmdir, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { CacheLayout } from "./cache-layout.js";
import { findManifest, ManifestStore, type Manifest } from "./manifests.js";

export interface RemoveResult {
  manifest: Manifest;
  /** The files deleted (the blob is kept while another manifest names it). */
  deleted: string[];
}

export async function removeModel(name: string, cacheDir: string): Promise<RemoveResult> {
  const layout = new CacheLayout(cacheDir);
  const store = new ManifestStore(layout.manifestsFolder);
  const manifests = await store.list();
  const manifest = findManifest(manifests, name);
  await store.remove(manifest);
  const deleted: string[] = [];
  const others = manifests.filter((other) => other !== manifest);
  if (manifest.path !== manifest.blob && !others.some((other) => other.path === manifest.path)) {
    if (await unlinkIfPresent(manifest.path)) deleted.push(manifest.path);
    await pruneEmptyFolders(dirname(manifest.path), layout.root);
  }
  if (!others.some((other) => other.blob === manifest.blob)) {
    if (await unlinkIfPresent(manifest.blob)) deleted.push(manifest.blob);
    await pruneEmptyFolders(dirname(manifest.blob), layout.root);
  }
  return { manifest, deleted };
}

async function unlinkIfPresent(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

/** Empty snapshot/blob folders up to (not including) the cache root go too, so `rm` leaves no husk. */
async function pruneEmptyFolders(folder: string, root: string): Promise<void> {
  let current = folder;
  while (current.startsWith(root) && current !== root) {
    const entries = await readdir(current).catch(() => undefined);
    if (entries === undefined || entries.length > 0) return;
    await rmdir(current).catch(() => undefined);
    current = dirname(current);
  }
}
