// Serves the static playground (web/) at "/": a fixed list of files found once at startup, so no
// request path ever reaches the file system unchecked. The pages themselves hold no secrets, which
// is why app.ts lets them load without an API key; every /v1 and /api call still needs one.
import { readdirSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ServerApp } from "../context.js";
import { loadVendorAssets, readStaticAsset, type StaticAsset } from "./vendor-assets.js";

/** web/ beside src/ (and beside dist/ once built): both are two levels under the package root. */
export const defaultPlaygroundRoot = fileURLToPath(new URL("../../../web/", import.meta.url));

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * The browser may talk to this origin only: scripts, styles and fetches from 'self', nothing
 * inline, no frames. This is what keeps the playground from ever calling out to a CDN.
 */
const contentSecurityPolicy =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

export interface PlaygroundAssets {
  /** True for a GET/HEAD of a playground file (or "/"): these load without an API key. */
  isAssetRequest(method: string, path: string): boolean;
  /** URL paths served, e.g. "/", "/index.html", "/js/app.js". */
  paths(): string[];
}

function listFiles(root: string, prefix = "", depth = 0): string[] {
  if (depth > 4) return [];
  let entries: string[];
  try {
    entries = readdirSync(join(root, prefix));
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const name of entries.sort()) {
    if (name.startsWith(".")) continue;
    const relative = prefix ? `${prefix}/${name}` : name;
    const stats = statSync(join(root, relative));
    if (stats.isDirectory()) files.push(...listFiles(root, relative, depth + 1));
    else if (stats.isFile() && contentTypes[extname(name)]) files.push(relative);
  }
  return files;
}

export function loadPlaygroundAssets(root: string = defaultPlaygroundRoot, vendor: StaticAsset[] = loadVendorAssets()): PlaygroundAssets & { register(app: ServerApp): void } {
  const files = new Map<string, StaticAsset>();
  for (const relative of listFiles(root)) files.set(`/${relative}`, { path: `/${relative}`, file: join(root, relative) });
  const index = files.get("/index.html");
  if (index) files.set("/", index);
  for (const asset of vendor) files.set(asset.path, asset);

  return {
    isAssetRequest: (method, path) => (method === "GET" || method === "HEAD") && files.has(path),
    paths: () => [...files.keys()],
    register(app) {
      for (const [path, asset] of files) {
        app.get(path, (c) => {
          const type = contentTypes[extname(asset.file)] ?? "application/octet-stream";
          const headers: Record<string, string> = {
            "content-type": type,
            // Edits to web/ show on reload; the files are small and served from loopback.
            "cache-control": "no-cache",
            "x-content-type-options": "nosniff",
          };
          if (type.startsWith("text/html")) {
            headers["content-security-policy"] = contentSecurityPolicy;
            headers["referrer-policy"] = "no-referrer";
          }
          return c.body(readStaticAsset(asset), 200, headers);
        });
      }
    },
  };
}
