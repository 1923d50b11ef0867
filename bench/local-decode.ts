/**
 * Local decode/prefill throughput: camelid's local provider against node-llama-cpp's raw sequence
 * API (the reference; no llama-bench binary ships in the npm packages) on the same loaded weights,
 * interleaved runs in one process, so the ratio holds even on a shared, busy machine.
 *
 *   npx tsx bench/local-decode.ts [--runs 7] [--prompt-tokens 128] [--gen-tokens 128] [--models stories260K,random-24m]
 *   npx tsx bench/local-decode.ts --sweep      # raw API only: threads × flash attention × batch size
 *
 * random-24m is a 24.6M-parameter F32 LLaMA (dim 384, 7 layers, LLaMA SentencePiece vocabulary)
 * written by src/gguf/random-llama.ts into the OS temp folder (kept between runs).
 * Goal: provider / raw ≥ 0.9x for decode on both models.
 */
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeRandomLlama24M } from "../src/gguf/random-llama.js";
import { formatBenchResult } from "../src/cli/commands/bench.js";
import { benchmarkDecode, spread } from "../src/providers/local/index.js";
import { getLlamaRuntime } from "../src/providers/local/llama-runtime.js";

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

const shared = resolve(import.meta.dirname, "../../shared");
const runs = Number(flag("runs", "7"));
const promptTokens = Number(flag("prompt-tokens", "128"));
const genTokens = Number(flag("gen-tokens", "128"));
const modelNames = flag("models", "stories260K,random-24m").split(",");

async function modelPath(name: string): Promise<string> {
  if (name === "stories260K") return join(shared, "models", "stories260K.gguf");
  if (name === "random-24m") {
    const folder = join(tmpdir(), "camelid-bench");
    mkdirSync(folder, { recursive: true });
    const path = join(folder, "random-llama-24m-f32.gguf");
    if (!existsSync(path)) {
      process.stderr.write(`writing ${path} ...\n`);
      await writeRandomLlama24M(path, join(shared, "tokenizers", "ggml-vocab-llama-spm.gguf"));
    }
    return path;
  }
  return resolve(name);
}

/** Raw-API decode tokens/s for several context settings, to choose the provider's defaults. */
async function sweep(path: string): Promise<void> {
  const llama = await getLlamaRuntime();
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const variants = [
    { threads: 1, flashAttention: false },
    { threads: 1, flashAttention: true },
    { threads: 2, flashAttention: false },
    { threads: 1, flashAttention: false, batchSize: 64 },
    { threads: 1, flashAttention: false, batchSize: 2048 },
    { threads: 1, flashAttention: false, batching: { dispatchSchedule: (dispatch: () => void) => queueMicrotask(dispatch) } },
  ];
  const contexts = [];
  for (const variant of variants) {
    contexts.push(await model.createContext({ contextSize: promptTokens + genTokens + 16, sequences: 1, ...variant }));
  }
  const prompt = [...model.tokenize("Once upon a time, there was a little girl named Lily. ".repeat(Math.ceil(promptTokens / 12)))].slice(0, promptTokens);
  const decode: number[][] = variants.map(() => []);
  const prefill: number[][] = variants.map(() => []);
  // controlledEvaluate, one call per token (the logprobs path), on the first variant's settings.
  const controlledContext = await model.createContext({ contextSize: promptTokens + genTokens + 16, sequences: 1, ...variants[0] });
  const controlled = { decode: [] as number[], prefill: [] as number[] };
  for (let run = 0; run < runs; run++) {
    {
      const sequence = controlledContext.getSequence();
      const startedAt = performance.now();
      let firstAt = startedAt;
      let input = prompt;
      let generated = 0;
      for (;;) {
        const last = input.length - 1;
        const output = await sequence.controlledEvaluate(
          input.map((token, index) => (index === last ? [token, { generateNext: { token: true, options: { temperature: 0 } } }] : token)),
        );
        const token = output[last]?.next.token;
        if (generated === 0) firstAt = performance.now();
        if (token == null || model.isEogToken(token) || ++generated >= genTokens) break;
        input = [token];
      }
      controlled.decode.push(((generated - 1) / (performance.now() - firstAt)) * 1000);
      controlled.prefill.push((prompt.length / (firstAt - startedAt)) * 1000);
      await sequence.dispose();
    }
    for (const [index, context] of contexts.entries()) {
      const sequence = context.getSequence();
      const startedAt = performance.now();
      let firstAt = startedAt;
      let generated = 0;
      for await (const token of sequence.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
        if (generated === 0) firstAt = performance.now();
        if (model.isEogToken(token) || ++generated >= genTokens) break;
      }
      decode[index].push(((generated - 1) / (performance.now() - firstAt)) * 1000);
      prefill[index].push((prompt.length / (firstAt - startedAt)) * 1000);
      await sequence.dispose();
    }
  }
  process.stdout.write(`\nsweep (node-llama-cpp raw API) on ${path}: median [min-max] tokens/s over ${runs} runs\n`);
  variants.forEach((variant, index) => {
    const d = spread(decode[index]);
    const p = spread(prefill[index]);
    const label = JSON.stringify(variant, (key, value) => (typeof value === "function" ? "microtask" : value));
    process.stdout.write(
      `  ${label.padEnd(96)} decode ${d.median.toFixed(0)} [${d.min.toFixed(0)}-${d.max.toFixed(0)}]  prefill ${p.median.toFixed(0)} [${p.min.toFixed(0)}-${p.max.toFixed(0)}]\n`,
    );
  });
  const d = spread(controlled.decode);
  const p = spread(controlled.prefill);
  process.stdout.write(
    `  ${"controlledEvaluate per token, first variant's settings".padEnd(96)} decode ${d.median.toFixed(0)} [${d.min.toFixed(0)}-${d.max.toFixed(0)}]  prefill ${p.median.toFixed(0)} [${p.min.toFixed(0)}-${p.max.toFixed(0)}]\n`,
  );
  await controlledContext.dispose();
  for (const context of contexts) await context.dispose();
  await model.dispose();
}

for (const name of modelNames) {
  const path = await modelPath(name);
  if (process.argv.includes("--sweep")) {
    await sweep(path);
    continue;
  }
  const result = await benchmarkDecode({ modelPath: path, runs, promptTokens, genTokens, compareRaw: true });
  process.stdout.write(`\n== ${name}\n${formatBenchResult(result)}`);
  const goal = result.ratio!.decode >= 0.9 ? "meets" : "misses";
  process.stdout.write(
    `decode ratio ${result.ratio!.decode.toFixed(2)}x ${goal} the 0.9x goal (CPU-time ratio ${result.ratio!.cpu.toFixed(2)}x, paired ${result.ratio!.pairedDecode.toFixed(2)}x)\n`,
  );
}
