/**
 * Where the in-process engine loses against llama-bench, one layer at a time, in one run (1 sequence):
 *
 *   llama-bench     llama.cpp's tg test: one token per llama_decode, logits of it, no sampling, no JS
 *   raw decode      node-llama-cpp's addon: initBatch/addToBatch/decodeBatch, one token with logits per
 *                   step, no sampling (the closest thing to llama-bench's tg through the prebuilt binary)
 *   greedy          LlamaContextSequence.evaluate, temperature 0 (native argmax sampler)
 *   sampled         LlamaContextSequence.evaluate, llama.cpp's default chain (top-k 40, top-p 0.95,
 *                   min-p 0.05, temperature 0.8, seeded)
 *   camelid         the provider's doStream with the same settings (engine API, no HTTP): camelid's
 *                   per-token JS (byte detokenizer, stop strings, streaming, lockstep) on top
 *
 *   LLAMA_BIN_DIR=/work/llama-build/bin flock /work/bench.lock npx tsx bench/inproc-breakdown.ts [--model random-24m] [--tokens 128] [--repeats 5] [--threads 1] [--streams 8] [--sequences 32] [--context-size 512] [--split]
 *
 * With --streams S (or --split for one stream) it also splits each of camelid's steps into the decode, the sampling
 * jobs and the JavaScript to the next decode, and prints each thread's CPU per token. `UV_THREADPOOL_SIZE=1` in the
 * environment keeps node-llama-cpp's decodes on one libuv thread (camelid serve's --uv-threadpool-size 1).
 *
 * Variants run interleaved within each repeat; a figure is the median of the repeats. It also prints which
 * ggml CPU backend variant node-llama-cpp loaded (libggml-cpu-<variant>.so from /proc/self/maps).
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { benchModelPath } from "./bench-models.js";
import { argument, median } from "./measure.js";
import { getLlamaRuntime } from "../src/providers/local/llama-runtime.js";
import { createLocalModel } from "../src/providers/local/index.js";
import type { LlamaContext, Token } from "../src/providers/local/llama-runtime.js";
import { watchNativeBatches } from "../test/support/native-batch-watch.js";

const modelName = argument("model", "random-24m");
const tokens = Number(argument("tokens", "128"));
const repeats = Number(argument("repeats", "5"));
const threads = Number(argument("threads", "1"));
/** With --streams S (> 1): S sequences decoded together (raw: one S-token batch per step) and S concurrent camelid streams. */
const streams = Number(argument("streams", "1"));
/** The S-stream path (raw S-sequence batches, camelid's per-step split) also for one stream. */
const splitSteps = process.argv.includes("--split");
/** camelid's sequences (slots) for --streams: engine-parity serves with as many as its largest stream count (32). */
const slots = Number(argument("sequences", String(Math.max(streams, 32))));
/** Cells per sequence (engine-parity serves with max(128, tokens + 32), as its direct llama-server). */
const contextSize = Number(argument("context-size", "512"));
const binDir = argument("llama-bin-dir", process.env.LLAMA_BIN_DIR ?? resolve(import.meta.dirname, "../../llama-build/bin"));
const load = () => loadavg().map((value) => value.toFixed(1)).join(" ");
const say = (line: string) => process.stdout.write(`${line}\n`);

/** The addon's context methods the raw loop uses (node-llama-cpp internals, for this measurement only). */
interface AddonContext {
  initBatch(size: number): void;
  addToBatch(sequenceId: number, firstTokenSequenceIndex: number, tokens: Uint32Array, logitIndexes: Uint32Array): Uint32Array;
  decodeBatch(): Promise<void>;
  disposeSequence(sequenceId: number): void;
}

function llamaBench(modelPath: string): number | undefined {
  const bin = join(binDir, "llama-bench");
  const result = spawnSync(bin, ["-m", modelPath, "-t", String(threads), "-p", "0", "-n", String(tokens), "-r", "1", "-o", "json"], { encoding: "utf8" });
  if (result.status !== 0) return undefined;
  const rows = JSON.parse(result.stdout) as { n_gen: number; avg_ts: number }[];
  return rows.find((row) => row.n_gen > 0)?.avg_ts;
}

/** One token per decode with its logits, positions 0..tokens-1, on sequence id 0 (as llama-bench's tg). */
async function rawDecode(context: LlamaContext): Promise<number> {
  const addon = (context as unknown as { _ctx: AddonContext })._ctx;
  addon.disposeSequence(0);
  const logitIndex = Uint32Array.of(0);
  const started = performance.now();
  for (let position = 0; position < tokens; position++) {
    addon.initBatch(1);
    addon.addToBatch(0, position, Uint32Array.of(1 + (position * 7919) % 31000), logitIndex);
    await addon.decodeBatch();
  }
  const rate = (tokens / (performance.now() - started)) * 1000;
  addon.disposeSequence(0);
  return rate;
}

/** S sequences, one token each per llama_decode (ids 0..S-1, consecutive: one pass over the weights). */
async function rawBatchDecode(context: LlamaContext, count: number): Promise<number> {
  const addon = (context as unknown as { _ctx: AddonContext })._ctx;
  for (let id = 0; id < count; id++) addon.disposeSequence(id);
  const started = performance.now();
  for (let position = 0; position < tokens; position++) {
    addon.initBatch(count);
    for (let id = 0; id < count; id++) addon.addToBatch(id, position, Uint32Array.of(1 + ((position + id) * 7919) % 31000), Uint32Array.of(0));
    await addon.decodeBatch();
  }
  const rate = ((tokens * count) / (performance.now() - started)) * 1000;
  for (let id = 0; id < count; id++) addon.disposeSequence(id);
  return rate;
}

/**
 * Counts llama_decode calls and the sequences each carried, and splits each step's wall time into three
 * spans on the main thread's clock: the decode (the native promise, a libuv worker), from its end to the
 * end of the step's last sampling job (libuv workers, the main thread handing results over), and from
 * there to the next decode's start (JavaScript only: node-llama-cpp's evaluate loop and camelid's).
 */
interface BatchStats {
  decodes: number;
  sequences: number;
  histogram: Map<number, number>;
  decodeMs: number;
  samplingMs: number;
  javascriptMs: number;
  samplingJobs: number;
  /** Sum of each sampling job's own time (call to resolution); the jobs of a step overlap on libuv's pool. */
  samplingJobMs: number;
  /** Ends the current run of steps: the time until the next decode (another variant's turn) is no step's. */
  endRun(): void;
}

function observeBatches(context: LlamaContext): BatchStats {
  let decodeEnded: number | undefined, lastSampleEnded: number | undefined;
  const stats: BatchStats = {
    decodes: 0, sequences: 0, histogram: new Map(), decodeMs: 0, samplingMs: 0, javascriptMs: 0, samplingJobs: 0, samplingJobMs: 0,
    endRun: () => (decodeEnded = undefined),
  };
  const closeStep = (nextDecodeAt: number) => {
    if (decodeEnded === undefined) return;
    const sampled = lastSampleEnded !== undefined && lastSampleEnded > decodeEnded ? lastSampleEnded : decodeEnded;
    stats.samplingMs += sampled - decodeEnded;
    stats.javascriptMs += nextDecodeAt - sampled;
  };
  watchNativeBatches(context, {
    onDecode: (sequenceIds) => {
      stats.decodes++;
      stats.sequences += sequenceIds.length;
      stats.histogram.set(sequenceIds.length, (stats.histogram.get(sequenceIds.length) ?? 0) + 1);
      closeStep(performance.now());
      decodeEnded = undefined;
    },
    onDecodeTime: (ms) => {
      stats.decodeMs += ms;
      decodeEnded = performance.now();
    },
    onSampleTime: (ms) => {
      stats.samplingJobs++;
      stats.samplingJobMs += ms;
      lastSampleEnded = performance.now();
    },
  });
  return stats;
}

/** CPU milliseconds per thread name of this process (each thread's /proc/self/task/TID/stat; Linux only, else empty). */
function threadCpu(): Map<string, number> {
  const byName = new Map<string, number>();
  try {
    for (const tid of readdirSync("/proc/self/task")) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const name = tid === String(process.pid) ? "main" : stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
      byName.set(name, (byName.get(name) ?? 0) + ms);
    }
  } catch {
    // not Linux: no per-thread figures
  }
  return byName;
}

async function camelidStreams(model: ReturnType<typeof createLocalModel>, count: number, seed: number): Promise<number> {
  const started = performance.now();
  const totals = await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const { stream } = await model.doStream({ prompt: "Once upon a time", maxTokens: tokens, temperature: 0.8, seed: seed * 100 + index });
      let completion = 0;
      for await (const part of stream) if (part.type === "finish") completion = part.usage.completionTokens;
      return completion;
    }),
  );
  return (totals.reduce((sum, value) => sum + value, 0) / (performance.now() - started)) * 1000;
}

async function sequenceDecode(context: LlamaContext, prompt: Token[], sampled: boolean, seed: number): Promise<number> {
  const sequence = context.getSequence();
  const options = sampled ? { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, seed, yieldEogToken: true } : { temperature: 0, yieldEogToken: true };
  let generated = 0, started = 0;
  for await (const token of sequence.evaluate(prompt, options)) {
    void token;
    // Timed from the first token: prompt evaluation is not decode.
    if (generated === 0) started = performance.now();
    if (++generated > tokens) break;
  }
  const rate = (tokens / (performance.now() - started)) * 1000;
  await sequence.dispose();
  return rate;
}

async function camelidDecode(model: ReturnType<typeof createLocalModel>, seed: number): Promise<number> {
  const { stream } = await model.doStream({ prompt: "Once upon a time", maxTokens: tokens + 1, temperature: 0.8, seed, stop: ["\n\n\n\n"] });
  let chunks = 0, started = 0, completion = 0;
  for await (const part of stream) {
    if (part.type === "text-delta" && chunks++ === 0) started = performance.now();
    if (part.type === "finish") completion = part.usage.completionTokens;
  }
  return ((completion - 1) / (performance.now() - started)) * 1000;
}

async function main(): Promise<void> {
  const modelPath = await benchModelPath(modelName);
  say(`# in-process breakdown: ${modelName}, ${threads} thread(s), ${tokens} tokens, ${repeats} repeats (median); load average ${load()}`);
  const llama = await getLlamaRuntime();
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  const context = await model.createContext({ contextSize, sequences: 1, threads, flashAttention: false });
  const variants = readFileSync("/proc/self/maps", "utf8").match(/libggml-cpu[^/\s]*\.so/g) ?? [];
  // "localBuild" after `npx --no node-llama-cpp source download --gpu false` (README, "Performance"), else "prebuilt".
  say(`node-llama-cpp binary: ${llama.buildType}; ggml CPU backend loaded: ${[...new Set(variants)].join(", ") || "none found"}`);
  const camelid = createLocalModel({ modelPath, threads, sequences: streams > 1 ? slots : 1, contextSize });
  const camelidState = await camelid.load();
  if (streams > 1 || splitSteps) return await manyStreams(context.model, camelid, camelidState.context);
  const prompt = model.tokenize("Once upon a time");
  await rawDecode(context); // warm-up: compute buffers
  const samples = new Map<string, number[]>();
  const add = (key: string, value: number | undefined) => value !== undefined && samples.set(key, [...(samples.get(key) ?? []), value]);
  for (let repeat = 0; repeat < repeats; repeat++) {
    add("llama-bench", llamaBench(modelPath));
    add("raw decode", await rawDecode(context));
    add("greedy", await sequenceDecode(context, prompt, false, repeat));
    add("sampled", await sequenceDecode(context, prompt, true, repeat));
    add("camelid", await camelidDecode(camelid, repeat));
  }
  const bench = samples.has("llama-bench") ? median(samples.get("llama-bench")!) : undefined;
  for (const [key, values] of samples) {
    const value = median(values);
    say(`${key.padEnd(12)} ${value.toFixed(1).padStart(7)} tok/s${bench ? `  ${(value / bench).toFixed(2)}x llama-bench` : ""}  (${values.map((v) => v.toFixed(0)).join(" ")})`);
  }
  say(`load average at the end ${load()}`);
  await camelid.dispose();
  await context.dispose();
  await model.dispose();
}

async function manyStreams(model: LlamaContext["model"], camelid: ReturnType<typeof createLocalModel>, camelidContext: LlamaContext): Promise<void> {
  const context = await model.createContext({ contextSize, sequences: streams, threads, flashAttention: false });
  await rawBatchDecode(context, streams); // warm-up
  const batches = observeBatches(camelidContext);
  await camelidStreams(camelid, streams, 999); // warm-up
  batches.endRun();
  batches.decodes = batches.sequences = batches.samplingJobs = batches.samplingJobMs = 0;
  batches.decodeMs = batches.samplingMs = batches.javascriptMs = 0;
  batches.histogram.clear();
  let camelidMs = 0, camelidTokens = 0;
  const cpuBefore = new Map<string, number>();
  const samples = new Map<string, number[]>();
  const add = (key: string, value: number) => samples.set(key, [...(samples.get(key) ?? []), value]);
  for (let repeat = 0; repeat < repeats; repeat++) {
    add(`raw ${streams}-sequence batches`, await rawBatchDecode(context, streams));
    for (const [name, ms] of threadCpu()) cpuBefore.set(name, (cpuBefore.get(name) ?? 0) - ms);
    const started = performance.now();
    const rate = await camelidStreams(camelid, streams, repeat);
    batches.endRun();
    camelidMs += performance.now() - started;
    camelidTokens += (rate * (performance.now() - started)) / 1000;
    for (const [name, ms] of threadCpu()) cpuBefore.set(name, (cpuBefore.get(name) ?? 0) + ms);
    add(`camelid ${streams} streams`, rate);
  }
  for (const [key, values] of samples) say(`${key.padEnd(28)} ${median(values).toFixed(1).padStart(7)} tok/s  (${values.map((v) => v.toFixed(0)).join(" ")})`);
  const histogram = [...batches.histogram].sort((a, b) => b[0] - a[0]).map(([size, count]) => `${size}:${count}`).join(" ");
  say(`camelid: ${batches.decodes} llama_decode calls, ${(batches.sequences / Math.max(1, batches.decodes)).toFixed(2)} sequences per decode on average (sequences:decodes ${histogram})`);
  const perStep = (ms: number) => (ms / Math.max(1, batches.decodes)).toFixed(3);
  say(
    `camelid per step (${batches.decodes} steps, ${perStep(camelidMs)} ms wall): decode ${perStep(batches.decodeMs)} ms, ` +
      `sampling (${(batches.samplingJobs / Math.max(1, batches.decodes)).toFixed(2)} jobs, ${(batches.samplingJobMs / Math.max(1, batches.samplingJobs)).toFixed(3)} ms each) ${perStep(batches.samplingMs)} ms, ` +
      `JavaScript to the next decode ${perStep(batches.javascriptMs)} ms`,
  );
  const cpu = [...cpuBefore].filter(([, ms]) => ms > 0).sort((a, b) => b[1] - a[1]);
  say(`camelid CPU per token by thread: ${cpu.map(([name, ms]) => `${name} ${(ms / Math.max(1, camelidTokens)).toFixed(3)} ms`).join(", ")}`);
  say(`load average at the end ${load()}`);
  await context.dispose();
  await camelid.dispose();
}

await main();
