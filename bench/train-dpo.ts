// One DPO training step of the engine, as `camelid train --method dpo` takes it: P pairs (2P sequences
// of T tokens, chosen and rejected sharing a prompt), the reference pass with the adapter disabled, the
// policy pass, trl's sigmoid loss and its backward through the policy, clipping and AdamW; LoRA r=8 on
// q,k,v,o, on the stories260K and stories15M shapes (random weights: speed does not depend on their
// values). Against PyTorch eager CPU (bench/train-dpo-pytorch.py: peft-style disabled adapter under
// no_grad for the reference, trl's concatenated forward) with the newest torch installed, in the same
// run, alternating rounds; memory per model (the engine's buffers, each process's peak RSS).
//   npx tsx bench/train-dpo.ts [--shape 260K|15M|all] [--seconds 40 (per side)] [--rounds 4] [--pairs 4]
//     [--python /usr/bin/python3 (another torch, e.g. Debian's 1.13; default: the newest found)] [--no-torch]
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { llamaConfig, type LlamaConfig } from "../src/engine/config.js";
import { allocateBaseWeights } from "../src/engine/model/base-weights.js";
import { LlamaModel } from "../src/engine/model/llama-model.js";
import { randomizeBaseWeights } from "../src/engine/model/random-init.js";
import { allLoraPairs } from "../src/engine/lora/lora-weights.js";
import { parseLoraConfig } from "../src/engine/lora/lora-config.js";
import { AdamW } from "../src/engine/optim/adamw.js";
import { clipGradientNorm } from "../src/engine/optim/clip.js";
import { SeededRandom } from "../src/random/seeded-random.js";
import { allocatePairBatch, dpoMicroBatch } from "../src/train/dpo-objective.js";
import { defaultDpoSettings } from "../src/train/export-preference-recipes.js";
import { argument, median } from "./measure.js";
import { alternateRounds, pythonWithNewestTorch, startTorchRounds } from "./torch-rounds.js";

const shapes: Record<string, LlamaConfig> = {
  "260K": llamaConfig({ vocabSize: 512, dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4 }),
  "15M": llamaConfig({ vocabSize: 32000, dim: 288, hiddenDim: 768, nLayers: 6, nHeads: 6, nKvHeads: 6 }),
};
const T = 256, PROMPT = 64, RANK = 8, ALPHA = 16;

interface Measurement {
  msPerStep: number;
  /** This process's CPU milliseconds per step: less sensitive to a busy shared machine. */
  cpuMsPerStep: number;
  steps: number;
  seconds: number;
}

function engineRun(config: LlamaConfig, P: number) {
  const weights = allocateBaseWeights(config);
  randomizeBaseWeights(config, weights, new SeededRandom(1), 0.02);
  const model = new LlamaModel(config, weights, { lora: parseLoraConfig({ rank: RANK, alpha: ALPHA, dropout: 0, targets: ["q", "k", "v", "o"] }), seed: 1 });
  const lora = model.lora!;
  const random = new SeededRandom(2);
  // B nonzero, as after some training: the policy and the reference differ
  for (const pair of allLoraPairs(lora)) for (let i = 0; i < pair.b.length; i++) pair.b[i] = random.uniform(-0.01, 0.01);
  const adamw = new AdamW(lora.params, lora.grads, { learningRate: 1e-4 });
  // each pair's two sequences share a PROMPT-token prompt; the answers (the rest) differ and count
  const batch = allocatePairBatch(P, T);
  const sequence = (prompt: Int32Array) => Int32Array.from({ length: T + 1 }, (_, t) => (t < PROMPT ? prompt[t] : Math.floor(random.next() * config.vocabSize)));
  for (let p = 0; p < P; p++) {
    const prompt = Int32Array.from({ length: PROMPT }, () => Math.floor(random.next() * config.vocabSize));
    for (const row of [p, P + p]) {
      const tokens = sequence(prompt);
      for (let t = 0; t < T; t++) {
        batch.tokens[row * T + t] = tokens[t];
        batch.targets[row * T + t] = tokens[t + 1];
        batch.lossMask[row * T + t] = t + 1 >= PROMPT ? 1 : 0;
      }
    }
  }
  const phases = { dpo: 0, optimizer: 0 };
  let steps = 0;
  const step = () => {
    const t0 = performance.now();
    model.zeroGradients();
    dpoMicroBatch(model, batch, P, defaultDpoSettings);
    const t1 = performance.now();
    clipGradientNorm(lora.grads, 1);
    adamw.update();
    phases.dpo += t1 - t0;
    phases.optimizer += performance.now() - t1;
    steps++;
  };
  step(); // warm-up: allocation and JIT
  phases.dpo = phases.optimizer = 0;
  steps = 0;
  return {
    phases,
    totalSteps: () => steps,
    memory: () => model.memoryBytes(),
    measure(seconds: number): Measurement {
      const start = performance.now(), cpuStart = process.cpuUsage(), first = steps;
      while (steps === first || (performance.now() - start < seconds * 1000 && steps - first < 1000)) step();
      const elapsed = performance.now() - start, cpu = process.cpuUsage(cpuStart);
      const done = steps - first;
      return { msPerStep: elapsed / done, cpuMsPerStep: (cpu.user + cpu.system) / 1000 / done, steps: done, seconds: elapsed / 1000 };
    },
  };
}

/** Milliseconds per step over all rounds together. */
function pooled(rounds: Measurement[]) {
  const steps = rounds.reduce((sum, r) => sum + r.steps, 0);
  const seconds = rounds.reduce((sum, r) => sum + r.seconds, 0);
  const cpuMs = rounds.reduce((sum, r) => sum + r.cpuMsPerStep * r.steps, 0);
  return { msPerStep: (1000 * seconds) / steps, cpuMsPerStep: cpuMs / steps, steps, seconds };
}
const range = (values: number[]) => `${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)}`;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

const selected = argument("shape", "all");
const seconds = Number(argument("seconds", "40"));
const roundCount = Math.max(1, Math.min(20, Number(argument("rounds", "4"))));
const P = Math.max(1, Number(argument("pairs", "4")));
const chosenPython = argument("python", "");
const python = process.argv.includes("--no-torch") ? null : chosenPython ? { python: chosenPython } : pythonWithNewestTorch();
const script = join(dirname(fileURLToPath(import.meta.url)), "train-dpo-pytorch.py");
for (const [name, config] of Object.entries(shapes)) {
  if (selected !== "all" && selected !== name) continue;
  const engine = engineRun(config, P);
  const torch = python ? await startTorchRounds<Measurement & { peakRssBytes: number }>(python.python, script, { ...config, pairs: P, T, promptLength: PROMPT, rank: RANK, alpha: ALPHA, beta: defaultDpoSettings.beta }) : null;
  const { ours, theirs } = await alternateRounds(roundCount, seconds, (s) => engine.measure(s), torch);
  const total = pooled(ours);
  const perStep = (ms: number) => (ms / engine.totalSteps()).toFixed(0);
  console.log(
    `stories${name} shape, DPO (sigmoid, beta ${defaultDpoSettings.beta}) LoRA r=${RANK} q,k,v,o, ${P} pairs x 2 x ${T} tokens (prompt ${PROMPT}): ` +
      `camelid ${total.msPerStep.toFixed(0)} ms/step, ${total.cpuMsPerStep.toFixed(0)} CPU-ms/step (${total.steps} steps in ${total.seconds.toFixed(1)} s over ${roundCount} rounds; ` +
      `per step reference + policy passes and backward ${perStep(engine.phases.dpo)} ms, optimizer ${perStep(engine.phases.optimizer)} ms)`,
  );
  const m = engine.memory();
  console.log(
    `  camelid memory: engine buffers ${mb(m.total)} (base weights ${mb(m.baseWeights)}, packed for the kernels ${mb(m.kernelWeights)}, activations ${mb(m.activations)}, gradient scratch ${mb(m.gradientScratch)}, LoRA ${mb(m.lora)}); ` +
      `process peak RSS so far ${mb(process.resourceUsage().maxRSS * 1024)}`,
  );
  if (torch && theirs.length === ours.length) {
    const reference = pooled(theirs);
    const wall = ours.map((r, i) => theirs[i].msPerStep / r.msPerStep);
    const cpu = ours.map((r, i) => theirs[i].cpuMsPerStep / r.cpuMsPerStep);
    console.log(
      `  PyTorch ${String(torch.ready.torch)} eager CPU (2 threads), alternating rounds in the same run: ${reference.msPerStep.toFixed(0)} ms/step, ${reference.cpuMsPerStep.toFixed(0)} CPU-ms/step, ` +
        `peak RSS ${mb(Math.max(...theirs.map((r) => r.peakRssBytes)))} -> speed-up camelid/PyTorch ${(reference.msPerStep / total.msPerStep).toFixed(2)}x (wall; per round median ${median(wall).toFixed(2)}, ${range(wall)}), ` +
        `${(reference.cpuMsPerStep / total.cpuMsPerStep).toFixed(2)}x (CPU time; per round median ${median(cpu).toFixed(2)}, ${range(cpu)})`,
    );
  } else console.log("  PyTorch not available in this run (python3 with torch: pip install torch)");
}
