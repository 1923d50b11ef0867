/**
 * What one decoded token costs node-llama-cpp at a given thread count: wall time, this process's CPU
 * time, context switches, and the threads that exist while it decodes. Run it under strace to count
 * the threads ggml creates per token:
 *
 *   npx tsx bench/threads-probe.ts --model random-24m --threads 2 --tokens 64
 *   strace -f -qq -e trace=clone,clone3,access,faccessat,faccessat2 -o /tmp/clones node --import tsx bench/threads-probe.ts --threads 2 --tokens 64 --marker
 *
 * With `--marker` the decode is bracketed by access() calls on two paths that do not exist
 * (/camelid-probe/decode-start, /camelid-probe/decode-end; add `-e trace=clone,clone3,access,faccessat,faccessat2`),
 * so the clone() calls between them in the strace log are the decode's own. bench/engine-parity.ts
 * runs this both ways and prints clones per token; the README's performance section explains the figures.
 */
import { accessSync, readdirSync } from "node:fs";
import { argument } from "./measure.js";
import { benchModelPath } from "./bench-models.js";
import { getLlamaRuntime } from "../src/providers/local/llama-runtime.js";

const threads = Number(argument("threads", "1"));
const tokens = Number(argument("tokens", "64"));
const modelName = argument("model", "random-24m");
const marker = process.argv.includes("--marker");

function mark(text: string): void {
  if (!marker) return;
  try {
    accessSync(`/camelid-probe/${text}`);
  } catch {
    // ENOENT is the point: the call shows in strace's log and costs nothing else.
  }
}

const llama = await getLlamaRuntime();
const model = await llama.loadModel({ modelPath: await benchModelPath(modelName), gpuLayers: 0 });
const context = await model.createContext({ contextSize: 256, sequences: 1, threads, flashAttention: false });
const prompt = model.tokenize("Once upon a time");
// Warm-up, one token (evaluate() generates until told to stop): the first decode allocates the compute buffers.
const warm = context.getSequence();
for await (const token of warm.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
  void token;
  break;
}
await warm.dispose();

const sequence = context.getSequence();
let peakThreads = 0;
const sampler = setInterval(() => (peakThreads = Math.max(peakThreads, readdirSync("/proc/self/task").length)), 2);
const before = process.resourceUsage();
const startedAt = performance.now();
mark("decode-start");
let generated = 0;
// Greedy decoding of random weights can hit end-of-text early; the token is fed back regardless.
for await (const token of sequence.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
  void token;
  if (++generated >= tokens) break;
}
mark("decode-end");
const wallMs = performance.now() - startedAt;
const after = process.resourceUsage();
clearInterval(sampler);
const cpuMs = (after.userCPUTime + after.systemCPUTime - before.userCPUTime - before.systemCPUTime) / 1000;
process.stdout.write(
  `${JSON.stringify({
    threads,
    tokens: generated,
    tokensPerSecond: (generated / wallMs) * 1000,
    cpuMsPerToken: cpuMs / generated,
    wallMsPerToken: wallMs / generated,
    voluntarySwitchesPerToken: (after.voluntaryContextSwitches - before.voluntaryContextSwitches) / generated,
    involuntarySwitchesPerToken: (after.involuntaryContextSwitches - before.involuntaryContextSwitches) / generated,
    peakThreads,
  })}\n`,
);
await sequence.dispose();
await context.dispose();
await model.dispose();
