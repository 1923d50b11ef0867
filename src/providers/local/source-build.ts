// `camelid engine build --in-process`: node-llama-cpp's own offline source build of its native binary
// (`node-llama-cpp source download`, compiling the llama.cpp of its bundled llama/gitRelease.bundle with
// native CPU flags and OpenMP). The prebuilt linux-x64 binary it ships has no OpenMP and measured ~15%
// more CPU per token, and collapses at 2 threads (README, "Performance"). node-llama-cpp loads such a
// local build by itself (camelid's `build: "never"` allows local builds, it only forbids compiling on
// demand), so nothing else changes. The build lives in node-llama-cpp's package folder
// (llama/localBuilds/); `node-llama-cpp source clear` removes it and brings back the prebuilt binary.
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { EngineBinaryError, InvalidArgumentError } from "../../errors/index.js";
import { nodeLlamaCppFolder } from "../llama-server/engine-binary.js";
import { parseCompileProgress, runTool, type BuildEvent, type BuildStep, type RunOptions, type ToolRunner } from "../llama-server/engine-build.js";

/** node-llama-cpp's `--gpu` choices for a source build; camelid's default is a CPU-only build (false). */
export const SOURCE_BUILD_GPUS = ["false", "auto", "cuda", "vulkan", "metal"] as const;
export type SourceBuildGpu = (typeof SOURCE_BUILD_GPUS)[number];

export interface InProcessBuildOptions {
  /** camelid's cache: the build log goes to DIR/engines/node-llama-cpp/build.log. */
  cacheDir: string;
  gpu?: SourceBuildGpu;
  /** Build again even when node-llama-cpp already has a local build. */
  force?: boolean;
  env?: NodeJS.ProcessEnv;
  /** node-llama-cpp's package folder (default: the one this camelid resolves). */
  packageFolder?: string;
  /** Runs each command (default: spawns it); tests inject one. */
  run?: ToolRunner;
  onEvent?: (event: BuildEvent) => void;
}

export interface InProcessBuildResult {
  /** Where node-llama-cpp put the build (its llama/localBuilds folder). */
  buildFolder: string;
  /** What node-llama-cpp loads now (`llama.buildType`): "localBuild" after a good build. */
  buildType: string;
  /** The command that removes the build (node-llama-cpp then loads its prebuilt binary again). */
  undo: string;
  log: string;
  cached: boolean;
}

/** The llama.cpp release node-llama-cpp's bundle holds: naming it keeps the build offline (the bundle is used, GitHub never asked). */
export function bundledRelease(packageFolder: string): string {
  const file = join(packageFolder, "llama", "binariesGithubRelease.json");
  try {
    const release = (JSON.parse(readFileSync(file, "utf8")) as { release?: unknown }).release;
    if (typeof release === "string" && release !== "") return release;
  } catch {
    // Reported below.
  }
  throw new EngineBinaryError(file, `engine build --in-process: cannot read the llama.cpp release of node-llama-cpp's bundle from ${file}`);
}

/** The arguments of node-llama-cpp's CLI for the source build. */
export function sourceBuildArgs(release: string, gpu: SourceBuildGpu): string[] {
  return ["source", "download", "--release", release, "--gpu", gpu, "--noUsageExample"];
}

/** A script that asks node-llama-cpp which binary it loads now, the way camelid loads it (never building). */
export function buildTypeProbe(packageFolder: string, gpu: SourceBuildGpu): string {
  const entry = pathToFileURL(join(packageFolder, "dist", "index.js")).href;
  const gpuOption = gpu === "false" ? "false" : JSON.stringify(gpu);
  return `const { getLlama } = await import(${JSON.stringify(entry)}); const llama = await getLlama({ build: "never", gpu: ${gpuOption}, progressLogs: false }); console.log("buildType=" + llama.buildType); await llama.dispose();`;
}

const hasLocalBuild = (buildFolder: string) => existsSync(buildFolder) && readdirSync(buildFolder).length > 0;

/** Runs node-llama-cpp's offline source build (or finds it done) and checks that node-llama-cpp now loads it. */
export async function buildInProcessEngine(options: InProcessBuildOptions): Promise<InProcessBuildResult> {
  const gpu = options.gpu ?? "false";
  if (!SOURCE_BUILD_GPUS.includes(gpu)) throw new InvalidArgumentError("gpu", `--gpu must be one of ${SOURCE_BUILD_GPUS.join(", ")}, got "${gpu}"`);
  const packageFolder = options.packageFolder ?? nodeLlamaCppFolder();
  const cli = join(packageFolder, "dist", "cli", "cli.js");
  const buildFolder = join(packageFolder, "llama", "localBuilds");
  const undo = `node ${cli} source clear`;
  const emit = options.onEvent ?? (() => undefined);
  const run = options.run ?? runTool;
  const env = { ...(options.env ?? process.env), CI: "true" };
  const logFolder = join(options.cacheDir, "engines", "node-llama-cpp");
  mkdirSync(logFolder, { recursive: true });
  const logPath = join(logFolder, "build.log");
  const log = createWriteStream(logPath, { flags: "a" });
  try {
    const step = (name: BuildStep, args: string[], more: Partial<RunOptions> = {}) => {
      emit({ type: "step", step: name, command: `node ${args.join(" ")}` });
      return run({ step: name, command: process.execPath, args, cwd: packageFolder, env, log, ...more });
    };
    // A script file, not `node -e`: node-llama-cpp tests a prebuilt binary in a child started with this
    // process's execArgv, which would carry `-e` and run the probe instead of its test.
    const probeFile = join(logFolder, "probe-build-type.mjs");
    writeFileSync(probeFile, buildTypeProbe(packageFolder, gpu));
    const probe = async () => /buildType=(\w+)/.exec(await step("check", [probeFile]))?.[1] ?? "unknown";
    if (hasLocalBuild(buildFolder) && !options.force) {
      const buildType = await probe();
      if (buildType === "localBuild") {
        emit({ type: "cached", binary: buildFolder, commit: bundledRelease(packageFolder) });
        return { buildFolder, buildType, undo, log: logPath, cached: true };
      }
    }
    const release = bundledRelease(packageFolder);
    await step("compile", [cli, ...sourceBuildArgs(release, gpu)], {
      onLine: (line) => {
        const progress = parseCompileProgress(line);
        if (progress) emit({ type: "compile-progress", ...progress });
      },
    });
    const buildType = await probe();
    if (buildType !== "localBuild") {
      throw new EngineBinaryError(buildFolder, `engine build --in-process: the build finished but node-llama-cpp still loads its ${buildType} binary (full log: ${logPath})`);
    }
    emit({ type: "built", binary: buildFolder, commit: release, version: `node-llama-cpp local build of llama.cpp ${release}` });
    return { buildFolder, buildType, undo, log: logPath, cached: false };
  } finally {
    await new Promise((resolveClose) => log.end(resolveClose));
  }
}
