// What the engine benchmarks share: timing one call on both clocks, medians, random shared operands.
import { spawnSync } from "node:child_process";
import type { SeededRandom } from "../src/random/seeded-random.js";

/** The value of `--name` on the command line, else the fallback. */
export function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

/** The middle value (the mean of the two middles for an even count). */
export function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted.length % 2 ? sorted[sorted.length >> 1] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
}

/** Milliseconds of wall and of this process's CPU time for one call of run. */
export function timed(run: () => void): { wall: number; cpu: number } {
  const cpuStart = process.cpuUsage(), start = performance.now();
  run();
  const wall = performance.now() - start, cpu = process.cpuUsage(cpuStart);
  return { wall, cpu: (cpu.user + cpu.system) / 1000 };
}

/** size uniform values in [-scale, scale) in a SharedArrayBuffer (where the two-thread kernels run on them). */
export function sharedRandom(size: number, random: SeededRandom, scale = 1): Float32Array {
  const array = new Float32Array(new SharedArrayBuffer(size * 4));
  for (let i = 0; i < size; i++) array[i] = random.uniform(-scale, scale);
  return array;
}

/** A Python that imports torch (Debian's python3-torch lives under /usr/bin/python3), or null. */
export function pythonWithTorch(): string | null {
  return ["/usr/bin/python3", "python3"].find((candidate) => spawnSync(candidate, ["-c", "import torch"], { stdio: "ignore" }).status === 0) ?? null;
}
