import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root, found from this file's location so tests work from any cwd. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** `../shared` beside the repository: data every developer and CI run has; never copied into the repo. */
export const sharedDir = resolve(repoRoot, "../shared");

/** Absolute path of a file under ../shared; throws a clear message when the folder is missing. */
export function sharedPath(...parts: string[]): string {
  if (!existsSync(sharedDir)) {
    throw new Error(`../shared not found at ${sharedDir}: tests read models and data from it (see README)`);
  }
  const path = join(sharedDir, ...parts);
  if (!existsSync(path)) throw new Error(`missing shared file: ${path}`);
  return path;
}

export const stories260KPath = () => sharedPath("models", "stories260K.gguf");
