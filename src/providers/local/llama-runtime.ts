// The single place that imports node-llama-cpp. It is loaded lazily so that commands which never
// touch a local model (inspect, formats, remote chat) start fast and work without the native addon.
// Other modules of the local provider import the library's types from here, never from the package.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Llama } from "node-llama-cpp";
import type { NodeLlamaCppBuild } from "../../spec/cpu-threads.js";
import type { EngineBinaryInfo } from "../../spec/language-model.js";
import { nodeLlamaCppFolder } from "../llama-server/engine-binary.js";
import { defaultThreadsForBuild } from "./options.js";

export type NodeLlamaCpp = typeof import("node-llama-cpp");
export type {
  Llama,
  LlamaContext,
  LlamaContextOptions,
  LlamaContextSequence,
  LlamaGrammar,
  LlamaGrammarEvaluationState,
  LlamaModel,
  SequenceEvaluateOptions,
  ControlledEvaluateInputItem,
  ControlledEvaluateIndexOutput,
  Token,
} from "node-llama-cpp";

let modulePromise: Promise<NodeLlamaCpp> | undefined;
let llamaPromise: Promise<Llama> | undefined;

/**
 * The latest error lines llama.cpp logged. node-llama-cpp rejects a bad file with only "Failed to load
 * model"; the reason ("check_tensor_dims: tensor 'blk.0.attn_k.weight' has wrong shape") is in the log.
 */
export class LlamaErrorLog {
  private readonly lines: { index: number; text: string }[] = [];
  private count = 0;

  constructor(private readonly keep = 32) {}

  record(text: string): void {
    this.lines.push({ index: this.count++, text: text.trim() });
    if (this.lines.length > this.keep) this.lines.shift();
  }

  /** A position to read from later with `since`. */
  mark(): number {
    return this.count;
  }

  since(mark: number): string[] {
    return this.lines.filter((line) => line.index >= mark && line.text !== "").map((line) => line.text);
  }
}

/** Belongs to the one shared runtime below (llama.cpp has one process-wide log callback). */
export const llamaErrorLog = new LlamaErrorLog();

export function loadNodeLlamaCpp(): Promise<NodeLlamaCpp> {
  modulePromise ??= import("node-llama-cpp");
  return modulePromise;
}

export interface RuntimeOptions {
  /** "auto" tries CUDA/Vulkan/Metal builds shipped in the npm packages; false forces CPU. */
  gpu?: false | "auto" | "cuda" | "vulkan" | "metal";
}

/**
 * The shared llama.cpp runtime. `build: "never"`: use only the prebuilt binaries shipped in the npm
 * packages; never download or compile llama.cpp on a user's machine.
 *
 * `maxThreads: 0` makes each context's `threads` setting exact. node-llama-cpp's default
 * (max(cores, 4)) lets ggml spin more worker threads than a small machine has cores: on 2 cores
 * that measured 68 decode tokens/s against 1258 with one exact thread (stories260K, same run).
 */
export function getLlamaRuntime(options: RuntimeOptions = {}): Promise<Llama> {
  llamaPromise ??= loadNodeLlamaCpp().then(({ getLlama, Llama, LlamaLogLevel }) =>
    getLlama({
      build: "never",
      gpu: options.gpu ?? (process.env.CAMELID_GPU === "auto" ? "auto" : false),
      logLevel: LlamaLogLevel.error,
      logger: (level, message) => {
        llamaErrorLog.record(message);
        Llama.defaultConsoleLogger(level, message);
      },
      progressLogs: false,
      maxThreads: 0,
    }),
  );
  return llamaPromise;
}

/** node-llama-cpp's name for the platform in its build folders (its getPlatform()). */
function nodeLlamaCppPlatform(platform: NodeJS.Platform): string {
  if (platform === "win32" || platform === "cygwin") return "win";
  if (platform === "android") return "linux";
  if (platform === "darwin") return "mac";
  return platform;
}

/**
 * The binary getLlamaRuntime() would load, read from the files node-llama-cpp itself checks first,
 * without importing it or loading anything (`camelid inspect` stays fast): its complete local build for
 * this platform and architecture, the one `camelid engine build --in-process` leaves
 * (llama/localBuilds/<platform>-<arch>/ holding Release/llama-addon.node, Release/_nlcBuildMetadata.json
 * and buildDone.status; a build cut short lacks the last), else the prebuilt binary of its npm package.
 * This is the CPU runtime, camelid's default: under CAMELID_GPU=auto node-llama-cpp tries GPU binaries
 * first, and a local build that fails node-llama-cpp's load-time test falls back to the prebuilt one,
 * which only loading it can tell.
 */
export function installedNodeLlamaCppBuild(packageFolder = nodeLlamaCppFolder(), platform = process.platform, arch: string = process.arch): NodeLlamaCppBuild {
  const folder = join(packageFolder, "llama", "localBuilds", `${nodeLlamaCppPlatform(platform)}-${arch}`);
  const complete = [join("Release", "llama-addon.node"), join("Release", "_nlcBuildMetadata.json"), "buildDone.status"].every((file) => existsSync(join(folder, file)));
  return complete ? "localBuild" : "prebuilt";
}

/** The in-process engine a model would run on, before any load: the binary above and its default threads. */
export function inProcessEngineDefaults(packageFolder?: string): EngineBinaryInfo {
  const binary = installedNodeLlamaCppBuild(packageFolder);
  return { engine: "node-llama-cpp", binary, threads: defaultThreadsForBuild(binary) };
}

/** How serve's model line and inspect name the in-process engine's binary and threads. */
export function describeEngineBinary(info: EngineBinaryInfo): string {
  const binary = info.binary === "localBuild" ? "local source build (camelid engine build --in-process)" : `${info.binary} binary`;
  return `node-llama-cpp ${binary}, ${info.threads} thread${info.threads === 1 ? "" : "s"}`;
}
