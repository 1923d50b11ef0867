/**
 * `camelid serve` under load, every figure a ratio against its reference measured in this same run:
 *
 *   npx tsx bench/serve-throughput.ts [--model random-24m|stories260K|random-110m-q8_0|...] [--tokens 128] [--repeats 3] [--streams 8]
 *                                     [--threads 1] [--flash-attention] [--child-process] [--client fetch|curl]
 *
 * Models: see bench/bench-models.ts (random ones are written on first use into the OS temp folder).
 *
 * By default the server runs in this process beside the HTTP client, so every client-side cost
 * (undici, SSE parsing) counts against the server, and a 2-core machine runs two busy threads (the
 * event loop and llama.cpp's). `--child-process` runs `camelid serve` as its own process with its
 * request log, as in production; on 2 cores the third busy thread then distorts single-stream latency.
 * `--client curl` reads each HTTP stream through curl (native, as wrk or curl measure a server) instead of
 * undici's fetch, so the client's own cost weighs less on the server's figure; events are still parsed here.
 *
 * 1. Serving overhead: one stream through HTTP+SSE vs calling the same local provider directly
 *    (goal ≥ 0.9x decode tokens/s).
 * 2. Batching: N concurrent HTTP streams (one per sequence, decoded together) vs one stream
 *    (goal ≥ 2.5x aggregate tokens/s at N = 8).
 * 3. Latency: p50/p99 time to first token and inter-token latency, for 1 and N streams.
 *
 * Same seeds for every variant, so each run decodes the same number of tokens.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { benchModelPath } from "./bench-models.js";
import { createLocalModel } from "../src/providers/local/index.js";
import { createServerApp } from "../src/server/app.js";
import { listen } from "../src/server/listen.js";
import { ModelRegistry } from "../src/server/model-registry.js";
import type { LanguageModel } from "../src/spec/index.js";

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

const modelName = flag("model", "random-24m");
const tokens = Number(flag("tokens", "128"));
const repeats = Number(flag("repeats", "3"));
const streams = Number(flag("streams", "8"));
const inProcess = !process.argv.includes("--child-process");
const client = flag("client", "fetch");
if (client !== "fetch" && client !== "curl") throw new Error(`--client must be fetch or curl, got ${client}`);
const threads = process.argv.includes("--threads") ? Number(flag("threads", "1")) : undefined;
const flashAttention = process.argv.includes("--flash-attention");
const repoRoot = resolve(import.meta.dirname, "..");
const shared = resolve(repoRoot, "../shared");
const prompt = "Once upon a time";

interface StreamSample {
  tokens: number;
  /** ms from the request to the first token */
  ttftMs: number;
  /** ms between consecutive tokens */
  gapsMs: number[];
  /** ms from the first to the last token */
  decodeMs: number;
  startedAt: number;
  endedAt: number;
}

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const median = (values: number[]) => percentile(values, 50);

async function directStream(model: LanguageModel, seed: number): Promise<StreamSample> {
  const startedAt = performance.now();
  const { stream } = await model.doStream({ prompt, maxTokens: tokens, temperature: 0.8, seed });
  const times: number[] = [];
  let completionTokens = 0;
  for await (const part of stream as unknown as AsyncIterable<import("../src/spec/index.js").StreamPart>) {
    if (part.type === "text-delta") times.push(performance.now());
    if (part.type === "finish") completionTokens = part.usage.completionTokens;
  }
  return sample(startedAt, times, completionTokens);
}

/** One HTTP stream read by curl: its stdout (the raw SSE body) is timed and parsed here. */
function curlStream(url: string, seed: number): Promise<StreamSample> {
  const startedAt = performance.now();
  const body = JSON.stringify({ model: "bench", prompt, max_tokens: tokens, temperature: 0.8, seed, stream: true, stream_options: { include_usage: true } });
  const curl = spawn("curl", ["-sSN", "--fail-with-body", "-H", "content-type: application/json", "--data-binary", "@-", `${url}/v1/completions`], { stdio: ["pipe", "pipe", "inherit"] });
  curl.stdin.end(body);
  const times: number[] = [];
  let completionTokens = 0;
  let buffer = "";
  curl.stdout.setEncoding("utf8");
  curl.stdout.on("data", (text: string) => {
    buffer += text;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const data = buffer.slice(6, end);
      buffer = buffer.slice(end + 2);
      if (data === "[DONE]") continue;
      const chunk = JSON.parse(data);
      if (chunk.choices[0]?.text) times.push(performance.now());
      if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
    }
  });
  return new Promise((resolveSample, reject) => {
    curl.once("error", reject);
    curl.once("close", (code) => (code === 0 ? resolveSample(sample(startedAt, times, completionTokens)) : reject(new Error(`curl exited with ${code}: ${buffer.slice(0, 200)}`))));
  });
}

async function httpStream(url: string, seed: number): Promise<StreamSample> {
  if (client === "curl") return curlStream(url, seed);
  const startedAt = performance.now();
  const response = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "bench", prompt, max_tokens: tokens, temperature: 0.8, seed, stream: true, stream_options: { include_usage: true } }),
  });
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  const times: number[] = [];
  let completionTokens = 0;
  let buffer = "";
  const decoder = new TextDecoder();
  for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(bytes, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.slice(6);
      if (data === "[DONE]") continue;
      const chunk = JSON.parse(data);
      if (chunk.choices[0]?.text) times.push(performance.now());
      if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
    }
  }
  return sample(startedAt, times, completionTokens);
}

function sample(startedAt: number, times: number[], completionTokens: number): StreamSample {
  const endedAt = times.at(-1) ?? performance.now();
  return {
    tokens: completionTokens,
    ttftMs: (times[0] ?? endedAt) - startedAt,
    gapsMs: times.slice(1).map((time, index) => time - times[index]),
    decodeMs: endedAt - (times[0] ?? endedAt),
    startedAt,
    endedAt,
  };
}

/** `camelid serve` in a child process; resolves with its URL and a stop function. */
function startServeChild(modelPath: string, contextSize: number, dataDir: string): Promise<{ url: string; stop: () => void }> {
  const args = ["bin/camelid.js", "serve", "--model", `bench=${modelPath}`, "--sequences", String(streams), "--context-size", String(contextSize), "--port", "0", "--data-dir", dataDir, "--eager"];
  if (threads) args.push("--threads", String(threads));
  if (flashAttention) throw new Error("--flash-attention applies to the in-process server only (camelid serve has no such flag)");
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolveStart, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("camelid serve did not start within 120 s")), 120_000);
    child.once("exit", (code) => reject(new Error(`camelid serve exited with ${code}`)));
    child.stdout!.on("data", (data) => {
      out += String(data);
      const match = /listening on (\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolveStart({ url: match[1], stop: () => child.kill("SIGTERM") });
      }
    });
  });
}

/** Decode speed of one stream: tokens after the first over the time they took. */
const decodeRate = (s: StreamSample) => (s.tokens - 1) / (s.decodeMs / 1000);

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "camelid-bench-serve-"));
  const modelPath = await benchModelPath(modelName);
  const contextSize = Math.max(256, tokens + 64);
  const model = createLocalModel({ modelPath, modelId: "bench", contextSize, sequences: streams, flashAttention, ...(threads ? { threads } : {}) });
  await model.load();
  let server: { url: string; close: () => Promise<void> | void };
  if (inProcess) {
    const registry = new ModelRegistry([{ id: "bench", kind: "local", ownedBy: "camelid", capacity: streams, maxQueue: 64, load: async () => model }]);
    const listening = await listen(createServerApp({ registry }).app, { host: "127.0.0.1", port: 0 });
    server = { url: listening.url, close: () => listening.close() };
  } else {
    const child = await startServeChild(modelPath, contextSize, join(dir, "data"));
    server = { url: child.url, close: child.stop };
  }

  console.log(
    `# camelid serve benchmark (server ${inProcess ? "in this process" : "in a child process"}): ${modelName}, threads ${threads ?? "default"}, flash attention ${flashAttention ? "on" : "off"}, client ${client}, ${tokens} tokens per stream, ${streams} sequences, ${repeats} repeats (median), ${cpus().length} CPU cores, load average ${loadavg()[0].toFixed(1)}`,
  );
  // Warm-up: first-call costs (grammar-free sampler set-up, JIT, sockets) out of the timings.
  await directStream(model, 999);
  await httpStream(server.url, 999);

  const direct: StreamSample[] = [];
  const single: StreamSample[] = [];
  const batched: { samples: StreamSample[]; wallMs: number }[] = [];
  const directBatched: { samples: StreamSample[]; wallMs: number }[] = [];
  for (let repeat = 0; repeat < repeats; repeat++) {
    // Interleaved so that drift in machine load hits every variant alike.
    direct.push(await directStream(model, repeat));
    single.push(await httpStream(server.url, repeat));
    const started = performance.now();
    const samples = await Promise.all(Array.from({ length: streams }, (_, index) => httpStream(server.url, repeat * 100 + index)));
    batched.push({ samples, wallMs: performance.now() - started });
    const directStarted = performance.now();
    const directSamples = await Promise.all(Array.from({ length: streams }, (_, index) => directStream(model, repeat * 100 + index)));
    directBatched.push({ samples: directSamples, wallMs: performance.now() - directStarted });
  }

  const directRate = median(direct.map(decodeRate));
  const singleRate = median(single.map(decodeRate));
  const singleEndToEnd = median(single.map((s) => s.tokens / ((s.endedAt - s.startedAt) / 1000)));
  const aggregate = (runs: { samples: StreamSample[]; wallMs: number }[]) =>
    median(runs.map((run) => run.samples.reduce((sum, s) => sum + s.tokens, 0) / (run.wallMs / 1000)));
  const batchedAggregate = aggregate(batched);
  const directEndToEnd = median(direct.map((s) => s.tokens / ((s.endedAt - s.startedAt) / 1000)));
  const directBatchedAggregate = aggregate(directBatched);
  const fmt = (value: number, digits = 1) => value.toFixed(digits);

  console.log("\n## Serving overhead (1 stream, decode tokens/s)");
  console.log(`direct provider doStream : ${fmt(directRate)} tok/s`);
  console.log(`HTTP + SSE               : ${fmt(singleRate)} tok/s  → ${fmt(singleRate / directRate, 2)}x of direct (goal ≥ 0.9x)`);

  console.log(`\n## Batching (${streams} concurrent streams vs 1, end-to-end tokens/s through HTTP)`);
  console.log(`1 stream                 : ${fmt(singleEndToEnd)} tok/s`);
  console.log(`${streams} streams aggregate       : ${fmt(batchedAggregate)} tok/s  → ${fmt(batchedAggregate / singleEndToEnd, 2)}x of 1 stream (goal ≥ 2.5x)`);
  console.log(
    `reference, provider alone: ${fmt(directBatchedAggregate)} tok/s with ${streams} streams vs ${fmt(directEndToEnd)} with 1 → ${fmt(directBatchedAggregate / directEndToEnd, 2)}x (the batching llama.cpp gives on this machine)`,
  );
  console.log(`HTTP ${streams} streams vs provider ${streams} streams: ${fmt(batchedAggregate / directBatchedAggregate, 2)}x`);

  const latency = (label: string, samples: StreamSample[]) => {
    const ttft = samples.map((s) => s.ttftMs);
    const gaps = samples.flatMap((s) => s.gapsMs);
    console.log(
      `${label.padEnd(25)}: TTFT p50 ${fmt(percentile(ttft, 50))} ms, p99 ${fmt(percentile(ttft, 99))} ms; inter-token p50 ${fmt(percentile(gaps, 50), 2)} ms, p99 ${fmt(percentile(gaps, 99), 2)} ms`,
    );
  };
  console.log("\n## Latency");
  latency("1 stream (HTTP)", single);
  latency(`${streams} streams (HTTP)`, batched.flatMap((run) => run.samples));
  console.log(`\ntokens per stream (median): direct ${median(direct.map((s) => s.tokens))}, HTTP ${median(single.map((s) => s.tokens))}; load average at the end ${loadavg()[0].toFixed(1)}`);

  await server.close();
  await model.dispose();
  rmSync(dir, { recursive: true, force: true });
}

await main();
