// Softmax cross-entropy (forward + backward over [rows, vocabulary] logits) and SwiGLU (forward +
// backward over [rows, hidden]) on the training shapes: the WebAssembly SIMD kernels against the
// reference JS kernels (the oracle), measured in the same run with interleaved repetitions (medians),
// on one thread (CPU time: robust on a busy shared machine) and on two threads (wall time, what a
// training step sees). The first repetition is a warm-up and is not counted. A last line gives the
// ceiling without copies: the same SIMD cross-entropy on logits that already live in the kernel's
// WebAssembly memory (what keeping activations in one engine-wide WebAssembly memory would give), and
// what the model gets: the cross-entropy in place on logits in a registered shared memory (one and two
// threads) against the copying kernels, same run.
// Then RMSNorm and RoPE: reference, SIMD copying (one and two threads), SIMD in place in a shared memory
// (one and two threads).
// About 20 s for the default 15M shape.
//   npx tsx bench/engine-pointwise.ts [--shape 260K|15M|all] [--repetitions 5] [--rows 2048]
import { referenceKernels, type KernelSet } from "../src/engine/kernels/kernel-set.js";
import { ropeTables } from "../src/engine/kernels/reference/rope.js";
import { KernelWorkspace } from "../src/engine/kernels/fast/workspace.js";
import { ParallelPointwise } from "../src/engine/kernels/fast/parallel-pointwise.js";
import { PointwiseSimd } from "../src/engine/kernels/fast/pointwise-runner.js";
import { buildPointwiseModule, type PointwiseExports } from "../src/engine/kernels/fast/pointwise-simd.js";
import { SeededRandom } from "../src/random/seeded-random.js";
import { argument, median, sharedRandom, timed } from "./measure.js";

const shapes: Record<string, { vocabSize: number; hiddenDim: number; nLayers: number; dim: number; nHeads: number }> = {
  "260K": { vocabSize: 512, hiddenDim: 172, nLayers: 5, dim: 64, nHeads: 8 },
  "15M": { vocabSize: 32000, hiddenDim: 768, nLayers: 6, dim: 288, nHeads: 6 },
};

type Kernels = Pick<KernelSet, "crossEntropyForward" | "crossEntropyBackward" | "crossEntropyForwardBackward" | "swigluForward" | "swigluBackward" | "rmsnormForward" | "rmsnormBackward" | "ropeForward" | "ropeBackward">;
const bound = (k: PointwiseSimd): Kernels => ({
  crossEntropyForward: (...a) => k.crossEntropyForward(...a),
  crossEntropyForwardBackward: (...a) => k.crossEntropyForwardBackward(...a),
  crossEntropyBackward: (...a) => k.crossEntropyBackward(...a),
  swigluForward: (...a) => k.swigluForward(...a),
  swigluBackward: (...a) => k.swigluBackward(...a),
  rmsnormForward: (...a) => k.rmsnormForward(...a),
  rmsnormBackward: (...a) => k.rmsnormBackward(...a),
  ropeForward: (...a) => k.ropeForward(...a),
  ropeBackward: (...a) => k.ropeBackward(...a),
});

const selected = argument("shape", "15M");
const repetitions = Math.max(1, Math.min(50, Number(argument("repetitions", "5"))));
const rows = Math.max(1, Math.min(2048, Number(argument("rows", "2048"))));
const twoThreads = new ParallelPointwise();
const variants: Record<string, Kernels> = {
  "reference, 1 thread": referenceKernels,
  "SIMD, 1 thread": bound(new PointwiseSimd()),
  "SIMD, 2 threads": bound(twoThreads),
};
// the in-place kernels, on logits in a shared memory registered with them (the SIMD matmul's, in training)
const arena = new KernelWorkspace({ shared: true, maxPages: 16384 });
const inPlaceOne = new PointwiseSimd(), inPlaceTwo = new ParallelPointwise();
inPlaceOne.useResidentMemory(arena);
inPlaceTwo.useResidentMemory(arena);
const inPlaceVariants: Record<string, Kernels> = { "SIMD in place, 1 thread": bound(inPlaceOne), "SIMD in place, 2 threads": bound(inPlaceTwo) };

for (const [name, { vocabSize: V, hiddenDim: H, nLayers, dim, nHeads }] of Object.entries(shapes)) {
  if (selected !== "all" && selected !== name) continue;
  const N = rows, random = new SeededRandom(1);
  const logits = sharedRandom(N * V, random, 8), work = sharedRandom(N * V, random, 0);
  const residentWork = arena.allocate(N * V);
  if (!residentWork) throw new Error("no room for the logits in the shared arena");
  const targets = Int32Array.from({ length: N }, () => Math.floor(random.next() * V));
  const mask = new Uint8Array(N).fill(1), losses = new Float32Array(N);
  const gate = sharedRandom(N * H, random, 4), up = sharedRandom(N * H, random, 1), hidden = sharedRandom(N * H, random, 1);
  const dgate = sharedRandom(N * H, random, 0), dup = sharedRandom(N * H, random, 0), dhidden = sharedRandom(N * H, random, 1);
  const crossEntropyPasses = (work: Float32Array) => ({
    "cross-entropy forward": (k: Kernels) => k.crossEntropyForward(losses, work, work, targets, mask, N, V),
    "cross-entropy backward": (k: Kernels) => k.crossEntropyBackward(work, work, targets, mask, N, V),
    "cross-entropy fused": (k: Kernels) => k.crossEntropyForwardBackward(losses, work, work, targets, mask, N, V),
  });
  const inPlacePasses = crossEntropyPasses(residentWork);
  const passes = {
    ...crossEntropyPasses(work),
    "SwiGLU forward": (k: Kernels) => k.swigluForward(hidden, gate, up, N * H),
    "SwiGLU backward": (k: Kernels) => k.swigluBackward(dgate, dup, dhidden, gate, up, N * H),
  };
  type Pass = keyof typeof passes;
  const samples = new Map<string, { wall: number; cpu: number }[]>();
  for (let rep = 0; rep <= repetitions; rep++) {
    for (const [label, kernels] of Object.entries(variants)) {
      for (const [pass, run] of Object.entries(passes)) {
        // the forward overwrites its input with probabilities, the backward with gradients
        if (pass === "cross-entropy forward" || pass === "cross-entropy fused") work.set(logits);
        const sample = timed(() => run(kernels));
        if (rep === 0) continue; // warm-up: compilation and first touches
        const key = `${label}|${pass}`;
        samples.set(key, [...(samples.get(key) ?? []), sample]);
      }
    }
    for (const [label, kernels] of Object.entries(inPlaceVariants)) {
      for (const [pass, run] of Object.entries(inPlacePasses)) {
        if (pass === "cross-entropy forward" || pass === "cross-entropy fused") residentWork.set(logits);
        const callsBefore = PointwiseSimd.callsInPlace;
        const sample = timed(() => run(kernels));
        if (PointwiseSimd.callsInPlace === callsBefore) throw new Error(`${label} ${pass} did not run in place`);
        if (rep === 0) continue;
        const key = `${label}|${pass}`;
        samples.set(key, [...(samples.get(key) ?? []), sample]);
      }
    }
  }
  const figure = (label: string, pass: Pass) => median(samples.get(`${label}|${pass}`)!.map((s) => (label.endsWith("1 thread") ? s.cpu : s.wall)));
  console.log(`stories${name} shape: cross-entropy over [${N}, ${V}], SwiGLU over [${N}, ${H}] (one layer of ${nLayers}); median of ${repetitions}, ms:`);
  for (const label of Object.keys(variants)) {
    const clock = label.endsWith("1 thread") ? "CPU time" : "wall";
    const cells = (Object.keys(passes) as Pass[]).map((pass) => `${pass} ${figure(label, pass).toFixed(1)}`);
    console.log(`  ${label.padEnd(20)} ${cells.join(", ")} (${clock})`);
  }
  const perStep = (label: string) => figure(label, "cross-entropy forward") + figure(label, "cross-entropy backward") + nLayers * (figure(label, "SwiGLU forward") + figure(label, "SwiGLU backward"));
  const reference = perStep("reference, 1 thread");
  console.log(`  per training step (cross-entropy + ${nLayers} SwiGLU layers): reference ${reference.toFixed(0)} ms (CPU), SIMD 1 thread ${perStep("SIMD, 1 thread").toFixed(0)} ms (CPU, ${(reference / perStep("SIMD, 1 thread")).toFixed(1)}x), ` +
    `SIMD 2 threads ${perStep("SIMD, 2 threads").toFixed(0)} ms (wall, ${(reference / perStep("SIMD, 2 threads")).toFixed(1)}x)`);
  const crossEntropy = (label: string) => figure(label, "cross-entropy forward") + figure(label, "cross-entropy backward");
  console.log(`  cross-entropy forward + backward: reference ${crossEntropy("reference, 1 thread").toFixed(0)} ms, SIMD 1 thread ${crossEntropy("SIMD, 1 thread").toFixed(0)} ms (${(crossEntropy("reference, 1 thread") / crossEntropy("SIMD, 1 thread")).toFixed(1)}x), ` +
    `SIMD 2 threads ${crossEntropy("SIMD, 2 threads").toFixed(0)} ms wall`);
  console.log(`  fused into one pass (crossEntropyForwardBackward, what a training step runs): SIMD 1 thread ${figure("SIMD, 1 thread", "cross-entropy fused").toFixed(0)} ms, ` +
    `SIMD 2 threads ${figure("SIMD, 2 threads", "cross-entropy fused").toFixed(0)} ms wall`);
  const fused = (label: string) => figure(label, "cross-entropy fused").toFixed(1);
  const forwardBackward = (label: string) => crossEntropy(label).toFixed(1);
  console.log(`  in place on logits in a registered shared memory, fused: 1 thread ${fused("SIMD, 1 thread")} -> ${fused("SIMD in place, 1 thread")} ms (CPU), ` +
    `2 threads ${fused("SIMD, 2 threads")} -> ${fused("SIMD in place, 2 threads")} ms (wall); forward + backward: 1 thread ${forwardBackward("SIMD, 1 thread")} -> ` +
    `${forwardBackward("SIMD in place, 1 thread")} ms, 2 threads ${forwardBackward("SIMD, 2 threads")} -> ${forwardBackward("SIMD in place, 2 threads")} ms`);
  const inPlace = crossEntropyInPlace(logits, N, V, repetitions);
  console.log(`  ceiling without copies (logits already in WebAssembly memory, 1 thread CPU time): cross-entropy forward + backward ${inPlace.toFixed(0)} ms ` +
    `(the copies through the kernel's scratch cost ${(crossEntropy("SIMD, 1 thread") - inPlace).toFixed(0)} ms of ${crossEntropy("SIMD, 1 thread").toFixed(0)})`);
  normRopeFigures(N, dim, nHeads, nLayers);
}

/**
 * RMSNorm and RoPE over [N, dim] (B x T = N, T up to 256): the reference, the SIMD kernels copying
 * through their scratch (one and two threads), and the SIMD kernels in place on operands in a
 * registered shared memory (what the model gets when its activations live in the matmul's memory).
 */
function normRopeFigures(N: number, C: number, nHeads: number, nLayers: number): void {
  const T = Math.min(256, N), B = Math.floor(N / T), headSize = C / nHeads, random = new SeededRandom(2);
  const memory = new WebAssembly.Memory({ initial: Math.ceil((6 * N * C + 2 * N + T * headSize + 4096) * 4 / 65536) + 1, maximum: 32768, shared: true });
  let next = 64;
  const take = (floats: number) => {
    const view = new Float32Array(memory.buffer, next, floats);
    next += Math.ceil((floats + 1) / 4) * 16;
    return view;
  };
  const resident = { memory, maxPages: 32768, addressOf: (array: Float32Array) => (array.buffer === memory.buffer ? array.byteOffset : -1), allocate: take };
  const inPlace = new PointwiseSimd(), inPlaceTwoThreads = new ParallelPointwise();
  inPlace.useResidentMemory(resident);
  inPlaceTwoThreads.useResidentMemory(resident);
  const inp = take(N * C), out = take(N * C), dinp = take(N * C), dout = take(N * C), rstd = take(N);
  const cos = take((T * headSize) / 2), sin = take((T * headSize) / 2);
  for (let i = 0; i < N * C; i++) (inp[i] = random.uniform(-2, 2)), (dout[i] = random.uniform(-1, 1));
  ropeTables(cos, sin, T, headSize, 10000, 1);
  const weight = Float32Array.from({ length: C }, () => random.uniform(0.5, 1.5));
  type NormRope = Pick<KernelSet, "rmsnormForward" | "rmsnormBackward" | "ropeForward" | "ropeBackward">;
  const kernels: Record<string, NormRope> = { ...variants, "SIMD in place, 1 thread": inPlace, "SIMD in place, 2 threads": inPlaceTwoThreads };
  const passes: Record<string, [perStep: number, run: (k: NormRope) => void]> = {
    "RMSNorm forward": [2 * nLayers + 1, (k) => k.rmsnormForward(out, rstd, inp, weight, N, C, 1e-5)],
    "RMSNorm backward": [2 * nLayers, (k) => k.rmsnormBackward(dinp, null, dout, inp, weight, rstd, N, C)],
    "RoPE forward": [2 * nLayers, (k) => k.ropeForward(out, out, cos, sin, B, T, nHeads, headSize, headSize)],
    "RoPE backward": [2 * nLayers, (k) => k.ropeBackward(out, out, cos, sin, B, T, nHeads, headSize, headSize)],
  };
  const samples = new Map<string, number[]>();
  for (let rep = 0; rep <= repetitions; rep++) {
    for (const [label, set] of Object.entries(kernels)) {
      for (const [pass, [, run]] of Object.entries(passes)) {
        const { wall, cpu } = timed(() => run(set));
        if (rep > 0) samples.set(`${label}|${pass}`, [...(samples.get(`${label}|${pass}`) ?? []), label.endsWith("1 thread") ? cpu : wall]);
      }
    }
  }
  console.log(`  RMSNorm over [${N}, ${C}], RoPE over [${B}, ${T}, ${nHeads}, ${headSize}]; median ms per call (CPU time on 1 thread, wall on 2):`);
  const reference = Object.entries(passes).reduce((sum, [pass, [count]]) => sum + count * median(samples.get(`reference, 1 thread|${pass}`)!), 0);
  for (const label of Object.keys(kernels)) {
    const perStep = Object.entries(passes).reduce((sum, [pass, [count]]) => sum + count * median(samples.get(`${label}|${pass}`)!), 0);
    const cells = Object.keys(passes).map((pass) => `${pass} ${median(samples.get(`${label}|${pass}`)!).toFixed(2)}`);
    console.log(`  ${label.padEnd(24)} ${cells.join(", ")}; per training step ${perStep.toFixed(1)} ms (${(reference / perStep).toFixed(1)}x the reference)`);
  }
}

/** Median CPU ms of softmax + gradient scaling run in place on every row of logits held in the module's own memory. */
function crossEntropyInPlace(logits: Float32Array, N: number, V: number, repetitions: number): number {
  if (V % 16 !== 0) return Number.NaN; // rows must be whole 16-float blocks in place
  const base = 65536;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((base + N * V * 4) / 65536) });
  const kernels = new WebAssembly.Instance(new WebAssembly.Module(buildPointwiseModule()), { env: { memory } }).exports as unknown as PointwiseExports;
  const rows = new Float32Array(memory.buffer, base, N * V);
  const times: number[] = [];
  for (let rep = 0; rep <= repetitions; rep++) {
    rows.set(logits);
    const { cpu } = timed(() => {
      for (let n = 0; n < N; n++) kernels.softmax(base + n * V * 4, V * 4, 0, 1);
      for (let n = 0; n < N; n++) kernels.scale(base + n * V * 4, V * 4, 1 / N);
    });
    if (rep > 0) times.push(cpu);
  }
  return median(times);
}
await Promise.all([twoThreads.close(), inPlaceTwo.close()]);
