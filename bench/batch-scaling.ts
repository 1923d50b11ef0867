/**
 * What batching gives: aggregate decode tokens/s of N concurrent sequences against one, for
 * node-llama-cpp's raw sequence API (the reference) and for our local provider, on the same loaded
 * weights, at each thread count, runs interleaved in one process so machine load hits all alike.
 *
 *   npx tsx bench/batch-scaling.ts --model random-110m-q8_0 [--threads 1,2] [--streams 8] [--tokens 48] [--repeats 3] [--flash-attention]
 *
 * Models: see bench/bench-models.ts (random ones are written on first use). For each side the ratio
 * is reported both at the same thread count and "best vs best": the single stream at its fastest
 * thread count against N streams at theirs. The batch sizes llama.cpp actually decoded are counted
 * (by watching the context's batch calls), because a loop that lets some sequences miss a batch
 * shows up there before it shows up in tokens/s.
 */
import { cpus, loadavg } from "node:os";
import { benchModelPath } from "./bench-models.js";
import { createLocalModel, spread } from "../src/providers/local/index.js";
import { acquireModel } from "../src/providers/local/model-cache.js";
import type { LlamaContext, LlamaContextSequence, LlamaModel, Token } from "../src/providers/local/llama-runtime.js";
import type { LocalLanguageModel } from "../src/providers/local/local-language-model.js";
import type { StreamPart } from "../src/spec/index.js";
import { watchNativeBatches } from "../test/support/native-batch-watch.js";

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

const modelName = flag("model", "random-110m-q8_0");
const threadCounts = flag("threads", "1,2").split(",").map(Number);
const streams = Number(flag("streams", "8"));
const tokens = Number(flag("tokens", "48"));
const repeats = Number(flag("repeats", "3"));
const flashAttention = process.argv.includes("--flash-attention");
const prompt = "Once upon a time";
const sampling = process.argv.includes("--greedy") ? { temperature: 0 } : { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05 };

interface Run {
  tokens: number;
  wallMs: number;
  cpuMs: number;
}

interface BatchWatch {
  /** batch size → how many batches of that size llama.cpp decoded */
  sizes: Map<number, number>;
  /** wall ms spent inside llama.cpp's batch decodes, and inside native sampling calls (summed) */
  decodeMs: number;
  sampleMs: number;
  /** batch size → summed wall ms of its decodes */
  decodeMsBySize: Map<number, number>;
  /**
   * Passes over the weights llama.cpp needs for the one-token-per-sequence batches: it splits a batch
   * into runs of consecutive, increasing sequence ids (split_equal, sequential), one pass each.
   */
  decodeSteps: number;
  passes: number;
}

/**
 * Watches a context's native batch and sampling calls (a private hook, diagnostics only): batch sizes
 * show whether every sequence made it into each batch; decode time against the run's wall time shows
 * how much of the run llama.cpp was actually decoding.
 */
function watchBatches(context: LlamaContext): BatchWatch {
  const watch: BatchWatch = { sizes: new Map(), decodeMs: 0, sampleMs: 0, decodeMsBySize: new Map(), decodeSteps: 0, passes: 0 };
  let currentSize = 0;
  watchNativeBatches(context, {
    onInitBatch: (size) => {
      watch.sizes.set(size, (watch.sizes.get(size) ?? 0) + 1);
      currentSize = size;
    },
    onDecode: (sequenceIds, singleTokens) => {
      if (sequenceIds.length < 2 || !singleTokens) return;
      watch.decodeSteps++;
      watch.passes += 1 + sequenceIds.filter((id, index) => index > 0 && id !== sequenceIds[index - 1] + 1).length;
    },
    onDecodeTime: (ms) => {
      watch.decodeMs += ms;
      watch.decodeMsBySize.set(currentSize, (watch.decodeMsBySize.get(currentSize) ?? 0) + ms);
    },
    onSampleTime: (ms) => (watch.sampleMs += ms),
  });
  return watch;
}

async function rawStream(model: LlamaModel, sequence: LlamaContextSequence, promptTokens: Token[], seed: number): Promise<number> {
  await sequence.clearHistory();
  let generated = 0;
  for await (const token of sequence.evaluate(promptTokens, { ...sampling, seed, yieldEogToken: true })) {
    if (model.isEogToken(token) || ++generated >= tokens) break;
  }
  return generated;
}

/** The same N raw sequences stepped together by hand: every step is one full batch (the ceiling). */
async function rawLockstep(model: LlamaModel, sequences: LlamaContextSequence[], promptTokens: Token[], seedBase: number): Promise<number[]> {
  for (const sequence of sequences) await sequence.clearHistory();
  const generators = sequences.map((sequence, index) => sequence.evaluate(promptTokens, { ...sampling, seed: seedBase + index, yieldEogToken: true })[Symbol.asyncIterator]());
  const counts = sequences.map(() => 0);
  let live = generators.map((generator, index) => ({ generator, index }));
  while (live.length > 0) {
    const steps = await Promise.all(live.map(({ generator }) => generator.next()));
    live = live.filter(({ index }, position) => {
      const step = steps[position];
      const done = step.done || model.isEogToken(step.value) || ++counts[index] >= tokens;
      if (done) void live[position].generator.return(undefined);
      return !done;
    });
  }
  return counts;
}

async function providerStream(model: LocalLanguageModel, seed: number): Promise<number> {
  const { stream } = await model.doStream({ prompt, maxTokens: tokens, ...sampling, seed, providerOptions: { local: { cachePrompt: false } } });
  let generated = 0;
  for await (const part of stream as unknown as AsyncIterable<StreamPart>) if (part.type === "finish") generated = part.usage.completionTokens;
  return generated;
}

async function timed(run: () => Promise<number[]>): Promise<Run> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const counts = await run();
  const used = process.cpuUsage(cpu);
  return { tokens: counts.reduce((a, b) => a + b, 0), wallMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
}

const rate = (runs: Run[]) => spread(runs.map((run) => run.tokens / (run.wallMs / 1000))).median;
const cpuRate = (runs: Run[]) => spread(runs.map((run) => run.tokens / (run.cpuMs / 1000))).median;
const histogram = (sizes: Map<number, number>) =>
  [...sizes.entries()]
    .sort((a, b) => b[0] - a[0])
    .map(([size, count]) => `${size}×${count}`)
    .join(" ");

interface ThreadResult {
  threads: number;
  raw1: Run[];
  rawN: Run[];
  rawLockstepN: Run[];
  provider1: Run[];
  providerN: Run[];
  rawWatch: BatchWatch;
  providerWatch: BatchWatch;
}

const fmt = (value: number, digits = 1) => value.toFixed(digits);

function printRow(r: ThreadResult): void {
  console.log(
    `| ${r.threads} | ${fmt(rate(r.raw1))} | ${fmt(rate(r.rawN))} | ${fmt(rate(r.rawN) / rate(r.raw1), 2)}x | ${fmt(rate(r.provider1))} | ${fmt(rate(r.providerN))} | ${fmt(rate(r.providerN) / rate(r.provider1), 2)}x | ${fmt(rate(r.providerN) / rate(r.rawN), 2)}x | ${fmt(rate(r.rawLockstepN))} (${fmt(rate(r.rawLockstepN) / rate(r.raw1), 2)}x) | ${histogram(r.rawWatch.sizes)} / ${histogram(r.providerWatch.sizes)} |`,
  );
}

async function main() {
  const path = await benchModelPath(modelName);
  const handle = await acquireModel(path, false);
  const contextSize = Math.max(256, tokens + 64);
  console.log(
    `# batch scaling: ${modelName}, ${streams} streams vs 1, ${tokens} tokens per stream, threads ${threadCounts.join("/")}, flash attention ${flashAttention ? "on" : "off"}, ${repeats} repeats (median), ${cpus().length} cores, load ${loadavg()[0].toFixed(1)}`,
  );
  const promptTokens = [...handle.model.tokenize(prompt)];
  if (handle.model.tokens.bos != null) promptTokens.unshift(handle.model.tokens.bos);

  // Rows are printed as each thread count finishes, so a run cut short still reports what it measured.
  console.log(`\n| threads | raw 1 | raw ${streams} | raw ratio | provider 1 | provider ${streams} | provider ratio | provider ${streams} / raw ${streams} | raw ${streams} stepped together (ratio) | batch sizes raw / provider |`);
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  const results: ThreadResult[] = [];
  for (const threads of threadCounts) {
    const context = await handle.model.createContext({ contextSize, sequences: streams, threads, flashAttention, failedCreationRemedy: false });
    const sequences = Array.from({ length: streams }, () => context.getSequence());
    const provider = createLocalModel({ modelPath: path, modelId: "bench", contextSize, sequences: streams, threads, flashAttention });
    const providerContext = (await provider.load()).context;
    const raw = (count: number, seedBase: number) => timed(() => Promise.all(Array.from({ length: count }, (_, i) => rawStream(handle.model, sequences[i], promptTokens, seedBase + i))));
    const viaProvider = (count: number, seedBase: number) => timed(() => Promise.all(Array.from({ length: count }, (_, i) => providerStream(provider, seedBase + i))));
    // Warm-up, then count batches only in measured runs.
    await raw(streams, 900);
    await viaProvider(streams, 900);
    const entry: ThreadResult = { threads, raw1: [], rawN: [], rawLockstepN: [], provider1: [], providerN: [], rawWatch: watchBatches(context), providerWatch: watchBatches(providerContext) };
    for (let repeat = 0; repeat < repeats; repeat++) {
      entry.raw1.push(await raw(1, repeat * 100));
      entry.provider1.push(await viaProvider(1, repeat * 100));
      entry.providerN.push(await viaProvider(streams, repeat * 100));
      entry.rawN.push(await raw(streams, repeat * 100));
      entry.rawLockstepN.push(await timed(() => rawLockstep(handle.model, sequences, promptTokens, repeat * 100)));
      process.stderr.write(`threads ${threads}: repeat ${repeat + 1}/${repeats} done\n`);
    }
    results.push(entry);
    printRow(entry);
    await provider.dispose();
    await context.dispose();
  }
  await handle.release();

  const best = (pick: (r: ThreadResult) => Run[]) => results.reduce((a, b) => (rate(pick(b)) > rate(pick(a)) ? b : a));
  for (const side of ["raw", "provider"] as const) {
    const one = best((r) => (side === "raw" ? r.raw1 : r.provider1));
    const many = best((r) => (side === "raw" ? r.rawN : r.providerN));
    const oneRate = rate(side === "raw" ? one.raw1 : one.provider1);
    const manyRate = rate(side === "raw" ? many.rawN : many.providerN);
    console.log(
      `${side} best vs best: ${streams} streams at threads ${many.threads} ${fmt(manyRate)} tok/s vs 1 stream at threads ${one.threads} ${fmt(oneRate)} tok/s → ${fmt(manyRate / oneRate, 2)}x`,
    );
  }
  for (const r of results) {
    console.log(`threads ${r.threads}, tokens per CPU-second: raw 1 ${fmt(cpuRate(r.raw1))}, raw ${streams} ${fmt(cpuRate(r.rawN))}, provider 1 ${fmt(cpuRate(r.provider1))}, provider ${streams} ${fmt(cpuRate(r.providerN))}`);
  }
  const wall = (runs: Run[]) => runs.reduce((sum, run) => sum + run.wallMs, 0);
  for (const r of results) {
    const share = (watch: BatchWatch, runs: Run[][]) => {
      const total = runs.reduce((sum, list) => sum + wall(list), 0);
      return `decoding ${fmt((100 * watch.decodeMs) / total, 0)}% of the wall time, sampling calls ${fmt((100 * watch.sampleMs) / total, 0)}%`;
    };
    console.log(`threads ${r.threads}: raw ${share(r.rawWatch, [r.raw1, r.rawN, r.rawLockstepN])}; provider ${share(r.providerWatch, [r.provider1, r.providerN])}`);
  }
  for (const r of results) {
    const perBatch = (watch: BatchWatch) =>
      [...watch.sizes.entries()]
        .filter(([size]) => size === 1 || size >= streams - 1)
        .sort((a, b) => b[0] - a[0])
        .map(([size, count]) => `${size}: ${fmt((watch.decodeMsBySize.get(size) ?? 0) / count)} ms`)
        .join(", ");
    const passes = (watch: BatchWatch) => `${fmt(watch.passes / Math.max(1, watch.decodeSteps), 2)}`;
    console.log(`threads ${r.threads}, passes over the weights per multi-sequence decode step (1 = one pass): raw ${passes(r.rawWatch)}, provider ${passes(r.providerWatch)}`);
    console.log(`threads ${r.threads}, wall ms per batch decode by size: raw ${perBatch(r.rawWatch)}; provider ${perBatch(r.providerWatch)}`);
  }
  console.log(`load average at the end ${loadavg()[0].toFixed(1)}`);
}

await main();
