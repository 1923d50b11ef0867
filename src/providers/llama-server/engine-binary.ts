// Where the llama-server executable comes from: the user's own build (--llama-server-bin), else the one
// `camelid engine build` compiled from the llama.cpp source node-llama-cpp carries, cached per llama.cpp
// version so the two engines run the same llama.cpp. Nothing here runs a compiler; see engine-build.ts.
import { accessSync, constants, openSync, readSync, closeSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { EngineBinaryError } from "../../errors/index.js";

/** node-llama-cpp's llama.cpp source: a git bundle of the exact llama.cpp commit its binaries were built from. */
export interface BundledLlamaCppSource {
  bundlePath: string;
  /** The bundle's HEAD commit (40 hex digits). */
  commit: string;
}

/** node-llama-cpp's package folder, found through the module resolver (its exports hide package.json). */
export function nodeLlamaCppFolder(): string {
  // .../node-llama-cpp/dist/index.js → .../node-llama-cpp
  return dirname(dirname(fileURLToPath(import.meta.resolve("node-llama-cpp"))));
}

/**
 * Reads the bundle's header ("# v2 git bundle", then "<sha> <ref>" lines up to a blank line) without git:
 * the commit keys the cache, so even finding a cached binary must not need git installed.
 */
export function readBundleHead(bundlePath: string): string {
  let descriptor: number;
  try {
    descriptor = openSync(bundlePath, "r");
  } catch (error) {
    throw new EngineBinaryError(bundlePath, `node-llama-cpp's llama.cpp source ${bundlePath} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
  const buffer = Buffer.alloc(4096);
  const length = readSync(descriptor, buffer, 0, buffer.length, 0);
  closeSync(descriptor);
  const lines = buffer.subarray(0, length).toString("latin1").split("\n");
  if (!/^# v[23] git bundle$/.test(lines[0] ?? "")) throw new EngineBinaryError(bundlePath, `${bundlePath} is not a git bundle`);
  const refs = lines.slice(1, lines.indexOf("", 1)).map((line) => /^([0-9a-f]{40}) (\S+)$/.exec(line)).filter((match) => match !== null);
  const head = refs.find((match) => match[2] === "HEAD") ?? refs[0];
  if (!head) throw new EngineBinaryError(bundlePath, `${bundlePath} names no commit`);
  return head[1];
}

export function bundledLlamaCppSource(packageFolder = nodeLlamaCppFolder()): BundledLlamaCppSource {
  const bundlePath = join(packageFolder, "llama", "gitRelease.bundle");
  return { bundlePath, commit: readBundleHead(bundlePath) };
}

/** `<cache>/engines/llama-server/<first 12 hex of the llama.cpp commit>/`: one build per llama.cpp version. */
export function llamaServerBuildFolder(cacheDir: string, commit: string): string {
  return join(cacheDir, "engines", "llama-server", commit.slice(0, 12));
}

/** The executable a finished build leaves (cmake puts every tool in build/bin). */
export function cachedLlamaServerPath(cacheDir: string, commit: string): string {
  return join(llamaServerBuildFolder(cacheDir, commit), "build", "bin", process.platform === "win32" ? "llama-server.exe" : "llama-server");
}

const HOW_TO_GET_ONE =
  "build one with `camelid engine build` (compiles llama.cpp's llama-server from the source node-llama-cpp carries; needs git, cmake and a C++ compiler) " +
  "or point to your own build with --llama-server-bin PATH (\"llamaServerBin\" in serve's config)";

function checkExecutable(path: string, origin: string): string {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new EngineBinaryError(path, `${origin} ${path} does not exist; ${HOW_TO_GET_ONE}`);
  }
  if (!isFile) throw new EngineBinaryError(path, `${origin} ${path} is not a file; ${HOW_TO_GET_ONE}`);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new EngineBinaryError(path, `${origin} ${path} is not executable (chmod +x it); ${HOW_TO_GET_ONE}`);
  }
  return path;
}

/**
 * The llama-server to run: `explicitBin` when given (checked: exists, executable), else the cached build
 * for node-llama-cpp's llama.cpp version. Without either, an EngineBinaryError says how to get one.
 */
export function resolveLlamaServerBinary(options: { explicitBin?: string; cacheDir: string; source?: () => BundledLlamaCppSource }): string {
  if (options.explicitBin !== undefined) return checkExecutable(resolve(options.explicitBin), "--llama-server-bin");
  const { commit } = (options.source ?? bundledLlamaCppSource)();
  const cached = cachedLlamaServerPath(options.cacheDir, commit);
  try {
    accessSync(cached, constants.X_OK);
    return cached;
  } catch {
    throw new EngineBinaryError(cached, `--engine llama-server needs a llama-server executable and none was given or built (looked for ${cached}); ${HOW_TO_GET_ONE}`);
  }
}
