// Causal attention forward + backward of one layer on the training shapes (batch 8 x 256): the
// WebAssembly SIMD kernels against the previous generated-JS kernels, measured in the same run with
// interleaved repetitions (medians), on one thread (CPU time: robust on a busy shared machine) and on
// two threads (wall time, what a training step sees).
//   npx tsx bench/engine-attention.ts [--shape 260K|15M|all] [--repetitions 7]
import type { AttentionShape } from "../src/engine/kernels/attention.js";
import { attentionBackwardFast, attentionForwardFast } from "../src/engine/kernels/attention-fast.js";
import { ParallelAttention } from "../src/engine/kernels/parallel-attention.js";
import { simdAttentionApplies, SimdAttentionThread } from "../src/engine/kernels/wasm/attention-simd.js";
import { SeededRandom } from "../src/engine/random.js";

const shapes: Record<string, AttentionShape> = {
  "260K": { B: 8, T: 256, NH: 8, NKV: 4, HS: 8 },
  "15M": { B: 8, T: 256, NH: 6, NKV: 6, HS: 48 },
};

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

const shared = (size: number, random: SeededRandom) => {
  const array = new Float32Array(new SharedArrayBuffer(size * 4));
  for (let i = 0; i < size; i++) array[i] = random.uniform(-1, 1);
  return array;
};

const median = (values: number[]) => values.slice().sort((a, b) => a - b)[values.length >> 1];

/** Milliseconds of wall and of this process's CPU time for one call of run. */
function timed(run: () => void): { wall: number; cpu: number } {
  const cpuStart = process.cpuUsage(), start = performance.now();
  run();
  const wall = performance.now() - start, cpu = process.cpuUsage(cpuStart);
  return { wall, cpu: (cpu.user + cpu.system) / 1000 };
}

const selected = argument("shape", "all");
const repetitions = Math.max(1, Math.min(50, Number(argument("repetitions", "7"))));
const simdThreads = new ParallelAttention();
const jsThreads = new ParallelAttention({ simd: false });
const oneThread = new SimdAttentionThread();

for (const [name, shape] of Object.entries(shapes)) {
  if (selected !== "all" && selected !== name) continue;
  if (!simdAttentionApplies(shape)) {
    console.log(`stories${name} shape: the SIMD attention does not apply on this runtime`);
    continue;
  }
  const { B, T, NH, NKV, HS } = shape;
  const random = new SeededRandom(1);
  const q = shared(B * T * NH * HS, random), k = shared(B * T * NKV * HS, random), v = shared(k.length, random), dout = shared(q.length, random);
  const out = shared(q.length, random), att = shared(B * NH * T * T, random);
  const dq = shared(q.length, random), dk = shared(k.length, random), dv = shared(k.length, random);
  const scratch = new Float32Array(T);
  const variants = {
    "JS, 1 thread": {
      forward: () => attentionForwardFast(out, att, q, k, v, shape),
      backward: () => attentionBackwardFast(dq, dk, dv, scratch, dout, q, k, v, att, shape),
    },
    "SIMD, 1 thread": {
      forward: () => oneThread.forward(out, att, q, k, v, shape),
      backward: () => oneThread.backward(dq, dk, dv, dout, q, k, v, att, shape),
    },
    "JS, 2 threads": {
      forward: () => jsThreads.forward(out, att, q, k, v, shape),
      backward: () => jsThreads.backward(dq, dk, dv, scratch, dout, q, k, v, att, shape),
    },
    "SIMD, 2 threads": {
      forward: () => simdThreads.forward(out, att, q, k, v, shape),
      backward: () => simdThreads.backward(dq, dk, dv, scratch, dout, q, k, v, att, shape),
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
  const figure = (label: string, pass: "forward" | "backward", clock: "wall" | "cpu") => median(samples.get(label)![pass].map((s) => s[clock]));
  console.log(`stories${name} shape (B ${B}, T ${T}, ${NH} heads of ${HS}, ${NKV} kv heads), one layer, median of ${repetitions}:`);
  for (const label of Object.keys(variants)) {
    const clock = label.endsWith("1 thread") ? "cpu" : "wall";
    console.log(`  ${label.padEnd(16)} forward ${figure(label, "forward", clock).toFixed(1).padStart(7)} ms, backward ${figure(label, "backward", clock).toFixed(1).padStart(7)} ms (${clock === "cpu" ? "CPU time" : "wall"})`);
  }
  const ratio = (pass: "forward" | "backward", threads: string, clock: "wall" | "cpu") => (figure(`JS, ${threads}`, pass, clock) / figure(`SIMD, ${threads}`, pass, clock)).toFixed(2);
  console.log(`  SIMD speed-up over the JS kernels: 1 thread (CPU time) forward ${ratio("forward", "1 thread", "cpu")}x, backward ${ratio("backward", "1 thread", "cpu")}x; ` +
    `2 threads (wall) forward ${ratio("forward", "2 threads", "wall")}x, backward ${ratio("backward", "2 threads", "wall")}x`);
}
await Promise.all([simdThreads.close(), jsThreads.close()]);
