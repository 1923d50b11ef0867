/**
 * The JavaScript the in-process engine runs per generated token, with llama.cpp's work taken out: the
 * context's native decode and sampling calls are replaced by stubs that resolve on the next event-loop turn
 * (as the native ones do, from libuv's pool), so what is left is node-llama-cpp's evaluate loop and
 * camelid's own per-token work on the main thread, measured as this process's CPU time per token.
 * On a busy 2-core machine that is steadier than any tok/s figure, and at S streams it is what stands
 * serially between two decodes (the lockstep: every sequence's token is handled before the next step).
 *
 *   evaluate             S sequences, LlamaContextSequence.evaluate (for await), nothing else per token
 *   evaluateWithMetadata S sequences, the generator evaluate() wraps, used directly
 *   camelid              S concurrent doGenerate calls of the provider (what `camelid serve` runs per
 *                        non-streamed request, without HTTP): decode loop, lockstep, detokenizer, stop
 *                        strings, the choice stream
 *
 *   flock /work/bench.lock npx tsx bench/inproc-js-cost.ts [--model random-24m] [--streams 8] [--tokens 256] [--repeats 5] [--stop] [--only camelid]
 *
 * `--only NAME` runs the variants whose name starts with NAME (for `node --cpu-prof`). `--stop` gives every camelid call a stop string (never matched), so the stop matcher runs. Variants run
 * interleaved; a figure is the median of the repeats. Tokens come from a fixed cycle of ordinary ids, so no
 * call ends early.
 */
import { loadavg } from "node:os";
import { benchModelPath } from "./bench-models.js";
import { argument, median } from "./measure.js";
import { createLocalModel } from "../src/providers/local/index.js";
import type { LlamaContext, LlamaModel, Token } from "../src/providers/local/llama-runtime.js";

const modelName = argument("model", "random-24m");
const streams = Number(argument("streams", "8"));
const tokens = Number(argument("tokens", "256"));
const repeats = Number(argument("repeats", "5"));
const withStop = process.argv.includes("--stop");
const load = () => loadavg().map((value) => value.toFixed(1)).join(" ");
const say = (line: string) => process.stdout.write(`${line}\n`);

/** Replaces the context's native decode and sampling with next-turn stubs; sampled tokens cycle through ordinary ids. */
function stubNative(context: LlamaContext, model: LlamaModel): () => number {
  const holder = context as unknown as { _ctx: Record<string, unknown> };
  const native = holder._ctx;
  const ordinary: number[] = [];
  for (let id = 300; ordinary.length < 200; id++) if (!model.isEogToken(id as Token)) ordinary.push(id);
  let sampled = 0;
  holder._ctx = new Proxy(native, {
    get(target, key) {
      if (key === "decodeBatch") return () => new Promise<void>((resolve) => setImmediate(resolve));
      if (key === "sampleToken") return () => new Promise<number>((resolve) => setImmediate(() => resolve(ordinary[sampled++ % ordinary.length])));
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return () => sampled;
}

async function timedCpu(run: () => Promise<number>): Promise<number> {
  const before = process.cpuUsage();
  const generated = await run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / generated;
}

async function main(): Promise<void> {
  const modelPath = await benchModelPath(modelName);
  say(`# in-process JavaScript per token (native decode and sampling stubbed): ${modelName}, ${streams} streams, ${tokens} tokens, ${repeats} repeats (median); load average ${load()}`);
  const camelid = createLocalModel({ modelPath, threads: 1, sequences: streams, contextSize: tokens + 64 });
  const { context, model } = await camelid.load();
  stubNative(context, model);
  // camelid holds every sequence of its context: the raw loops get a second context of the same shape.
  const raw = await model.createContext({ contextSize: tokens + 64, sequences: streams, threads: 1, flashAttention: false });
  stubNative(raw, model);
  const rawSequences = Array.from({ length: streams }, () => raw.getSequence());
  const prompt = model.tokenize("Once upon a time");
  const options = { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, seed: 1, yieldEogToken: true };

  const rawLoop = (useMetadata: boolean) => async (): Promise<number> => {
    const counts = await Promise.all(
      rawSequences.map(async (sequence) => {
        await sequence.clearHistory();
        let generated = 0;
        const iterator = useMetadata ? sequence.evaluateWithMetadata(prompt, {}, options) : sequence.evaluate(prompt, options);
        for await (const item of iterator) {
          void item;
          if (++generated >= tokens) break;
        }
        return generated;
      }),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  };
  const camelidLoop = async (): Promise<number> => {
    const results = await Promise.all(
      Array.from({ length: streams }, (_, index) =>
        camelid.doGenerate({ prompt: "Once upon a time", maxTokens: tokens, temperature: 0.8, seed: index + 1, ...(withStop ? { stop: ["\n\n\n\n"] } : {}) }),
      ),
    );
    return results.reduce((sum, result) => sum + result.usage.completionTokens, 0);
  };

  const only = argument("only", "");
  const variants = (
    [
      ["evaluate", rawLoop(false)],
      ["evaluateWithMetadata", rawLoop(true)],
      [`camelid doGenerate${withStop ? " (stop string)" : ""}`, camelidLoop],
    ] as [string, () => Promise<number>][]
  ).filter(([name]) => !only || name.startsWith(only));
  for (const [, run] of variants) await run(); // warm-up: JIT
  const samples = new Map<string, number[]>();
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const [name, run] of variants) samples.set(name, [...(samples.get(name) ?? []), await timedCpu(run)]);
  }
  for (const [name, values] of samples) {
    say(`${name.padEnd(34)} ${(median(values) * 1000).toFixed(1).padStart(7)} µs CPU per token  (${values.map((v) => (v * 1000).toFixed(0)).join(" ")})`);
  }
  say(`load average at the end ${load()}`);
  await raw.dispose();
  await camelid.dispose();
}

await main();
