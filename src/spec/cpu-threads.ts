// How many ggml threads a local model gets when its options name none, decided once for both engines
// (node-llama-cpp in process, llama.cpp's llama-server beside it). The decision is pure over measured
// facts so that it can be tested with any machine's; reading the facts is the one impure step.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { LocalEngine } from "./local-model-options.js";

export interface CpuFacts {
  /** Logical CPUs this process may run on (os.availableParallelism(): the affinity mask). */
  logical: number;
  /** Physical cores of the machine, when known (fewer than logical under SMT). */
  physical?: number;
  /** CPUs the cgroup's CFS quota grants (cpu.max "200000 100000" = 2), when one is set. */
  quotaCpus?: number;
}

/** The engines of `--engine`: the default depends on which. */
export type LocalEngineKind = LocalEngine;

/**
 * Which native binary node-llama-cpp loaded (its `llama.buildType`): the prebuilt one shipped in the npm
 * package, or a local source build (`camelid engine build --in-process`). The two want different thread counts.
 */
export type NodeLlamaCppBuild = "prebuilt" | "localBuild";

/**
 * Cores the math may use: the logical CPUs, no more than the physical cores (ggml's matrix kernels
 * gain nothing from a second hyperthread, which is why llama.cpp's own default counts physical
 * cores), and no more than a container's CPU quota (past it the kernel throttles the whole cgroup,
 * and a thread parked by the throttle stalls the others at ggml's barriers).
 */
export function usableCores(facts: CpuFacts): number {
  let cores = facts.logical;
  if (facts.physical !== undefined && facts.physical > 0) cores = Math.min(cores, facts.physical);
  if (facts.quotaCpus !== undefined && facts.quotaCpus > 0) cores = Math.min(cores, Math.floor(facts.quotaCpus));
  return Math.max(1, cores);
}

/**
 * The default thread count.
 *
 * node-llama-cpp: the usable cores but one, at most 8. node-llama-cpp's prebuilt binaries are built
 * without OpenMP and attach no ggml threadpool, so every decode step creates its worker threads
 * afresh and joins them, and ggml's own barrier spins without ever yielding: when the OS preempts one
 * worker (the event loop, the HTTP client, anything else on the machine), the others burn their time
 * slice waiting. Keeping a core free for the rest of the process avoids that; on 2 cores it means one
 * thread, which measured faster than two (README, "Performance"; bench/engine-parity.ts).
 *
 * llama-server: the usable cores, llama.cpp's own default (cpu_get_num_math: physical cores). Its build
 * uses OpenMP, whose thread team persists between steps and whose barrier sleeps after a short spin,
 * so a preempted worker costs little and every core helps; the gateway process is mostly idle I/O.
 *
 * node-llama-cpp over a local source build (`build: "localBuild"`): the usable cores, as llama-server.
 * node-llama-cpp's source build compiles llama.cpp natively with OpenMP, so the reason for the spare
 * core is gone: on 2 cores two threads measured 1.59x one thread (README, "Performance").
 */
export function chooseThreads(engine: LocalEngineKind, facts: CpuFacts, build: NodeLlamaCppBuild = "prebuilt"): number {
  const cores = usableCores(facts);
  return engine === "node-llama-cpp" && build === "prebuilt" ? Math.max(1, Math.min(8, cores - 1)) : cores;
}

/** Reads a text file, or undefined when it is missing or unreadable (no cgroup, no /proc). */
export type ReadText = (path: string) => string | undefined;

const readTextFile: ReadText = (path) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

/** CPUs granted by a cgroup v2 `cpu.max` ("max 100000" = no limit) or v1 quota/period files. */
export function parseCpuQuota(read: ReadText): number | undefined {
  const v2 = read("/sys/fs/cgroup/cpu.max")?.trim().split(/\s+/);
  if (v2 && v2.length === 2) {
    const [quota, period] = v2.map(Number);
    return v2[0] !== "max" && quota > 0 && period > 0 ? quota / period : undefined;
  }
  const quota = Number(read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")?.trim());
  const period = Number(read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")?.trim());
  return quota > 0 && period > 0 ? quota / period : undefined;
}

/** Distinct (physical id, core id) pairs in /proc/cpuinfo; undefined where it has none (not Linux x86/arm64 with topology). */
export function parsePhysicalCores(cpuinfo: string | undefined): number | undefined {
  if (!cpuinfo) return undefined;
  const cores = new Set<string>();
  for (const block of cpuinfo.split(/\n\s*\n/)) {
    const pkg = /^physical id\s*:\s*(\d+)/m.exec(block)?.[1];
    const core = /^core id\s*:\s*(\d+)/m.exec(block)?.[1];
    if (core !== undefined) cores.add(`${pkg ?? 0}:${core}`);
  }
  return cores.size > 0 ? cores.size : undefined;
}

/** This machine's facts; inputs injectable for tests. */
export function readCpuFacts(read: ReadText = readTextFile, logical: number = availableParallelism()): CpuFacts {
  const physical = parsePhysicalCores(read("/proc/cpuinfo"));
  const quotaCpus = parseCpuQuota(read);
  return { logical, ...(physical !== undefined ? { physical } : {}), ...(quotaCpus !== undefined ? { quotaCpus } : {}) };
}

/** The default threads for an engine on this machine (for node-llama-cpp: over the binary it loaded). */
export function defaultThreadsFor(engine: LocalEngineKind, facts: CpuFacts = readCpuFacts(), build: NodeLlamaCppBuild = "prebuilt"): number {
  return chooseThreads(engine, facts, build);
}
