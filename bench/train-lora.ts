// Training throughput of the engine: LoRA r=8 on q,k,v,o, AdamW, batch 8 x 256, on the stories260K
// and stories15M shapes (random weights: speed does not depend on their values), against PyTorch eager
// CPU on the same shapes in the same run when Debian's python3-torch is installed.
//   npx tsx bench/train-lora.ts [--shape 260K|15M|all] [--seconds 20] [--no-torch]
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { llamaConfig, type LlamaConfig } from "../src/engine/config.js";
import { allocateBaseWeights } from "../src/engine/model/base-weights.js";
import { LlamaModel } from "../src/engine/model/llama-model.js";
import { randomizeBaseWeights } from "../src/engine/model/random-init.js";
import { parseLoraConfig } from "../src/engine/lora/lora-config.js";
import { AdamW } from "../src/engine/optim/adamw.js";
import { clipGradientNorm } from "../src/engine/optim/clip.js";
import { SeededRandom } from "../src/engine/random.js";

const shapes: Record<string, LlamaConfig> = {
  "260K": llamaConfig({ vocabSize: 512, dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4 }),
  "15M": llamaConfig({ vocabSize: 32000, dim: 288, hiddenDim: 768, nLayers: 6, nHeads: 6, nKvHeads: 6 }),
};
/** PyTorch eager CPU, 2 threads, measured on this project's 2-core machine (issue 7). */
const referenceFigures: Record<string, number> = { "260K": 4130, "15M": 707 };
const B = 8, T = 256;

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

interface Measurement {
  tokensPerSecond: number;
  /** Tokens per second of this process's CPU time: less sensitive to a busy shared machine. */
  tokensPerCpuSecond: number;
  steps: number;
  seconds: number;
  phases: Record<string, number>;
  memory: ReturnType<LlamaModel["memoryBytes"]>;
}

function measureEngine(config: LlamaConfig, seconds: number): Measurement {
  const weights = allocateBaseWeights(config);
  randomizeBaseWeights(config, weights, new SeededRandom(1), 0.02);
  const model = new LlamaModel(config, weights, { lora: parseLoraConfig({ rank: 8, alpha: 16, dropout: 0, targets: ["q", "k", "v", "o"] }), seed: 1 });
  const lora = model.lora!;
  const adamw = new AdamW(lora.params, lora.grads, { learningRate: 1e-4 });
  const random = new SeededRandom(2);
  const tokens = Int32Array.from({ length: B * T }, () => Math.floor(random.next() * config.vocabSize));
  const targets = Int32Array.from({ length: B * T }, () => Math.floor(random.next() * config.vocabSize));
  const phases = { forward: 0, backward: 0, optimizer: 0 };
  const step = () => {
    const t0 = performance.now();
    model.zeroGradients();
    model.forward({ tokens, targets }, B, T);
    const t1 = performance.now();
    model.backward();
    const t2 = performance.now();
    clipGradientNorm(lora.grads, 1);
    adamw.update();
    const t3 = performance.now();
    phases.forward += t1 - t0;
    phases.backward += t2 - t1;
    phases.optimizer += t3 - t2;
  };
  step(); // warm-up: allocation and JIT
  phases.forward = phases.backward = phases.optimizer = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let steps = 0;
  while (steps < 1 || (performance.now() - start < seconds * 1000 && steps < 1000)) {
    step();
    steps++;
  }
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { tokensPerSecond: (B * T * steps) / elapsed, tokensPerCpuSecond: (B * T * steps) / cpuSeconds, steps, seconds: elapsed, phases, memory: model.memoryBytes() };
}

interface TorchMeasurement {
  tokensPerSecond: number;
  tokensPerCpuSecond: number;
}

function measurePyTorch(shape: string, config: LlamaConfig, seconds: number): TorchMeasurement | null {
  const python = ["/usr/bin/python3", "python3"].find((candidate) => spawnSync(candidate, ["-c", "import torch"], { stdio: "ignore" }).status === 0);
  if (!python) return null;
  const script = join(dirname(fileURLToPath(import.meta.url)), "train-lora-pytorch.py");
  if (!existsSync(script)) return null;
  const args = [script, "--json", JSON.stringify({ ...config, B, T, rank: 8, alpha: 16, seconds, shape })];
  const result = spawnSync(python, args, { encoding: "utf8", timeout: (seconds + 900) * 1000 });
  if (result.status !== 0) {
    const why = result.error ? result.error.message : result.signal ? `killed by ${result.signal}` : `exit ${result.status}`;
    console.error(`PyTorch run failed (${why}): ${result.stderr.trim().split("\n").slice(-3).join(" | ")}`);
    return null;
  }
  return JSON.parse(result.stdout.trim().split("\n").pop()!) as TorchMeasurement;
}

const selected = argument("shape", "all");
const seconds = Number(argument("seconds", "20"));
const withTorch = !process.argv.includes("--no-torch");
for (const [name, config] of Object.entries(shapes)) {
  if (selected !== "all" && selected !== name) continue;
  const ours = measureEngine(config, seconds);
  const perStep = (ms: number) => (ms / ours.steps).toFixed(0);
  console.log(
    `stories${name} shape, LoRA r=8 q,k,v,o, batch ${B}x${T}: camelid ${ours.tokensPerSecond.toFixed(0)} tok/s, ${ours.tokensPerCpuSecond.toFixed(0)} tok per CPU-s ` +
      `(${ours.steps} steps in ${ours.seconds.toFixed(1)} s; per step forward ${perStep(ours.phases.forward)} ms, backward ${perStep(ours.phases.backward)} ms, optimizer ${perStep(ours.phases.optimizer)} ms)`,
  );
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
  const m = ours.memory;
  console.log(
    `  engine buffers ${mb(m.total)} (base weights ${mb(m.baseWeights)}, activations ${mb(m.activations)}, ` +
      `gradient scratch ${mb(m.gradientScratch)}, LoRA ${mb(m.lora)}); process peak RSS so far ${mb(process.resourceUsage().maxRSS * 1024)}`,
  );
  const torch = withTorch ? measurePyTorch(name, config, seconds) : null;
  if (torch !== null) {
    console.log(
      `  PyTorch eager CPU (2 threads), same run: ${torch.tokensPerSecond.toFixed(0)} tok/s, ${torch.tokensPerCpuSecond.toFixed(0)} tok per CPU-s -> ratio camelid/PyTorch ` +
        `${(ours.tokensPerSecond / torch.tokensPerSecond).toFixed(2)} (wall), ${(ours.tokensPerCpuSecond / torch.tokensPerCpuSecond).toFixed(2)} (CPU time)`,
    );
  }
  else console.log("  PyTorch not available in this run (install python3-torch to measure it)");
  console.log(`  against the issue's reference figure ${referenceFigures[name]} tok/s (idle machine): ratio ${(ours.tokensPerSecond / referenceFigures[name]).toFixed(2)} (wall)`);
}
