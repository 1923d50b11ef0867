// The engine's matmul on the stories15M training shapes (batch 8 x 256 = 2048 rows) against PyTorch's
// torch.matmul (OpenBLAS, same thread count) measured in the same run, and its register tiles against
// each other. Operands live in the kernel's memory as in a training step (the model allocates its
// activations there). One thread: CPU time (robust on a busy shared machine); two: wall time.
//   npx tsx bench/engine-matmul.ts [--seconds 0.5] [--no-torch]
import { spawnSync } from "node:child_process";
import { SimdMatmul } from "../src/engine/kernels/fast/matmul-simd.js";
import { ParallelSimdMatmul } from "../src/engine/kernels/fast/parallel-matmul.js";
import { argument, pythonWithTorch } from "./measure.js";

const seconds = Number(argument("seconds", "0.5"));

/** [N, K, OC, what it is]: out[N, OC] = x[N, K] @ W[OC, K]^T, W frozen (packed once). */
const shapes: [number, number, number, string][] = [
  [2048, 288, 288, "q/k/v/o"],
  [2048, 288, 768, "gate/up"],
  [2048, 768, 288, "down"],
  [2048, 288, 32000, "output head"],
];
const tiles = [[2, 4], [3, 3], [4, 2]] as const;

/** GMAC/s of kernel.forward on one shape, over `seconds` (CPU time on one thread, wall on two). */
function measure(kernel: SimdMatmul, N: number, K: number, OC: number, twoThreads: boolean): number {
  const x = kernel.allocateResident(N * K) ?? new Float32Array(N * K);
  const out = kernel.allocateResident(N * OC) ?? new Float32Array(N * OC);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  const weight = Float32Array.from({ length: OC * K }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  kernel.forward(out, x, weight, N, K, OC, false, true); // packs the weight, compiles and tiers up
  kernel.forward(out, x, weight, N, K, OC, false, true);
  const start = performance.now(), cpuStart = process.cpuUsage();
  let calls = 0;
  while (performance.now() - start < seconds * 1000 || calls < 2) {
    kernel.forward(out, x, weight, N, K, OC, false, true);
    calls++;
  }
  const cpu = process.cpuUsage(cpuStart);
  const elapsed = twoThreads ? (performance.now() - start) / 1000 : (cpu.user + cpu.system) / 1e6;
  return (N * K * OC * calls) / elapsed / 1e9;
}

function torchMatmul(threads: number): Record<string, number> | null {
  if (process.argv.includes("--no-torch")) return null;
  const python = pythonWithTorch();
  if (!python) return null;
  const script = `
import json, time, torch
torch.set_num_threads(${threads})
result = {}
for n, k, oc in ${JSON.stringify(shapes.map(([N, K, OC]) => [N, K, OC]))}:
    x, w = torch.rand(n, k) - 0.5, torch.rand(oc, k) - 0.5
    out = torch.empty(n, oc)
    torch.matmul(x, w.t(), out=out)
    calls, start = 0, time.perf_counter()
    cpu = time.process_time()
    while time.perf_counter() - start < ${seconds} or calls < 2:
        torch.matmul(x, w.t(), out=out)
        calls += 1
    elapsed = (time.process_time() - cpu) if ${threads} == 1 else (time.perf_counter() - start)
    result[f"{n}x{k}x{oc}"] = n * k * oc * calls / elapsed / 1e9
print(json.dumps(result))
`;
  const run = spawnSync(python, ["-c", script], { encoding: "utf8" });
  if (run.status !== 0) return null;
  return JSON.parse(run.stdout.trim().split("\n").pop()!) as Record<string, number>;
}

for (const threads of [1, 2]) {
  const kernels = tiles.map(([rows, vectors]) => ({ tile: `${rows}x${4 * vectors}`, kernel: threads === 2 ? new ParallelSimdMatmul({ rows, vectors }) : new SimdMatmul({ rows, vectors }) }));
  const torch = torchMatmul(threads);
  console.log(`${threads} thread${threads === 2 ? "s" : ""} (${threads === 2 ? "wall" : "CPU"} time), GMAC/s:`);
  for (const [N, K, OC, what] of shapes) {
    const ours = kernels.map(({ tile, kernel }) => ({ tile, rate: measure(kernel, N, K, OC, threads === 2) }));
    const best = ours.reduce((a, b) => (b.rate > a.rate ? b : a));
    const reference = torch?.[`${N}x${K}x${OC}`];
    console.log(
      `  ${`${N}x${K}x${OC}`.padEnd(15)} ${what.padEnd(12)} ${ours.map(({ tile, rate }) => `${tile} ${rate.toFixed(1)}`).join("  ")}` +
        (reference ? `  | PyTorch ${reference.toFixed(1)} -> best/PyTorch ${(best.rate / reference).toFixed(2)}` : "  | PyTorch not available"),
    );
  }
  for (const { kernel } of kernels) if (kernel instanceof ParallelSimdMatmul) await kernel.close();
}
