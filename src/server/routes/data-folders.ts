// Folders of the server's data dir shown read-only in the playground (safety reports, training runs,
// evaluation results): each is addressed by its folder's name, which must never become a path that
// leaves its parent folder, whatever a request sends (`..`, `%2e%2e`, `a/b`, `a\b`, NUL).
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ResourceNotFoundError } from "../http-errors.js";

/** A folder's name: letters, digits, ".", "_" and "-", never "." or "..", so never a path. */
export const dataFolderNamePattern = /^(?!\.{1,2}$)[\w.-]{1,128}$/;

/** The named folder inside `parent`, or a 404 naming `what` (a malformed name is just not found). */
export function dataFolder(parent: string, name: string, what: string): string {
  const path = join(parent, name);
  if (!dataFolderNamePattern.test(name) || !existsSync(path)) throw new ResourceNotFoundError(what, `no ${what} named "${name}"`);
  return path;
}

/** The folders of `parent` with a well-formed name (and, when given, holding one of `markers`), sorted. */
export function dataFolderNames(parent: string, markers: readonly string[] = []): string[] {
  if (!existsSync(parent)) return [];
  return readdirSync(parent, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && dataFolderNamePattern.test(entry.name))
    .filter((entry) => markers.length === 0 || markers.some((marker) => existsSync(join(parent, entry.name, marker))))
    .map((entry) => entry.name)
    .sort();
}
