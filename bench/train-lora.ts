// Training throughput of the engine: LoRA r=8 on q,k,v,o, AdamW, batch 8 x 256, on the stories260K
// and stories15M shapes (random weights: speed does not depend on their values), against PyTorch eager
// CPU on the same shapes in the same run when Debian's python3-torch is installed: the two alternate in
// rounds (PyTorch stays loaded in a child process between its rounds), so a busy spell on the shared
// machine slows both alike; the ratio is over all rounds, with the per-round median and range.
//   npx tsx bench/train-lora.ts [--shape 260K|15M|all] [--seconds 40 (per side)] [--rounds 4] [--no-torch]
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { llamaConfig, type LlamaConfig } from "../src/engine/config.js";
import { allocateBaseWeights } from "../src/engine/model/base-weights.js";
import { LlamaModel } from "../src/engine/model/llama-model.js";
import { randomizeBaseWeights } from "../src/engine/model/random-init.js";
import { parseLoraConfig } from "../src/engine/lora/lora-config.js";
import { AdamW } from "../src/engine/optim/adamw.js";
import { clipGradientNorm } from "../src/engine/optim/clip.js";
import { SeededRandom } from "../src/random/seeded-random.js";
import { argument, median, pythonWithTorch } from "./measure.js";
import { alternateRounds, startTorchRounds, type TorchRounds } from "./torch-rounds.js";

const shapes: Record<string, LlamaConfig> = {
  "260K": llamaConfig({ vocabSize: 512, dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4 }),
  "15M": llamaConfig({ vocabSize: 32000, dim: 288, hiddenDim: 768, nLayers: 6, nHeads: 6, nKvHeads: 6 }),
};
/** PyTorch eager CPU, 2 threads, measured on this project's 2-core machine (issue 7). */
const referenceFigures: Record<string, number> = { "260K": 4130, "15M": 707 };
const B = 8, T = 256;

interface Measurement {
  tokensPerSecond: number;
  /** Tokens per second of this process's CPU time: less sensitive to a busy shared machine. */
  tokensPerCpuSecond: number;
  steps: number;
  seconds: number;
}

interface EngineRun {
  measure(seconds: number): Measurement;
  phases: Record<string, number>;
  totalSteps(): number;
  memory(): ReturnType<LlamaModel["memoryBytes"]>;
}

function engineRun(config: LlamaConfig): EngineRun {
  const weights = allocateBaseWeights(config);
  randomizeBaseWeights(config, weights, new SeededRandom(1), 0.02);
  const model = new LlamaModel(config, weights, { lora: parseLoraConfig({ rank: 8, alpha: 16, dropout: 0, targets: ["q", "k", "v", "o"] }), seed: 1 });
  const lora = model.lora!;
  const adamw = new AdamW(lora.params, lora.grads, { learningRate: 1e-4 });
  const random = new SeededRandom(2);
  const tokens = Int32Array.from({ length: B * T }, () => Math.floor(random.next() * config.vocabSize));
  const targets = Int32Array.from({ length: B * T }, () => Math.floor(random.next() * config.vocabSize));
  const phases = { forward: 0, backward: 0, optimizer: 0 };
  let steps = 0;
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
    steps++;
  };
  step(); // warm-up: allocation and JIT
  phases.forward = phases.backward = phases.optimizer = 0;
  steps = 0;
  return {
    phases,
    totalSteps: () => steps,
    memory: () => model.memoryBytes(),
    measure(seconds) {
      const start = performance.now(), cpuStart = process.cpuUsage(), first = steps;
      while (steps === first || (performance.now() - start < seconds * 1000 && steps - first < 1000)) step();
      const elapsed = (performance.now() - start) / 1000, cpu = process.cpuUsage(cpuStart);
      const done = steps - first;
      return { tokensPerSecond: (B * T * done) / elapsed, tokensPerCpuSecond: (B * T * done * 1e6) / (cpu.user + cpu.system), steps: done, seconds: elapsed };
    },
  };
}

/** PyTorch in a child process that measures a round whenever asked, so the two alternate. */
async function torchRun(shape: string, config: LlamaConfig): Promise<TorchRounds<Measurement> | null> {
  const python = pythonWithTorch();
  if (!python) return null;
  const script = join(dirname(fileURLToPath(import.meta.url)), "train-lora-pytorch.py");
  return startTorchRounds<Measurement>(python, script, { ...config, B, T, rank: 8, alpha: 16, rounds: true, shape });
}

const range = (values: number[]) => `${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)}`;
/** Tokens per second (and per CPU second) over all rounds together. */
function pooled(rounds: Measurement[]): { tokensPerSecond: number; tokensPerCpuSecond: number; steps: number; seconds: number } {
  const tokens = rounds.reduce((sum, r) => sum + r.tokensPerSecond * r.seconds, 0);
  const seconds = rounds.reduce((sum, r) => sum + r.seconds, 0);
  const cpuSeconds = rounds.reduce((sum, r) => sum + (r.tokensPerSecond * r.seconds) / r.tokensPerCpuSecond, 0);
  return { tokensPerSecond: tokens / seconds, tokensPerCpuSecond: tokens / cpuSeconds, steps: rounds.reduce((sum, r) => sum + r.steps, 0), seconds };
}

const selected = argument("shape", "all");
const seconds = Number(argument("seconds", "40"));
const roundCount = Math.max(1, Math.min(20, Number(argument("rounds", "4"))));
const withTorch = !process.argv.includes("--no-torch");
for (const [name, config] of Object.entries(shapes)) {
  if (selected !== "all" && selected !== name) continue;
  const engine = engineRun(config);
  const torch = withTorch ? await torchRun(name, config) : null;
  const { ours, theirs } = await alternateRounds(roundCount, seconds, (s) => engine.measure(s), torch);
  const total = pooled(ours);
  const perStep = (ms: number) => (ms / engine.totalSteps()).toFixed(0);
  console.log(
    `stories${name} shape, LoRA r=8 q,k,v,o, batch ${B}x${T}: camelid ${total.tokensPerSecond.toFixed(0)} tok/s, ${total.tokensPerCpuSecond.toFixed(0)} tok per CPU-s ` +
      `(${total.steps} steps in ${total.seconds.toFixed(1)} s over ${roundCount} rounds; per step forward ${perStep(engine.phases.forward)} ms, backward ${perStep(engine.phases.backward)} ms, optimizer ${perStep(engine.phases.optimizer)} ms)`,
  );
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
  const m = engine.memory();
  console.log(
    `  engine buffers ${mb(m.total)} (base weights ${mb(m.baseWeights)}, activations ${mb(m.activations)}, ` +
      `gradient scratch ${mb(m.gradientScratch)}, LoRA ${mb(m.lora)}); process peak RSS so far ${mb(process.resourceUsage().maxRSS * 1024)}`,
  );
  if (torch && theirs.length === ours.length) {
    const reference = pooled(theirs);
    const wall = ours.map((r, i) => r.tokensPerSecond / theirs[i].tokensPerSecond);
    const cpu = ours.map((r, i) => r.tokensPerCpuSecond / theirs[i].tokensPerCpuSecond);
    console.log(
      `  PyTorch eager CPU (2 threads), alternating rounds in the same run: ${reference.tokensPerSecond.toFixed(0)} tok/s, ${reference.tokensPerCpuSecond.toFixed(0)} tok per CPU-s -> ` +
        `ratio camelid/PyTorch ${(total.tokensPerSecond / reference.tokensPerSecond).toFixed(2)} (wall; per round median ${median(wall).toFixed(2)}, ${range(wall)}), ` +
        `${(total.tokensPerCpuSecond / reference.tokensPerCpuSecond).toFixed(2)} (CPU time; per round median ${median(cpu).toFixed(2)}, ${range(cpu)})`,
    );
  } else console.log("  PyTorch not available in this run (install python3-torch to measure it)");
  console.log(`  against the issue's reference figure ${referenceFigures[name]} tok/s (idle machine): ratio ${(total.tokensPerSecond / referenceFigures[name]).toFixed(2)} (wall)`);
}
