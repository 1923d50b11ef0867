// Causal attention forward + backward of one layer on the training shapes (batch 8 x 256): the
// WebAssembly SIMD kernels in place (operands living in a shared WebAssembly memory, as the model's
// activations do in the SIMD matmul's memory) against the same kernels copying each batch element in and
// out of a private memory, and (with --js) the generated-JS kernels, measured in the same run with
// interleaved repetitions (medians), on one thread (CPU time: robust on a busy shared machine) and on
// two threads (wall time, what a training step sees); with the per-step figure of the model (one layer
// times its layer count). With --steps N, also N whole LoRA training steps per variant (alternating) of
// the model on that shape, with the attention calls timed inside them (a 15M step takes 3-20 s here).
//   npx tsx bench/engine-attention.ts [--shape 260K|15M|all] [--repetitions 7] [--js] [--steps 0]
import { llamaConfig, type LlamaConfig } from "../src/engine/config.js";
import type { AttentionShape } from "../src/engine/kernels/reference/attention.js";
import { createFastKernels, type KernelSet } from "../src/engine/kernels/kernel-set.js";
import { parseLoraConfig } from "../src/engine/lora/lora-config.js";
import { allocateBaseWeights } from "../src/engine/model/base-weights.js";
import { LlamaModel } from "../src/engine/model/llama-model.js";
import { randomizeBaseWeights } from "../src/engine/model/random-init.js";
import { attentionBackwardFast, attentionForwardFast } from "../src/engine/kernels/fast/attention-fast.js";
import { ParallelAttention } from "../src/engine/kernels/fast/parallel-attention.js";
import { simdAttentionApplies, SimdAttentionThread } from "../src/engine/kernels/fast/attention-simd.js";
import { ResidentAttention } from "../src/engine/kernels/fast/attention-resident.js";
import { KernelWorkspace } from "../src/engine/kernels/fast/workspace.js";
import { SeededRandom } from "../src/random/seeded-random.js";
import { argument, median, timed } from "./measure.js";

const shapes: Record<string, AttentionShape> = {
  "260K": { B: 8, T: 256, NH: 8, NKV: 4, HS: 8 },
  "15M": { B: 8, T: 256, NH: 6, NKV: 6, HS: 48 },
};
/** The models of bench/train-lora.ts with those attention shapes. */
const models: Record<string, LlamaConfig> = {
  "260K": llamaConfig({ vocabSize: 512, dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4 }),
  "15M": llamaConfig({ vocabSize: 32000, dim: 288, hiddenDim: 768, nLayers: 6, nHeads: 6, nKvHeads: 6 }),
};

const selected = argument("shape", "all");
const repetitions = Math.max(1, Math.min(50, Number(argument("repetitions", "7"))));
const steps = Math.max(0, Math.min(20, Number(argument("steps", "0"))));
const withJs = process.argv.includes("--js");
const simdThreads = new ParallelAttention();
const jsThreads = new ParallelAttention({ simd: false });
const oneThread = new SimdAttentionThread();
const fastKernels = createFastKernels();
const arena = new KernelWorkspace({ shared: true });
const resident = new ResidentAttention(arena);

for (const [name, shape] of Object.entries(shapes)) {
  if (selected !== "all" && selected !== name) continue;
  if (!simdAttentionApplies(shape) || !ResidentAttention.applies(shape)) {
    console.log(`stories${name} shape: the SIMD attention does not apply on this runtime`);
    continue;
  }
  const { B, T, NH, NKV, HS } = shape;
  const random = new SeededRandom(1);
  // every operand in the arena (a SharedArrayBuffer too, so the copying kernels take the same arrays)
  const placed = (size: number) => {
    const array = arena.allocate(size)!;
    for (let i = 0; i < size; i++) array[i] = random.uniform(-1, 1);
    return array;
  };
  const q = placed(B * T * NH * HS), k = placed(B * T * NKV * HS), v = placed(k.length), dout = placed(q.length);
  const out = placed(q.length), att = placed(B * NH * T * T);
  const dq = placed(q.length), dk = placed(k.length), dv = placed(k.length);
  const scratch = new Float32Array(T);
  const forwardAt = resident.addresses([out, att, q, k, v])!, backwardAt = resident.addresses([dq, dk, dv, dout, q, k, v, att])!;
  const variants: Record<string, { forward: () => void; backward: () => void }> = {
    ...(withJs
      ? {
          "JS, 1 thread": {
            forward: () => attentionForwardFast(out, att, q, k, v, shape),
            backward: () => attentionBackwardFast(dq, dk, dv, scratch, dout, q, k, v, att, shape),
          },
        }
      : {}),
    "copying, 1 thread": {
      forward: () => oneThread.forward(out, att, q, k, v, shape),
      backward: () => oneThread.backward(dq, dk, dv, dout, q, k, v, att, shape),
    },
    "in place, 1 thread": {
      forward: () => resident.forward(forwardAt, shape),
      backward: () => resident.backward(backwardAt, shape),
    },
    ...(withJs
      ? {
          "JS, 2 threads": {
            forward: () => jsThreads.forward(out, att, q, k, v, shape),
            backward: () => jsThreads.backward(dq, dk, dv, scratch, dout, q, k, v, att, shape),
          },
        }
      : {}),
    "copying, 2 threads": {
      forward: () => simdThreads.forward(out, att, q, k, v, shape),
      backward: () => simdThreads.backward(dq, dk, dv, scratch, dout, q, k, v, att, shape),
    },
    "in place, 2 threads": {
      forward: () => simdThreads.forwardResident(resident, forwardAt, shape),
      backward: () => simdThreads.backwardResident(resident, backwardAt, shape),
    },
  };
  const samples = new Map<string, { forward: { wall: number; cpu: number }[]; backward: { wall: number; cpu: number }[] }>();
  for (const label of Object.keys(variants)) samples.set(label, { forward: [], backward: [] });
  for (let rep = 0; rep <= repetitions; rep++) {
    for (const [label, variant] of Object.entries(variants)) {
      const forward = timed(variant.forward), backward = timed(variant.backward);
      if (rep === 0) continue; // warm-up: compilation and first touches
      samples.get(label)!.forward.push(forward);
      samples.get(label)!.backward.push(backward);
    }
  }
  const clockOf = (label: string) => (label.endsWith("1 thread") ? "cpu" : "wall");
  const figure = (label: string, pass: "forward" | "backward") => median(samples.get(label)![pass].map((s) => s[clockOf(label)]));
  const layers = models[name].nLayers;
  console.log(`stories${name} shape (B ${B}, T ${T}, ${NH} heads of ${HS}, ${NKV} kv heads), one layer, median of ${repetitions}; per step = ${layers} layers:`);
  for (const label of Object.keys(variants)) {
    const forward = figure(label, "forward"), backward = figure(label, "backward");
    console.log(`  ${label.padEnd(20)} forward ${forward.toFixed(1).padStart(6)} ms, backward ${backward.toFixed(1).padStart(6)} ms (${clockOf(label) === "cpu" ? "CPU time" : "wall"}); per step ${((forward + backward) * layers).toFixed(0).padStart(5)} ms`);
  }
  const ratio = (threads: string, pass?: "forward" | "backward") => {
    const total = (label: string) => (pass ? figure(label, pass) : figure(label, "forward") + figure(label, "backward"));
    return (total(`copying, ${threads}`) / total(`in place, ${threads}`)).toFixed(2);
  };
  console.log(`  in place over copying (same run): 1 thread (CPU time) forward ${ratio("1 thread", "forward")}x, backward ${ratio("1 thread", "backward")}x, both ${ratio("1 thread")}x; ` +
    `2 threads (wall) forward ${ratio("2 threads", "forward")}x, backward ${ratio("2 threads", "backward")}x, both ${ratio("2 threads")}x`);
}
/**
 * Whole training steps (forward, backward; LoRA r=8 on q,k,v,o as in bench/train-lora.ts) with the
 * attention copying or in place, both on two threads, alternating, the attention calls timed inside
 * each step. The model runs on the fast set as training does: its activations live in the SIMD
 * matmul's shared memory, registered with the attention, so the fast set's attention runs in place;
 * the copying variant takes the same arrays through the copying kernels.
 */
function measureSteps(name: string, shape: AttentionShape): void {
  const config = models[name];
  const weights = allocateBaseWeights(config);
  randomizeBaseWeights(config, weights, new SeededRandom(1), 0.02);
  let current: "copying" | "in place" = "copying";
  const spent = { forward: 0, backward: 0 };
  const kernels: KernelSet = {
    ...fastKernels,
    name: "fast, attention timed",
    attentionForward: (out, att, q, k, v, s) => {
      const start = performance.now();
      if (current === "in place") fastKernels.attentionForward(out, att, q, k, v, s);
      else simdThreads.forward(out, att, q, k, v, s);
      spent.forward += performance.now() - start;
    },
    attentionBackward: (dq, dk, dv, scratch, dout, q, k, v, att, s) => {
      const start = performance.now();
      if (current === "in place") fastKernels.attentionBackward(dq, dk, dv, scratch, dout, q, k, v, att, s);
      else simdThreads.backward(dq, dk, dv, scratch, dout, q, k, v, att, s);
      spent.backward += performance.now() - start;
    },
  };
  const model = new LlamaModel(config, weights, { kernels, lora: parseLoraConfig({ rank: 8, alpha: 16, dropout: 0, targets: ["q", "k", "v", "o"] }), seed: 1 });
  const random = new SeededRandom(2);
  const tokens = Int32Array.from({ length: shape.B * shape.T }, () => Math.floor(random.next() * config.vocabSize));
  const targets = Int32Array.from({ length: shape.B * shape.T }, () => Math.floor(random.next() * config.vocabSize));
  const results: Record<string, { step: number[]; forward: number[]; backward: number[] }> = { copying: { step: [], forward: [], backward: [] }, "in place": { step: [], forward: [], backward: [] } };
  const inPlaceBefore = ResidentAttention.callsInPlace;
  for (let step = 0; step <= steps; step++) {
    for (const variant of ["copying", "in place"] as const) {
      current = variant;
      spent.forward = spent.backward = 0;
      const start = performance.now();
      model.zeroGradients();
      model.forward({ tokens, targets }, shape.B, shape.T);
      model.backward();
      const elapsed = performance.now() - start;
      if (step === 0) continue; // warm-up: allocation and compilation
      results[variant].step.push(elapsed);
      results[variant].forward.push(spent.forward);
      results[variant].backward.push(spent.backward);
    }
  }
  console.log(`  whole training steps (forward + backward, LoRA r=8 q,k,v,o), median of ${steps} per variant, wall, attention on 2 threads (${ResidentAttention.callsInPlace - inPlaceBefore} of ${2 * config.nLayers * steps + 2 * config.nLayers} "in place" calls ran in place):`);
  for (const [variant, r] of Object.entries(results)) {
    console.log(`    ${variant.padEnd(8)} step ${median(r.step).toFixed(0).padStart(6)} ms, of which attention forward ${median(r.forward).toFixed(0).padStart(5)} ms + backward ${median(r.backward).toFixed(0).padStart(5)} ms`);
  }
  const attentionTotal = (variant: string) => median(results[variant].forward) + median(results[variant].backward);
  console.log(`    attention per step: copying ${attentionTotal("copying").toFixed(0)} ms -> in place ${attentionTotal("in place").toFixed(0)} ms (${(attentionTotal("copying") / attentionTotal("in place")).toFixed(2)}x, same run)`);
}

if (steps > 0) {
  for (const [name, shape] of Object.entries(shapes)) {
    if ((selected !== "all" && selected !== name) || !simdAttentionApplies(shape) || !ResidentAttention.applies(shape)) continue;
    console.log(`stories${name} model:`);
    measureSteps(name, shape);
  }
}
await Promise.all([simdThreads.close(), jsThreads.close()]);
