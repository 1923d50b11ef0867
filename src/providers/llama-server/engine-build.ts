// `camelid engine build`: llama.cpp's llama-server compiled from the very source node-llama-cpp carries
// (its llama/gitRelease.bundle), so the llama-server engine runs the same llama.cpp as the in-process one.
// Steps: git clone the bundle, cmake configure (Release, native CPU, no curl), build the one target with
// a progress bar from ninja's/make's own counters, check that the result runs. A finished build is a
// cache hit; an interrupted one resumes (the build folder is incremental).
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, rmSync, type WriteStream } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { EngineBinaryError } from "../../errors/index.js";
import { bundledLlamaCppSource, cachedLlamaServerPath, llamaServerBuildFolder, type BundledLlamaCppSource } from "./engine-binary.js";

/** cmake's configure flags: the recipe, and a self-contained executable (no shared libraries to find at run time). */
export const LLAMA_SERVER_CMAKE_FLAGS = [
  "-DCMAKE_BUILD_TYPE=Release",
  "-DLLAMA_CURL=OFF",
  "-DLLAMA_OPENSSL=OFF",
  "-DGGML_NATIVE=ON",
  "-DBUILD_SHARED_LIBS=OFF",
  "-DLLAMA_BUILD_TESTS=OFF",
  "-DLLAMA_BUILD_EXAMPLES=OFF",
  "-DLLAMA_BUILD_SERVER=ON",
] as const;

export type BuildStep = "clone" | "configure" | "compile" | "check";

export type BuildEvent =
  | { type: "cached"; binary: string; commit: string }
  | { type: "step"; step: BuildStep; command: string }
  | { type: "compile-progress"; done: number; total: number }
  | { type: "built"; binary: string; commit: string; version: string };

export interface EngineBuildOptions {
  cacheDir: string;
  /** Parallel compile jobs (default: every core). */
  jobs?: number;
  /** Build again even when the cached executable exists. */
  force?: boolean;
  /** PATH and the rest of the environment the tools run in. */
  env?: NodeJS.ProcessEnv;
  source?: () => BundledLlamaCppSource;
  onEvent?: (event: BuildEvent) => void;
}

/** A compile counter in a build tool's output: ninja's "[12/214]" or make's "[ 45%]". */
export function parseCompileProgress(line: string): { done: number; total: number } | undefined {
  const ninja = /^\[(\d+)\/(\d+)\]/.exec(line);
  if (ninja) return { done: Number(ninja[1]), total: Number(ninja[2]) };
  const make = /^\[\s*(\d+)%\]/.exec(line);
  if (make) return { done: Number(make[1]), total: 100 };
  return undefined;
}

/** Which generator to ask cmake for: Ninja when installed (its counters are exact), else cmake's default (make). */
async function hasNinja(env: NodeJS.ProcessEnv): Promise<boolean> {
  return new Promise((resolveProbe) => {
    const probe = spawn("ninja", ["--version"], { env, stdio: "ignore" });
    probe.once("error", () => resolveProbe(false));
    probe.once("exit", (code) => resolveProbe(code === 0));
  });
}

export interface RunOptions {
  step: BuildStep;
  command: string;
  args: string[];
  cwd?: string;
  env: NodeJS.ProcessEnv;
  log: WriteStream;
  onLine?: (line: string) => void;
}

const INSTALL_HINT: Record<string, string> = {
  git: "install git",
  cmake: "install cmake (3.14 or newer) and a C++17 compiler",
};

/** Runs one tool to its end and gives its output; injectable so that a build's commands can be tested without building. */
export type ToolRunner = (options: RunOptions) => Promise<string>;

/** Runs one tool, teeing its output to the build log; a failure is an EngineBinaryError naming the step and quoting the tool's last lines. */
export function runTool({ step, command, args, cwd, env, log, onLine }: RunOptions): Promise<string> {
  return new Promise((resolveRun, reject) => {
    log.write(`$ ${command} ${args.join(" ")}\n`);
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    const recent: string[] = [];
    let output = "";
    let partial = "";
    const take = (chunk: Buffer) => {
      log.write(chunk);
      const text = partial + chunk.toString("utf8");
      output += chunk.toString("utf8");
      const lines = text.split(/\r?\n/);
      partial = lines.pop() ?? "";
      for (const line of lines) {
        recent.push(line);
        if (recent.length > 20) recent.shift();
        onLine?.(line);
      }
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.once("error", (error: NodeJS.ErrnoException) => {
      const hint = INSTALL_HINT[command] ?? `install ${command}`;
      reject(
        new EngineBinaryError(
          command,
          error.code === "ENOENT"
            ? `engine build: ${command} is not installed (needed to ${step} llama.cpp): ${hint}, or point to your own llama-server with --llama-server-bin PATH`
            : `engine build: cannot run ${command}: ${error.message}`,
          { cause: error },
        ),
      );
    });
    child.once("close", (code, signal) => {
      if (partial) {
        recent.push(partial);
        onLine?.(partial);
      }
      if (code === 0) resolveRun(output);
      else {
        const how = signal ? `was killed (${signal})` : `failed (exit code ${code})`;
        reject(new EngineBinaryError(step, `engine build: ${step} ${how}: ${command} ${args.join(" ")}\n${recent.slice(-12).join("\n")}\n(full log: ${log.path})`));
      }
    });
  });
}

/** Builds (or finds cached) llama-server for node-llama-cpp's llama.cpp; returns the executable's path. */
export async function buildLlamaServer(options: EngineBuildOptions): Promise<string> {
  const source = (options.source ?? bundledLlamaCppSource)();
  const emit = options.onEvent ?? (() => undefined);
  const binary = cachedLlamaServerPath(options.cacheDir, source.commit);
  if (existsSync(binary) && !options.force) {
    emit({ type: "cached", binary, commit: source.commit });
    return binary;
  }
  const env = options.env ?? process.env;
  const folder = llamaServerBuildFolder(options.cacheDir, source.commit);
  const sourceFolder = join(folder, "source");
  const buildFolder = join(folder, "build");
  mkdirSync(folder, { recursive: true });
  const log = createWriteStream(join(folder, "build.log"), { flags: "a" });
  try {
    const run = (step: BuildStep, command: string, args: string[], more: Partial<RunOptions> = {}) => {
      emit({ type: "step", step, command: `${command} ${args.join(" ")}` });
      return runTool({ step, command, args, env, log, ...more });
    };
    const checkedOut = existsSync(join(sourceFolder, ".git"))
      ? (await runTool({ step: "clone", command: "git", args: ["-C", sourceFolder, "rev-parse", "HEAD"], env, log }).catch(() => "")).trim()
      : "";
    if (checkedOut !== source.commit) {
      // A half-made or foreign clone is made again; the bundle is local, so this is quick.
      rmSync(sourceFolder, { recursive: true, force: true });
      await run("clone", "git", ["clone", "--quiet", source.bundlePath, sourceFolder]);
      await run("clone", "git", ["-C", sourceFolder, "checkout", "--quiet", "--detach", source.commit]);
    }
    const generator = (await hasNinja(env)) ? ["-G", "Ninja"] : [];
    // A build folder configured with another generator cannot be reused.
    if (options.force) rmSync(buildFolder, { recursive: true, force: true });
    await run("configure", "cmake", ["-S", sourceFolder, "-B", buildFolder, ...generator, ...LLAMA_SERVER_CMAKE_FLAGS]);
    const jobs = options.jobs ?? availableParallelism();
    await run("compile", "cmake", ["--build", buildFolder, "--config", "Release", "--target", "llama-server", "-j", String(jobs)], {
      onLine: (line) => {
        const progress = parseCompileProgress(line);
        if (progress) emit({ type: "compile-progress", ...progress });
      },
    });
    if (!existsSync(binary)) throw new EngineBinaryError(binary, `engine build: the build finished but left no ${binary} (full log: ${log.path})`);
    // An executable that cannot even print its version is no cache entry.
    const version = (
      await run("check", binary, ["--version"]).catch((error: unknown) => {
        rmSync(binary, { force: true });
        throw error;
      })
    )
      .trim()
      .split("\n")
      .filter((line) => /version/i.test(line))
      .join("; ");
    emit({ type: "built", binary, commit: source.commit, version });
    return binary;
  } finally {
    await new Promise((resolveClose) => log.end(resolveClose));
  }
}
