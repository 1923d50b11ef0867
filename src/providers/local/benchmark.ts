// Prefill and decode throughput of a local GGUF model through our provider, optionally against
// node-llama-cpp's raw sequence API on the same loaded weights, runs interleaved so that load from
// other processes hits both alike. Used by `camelid bench` and bench/local-decode.ts.
import { InvalidArgumentError } from "../../errors/index.js";
import { acquireModel } from "./model-cache.js";
import { createLocalModelFromOptions } from "./factory.js";
import { DEFAULT_FLASH_ATTENTION, defaultThreadsForBuild } from "./options.js";
import { getLlamaRuntime, type LlamaContextOptions, type Token } from "./llama-runtime.js";

export interface DecodeBenchmarkOptions {
  modelPath: string;
  runs?: number;
  promptTokens?: number;
  genTokens?: number;
  threads?: number;
  batchSize?: number;
  flashAttention?: boolean;
  /** Also measure node-llama-cpp's raw sequence API (the reference) in the same runs. */
  compareRaw?: boolean;
  onProgress?(message: string): void;
}

export interface ThroughputSample {
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  generatedTokens: number;
  /**
   * (prompt + generated tokens) per second of this process's CPU time over the whole call. On a
   * machine shared with other work, wall-clock rates swing with the load; CPU time much less.
   */
  cpuTokensPerSecond: number;
}

export interface Spread {
  min: number;
  median: number;
  max: number;
}

export interface ThroughputSummary {
  prefill: Spread;
  decode: Spread;
  cpu: Spread;
  samples: ThroughputSample[];
}

export interface DecodeBenchmarkResult {
  modelPath: string;
  promptTokens: number;
  genTokens: number;
  runs: number;
  settings: {
    threads: number;
    flashAttention: boolean;
    batchSize?: number;
    contextSize: number;
    /** node-llama-cpp's binary (`llama.buildType`): "prebuilt" (the npm package's) or "localBuild" (`camelid engine build --in-process`). */
    binary: string;
  };
  provider: ThroughputSummary;
  raw?: ThroughputSummary;
  /**
   * provider median / raw median, and `pairedDecode`: the median over runs of each run's
   * provider/raw decode ratio (the two measured back to back, so slow load drift cancels).
   */
  ratio?: { prefill: number; decode: number; cpu: number; pairedDecode: number };
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { min: 0, median: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { min: sorted[0], median, max: sorted[sorted.length - 1] };
}

function summarize(samples: ThroughputSample[]): ThroughputSummary {
  return {
    prefill: spread(samples.map((s) => s.prefillTokensPerSecond)),
    decode: spread(samples.map((s) => s.decodeTokensPerSecond)),
    cpu: spread(samples.map((s) => s.cpuTokensPerSecond)),
    samples,
  };
}

const FILLER = "Once upon a time, there was a little girl named Lily. She liked to play in the park with her red ball. ";

export async function benchmarkDecode(options: DecodeBenchmarkOptions): Promise<DecodeBenchmarkResult> {
  const runs = options.runs ?? 5;
  const promptTokenTarget = options.promptTokens ?? 128;
  const genTokens = options.genTokens ?? 128;
  for (const [name, value, min] of [["runs", runs, 1], ["promptTokens", promptTokenTarget, 2], ["genTokens", genTokens, 2]] as const) {
    if (!Number.isInteger(value) || value < min) throw new InvalidArgumentError(name, `${name} must be an integer >= ${min}, got ${value}`);
  }
  // The default threads depend on which binary node-llama-cpp loads (src/spec/cpu-threads.ts).
  const { buildType: binary } = await getLlamaRuntime({ gpu: false });
  const threads = options.threads ?? defaultThreadsForBuild(binary);
  const flashAttention = options.flashAttention ?? DEFAULT_FLASH_ATTENTION;
  const contextSize = Math.max(256, promptTokenTarget + genTokens + 16);
  const model = createLocalModelFromOptions({
    modelPath: options.modelPath,
    contextSize,
    sequences: 1,
    threads,
    flashAttention,
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
  });
  const handle = await acquireModel(options.modelPath, false);
  let rawContext: Awaited<ReturnType<typeof handle.model.createContext>> | undefined;
  try {
    // A prompt of the requested length: filler text tokenized, cut, and turned back into text.
    const trainContext = handle.model.trainContextSize;
    if (trainContext && contextSize > trainContext) {
      throw new InvalidArgumentError("promptTokens", `prompt + generated tokens (${promptTokenTarget + genTokens}) exceed the model's context of ${trainContext}`);
    }
    const fillerTokens = await model.tokenize(FILLER.repeat(Math.ceil(promptTokenTarget / 10) + 1), { addBos: false });
    const promptText = await model.detokenize(fillerTokens.slice(0, promptTokenTarget - 1));
    const promptTokens = (await model.renderPrompt({ prompt: promptText })).tokens as Token[];

    const rawOptions: LlamaContextOptions = {
      contextSize,
      sequences: 1,
      threads,
      flashAttention,
      failedCreationRemedy: false,
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    };
    rawContext = options.compareRaw ? await handle.model.createContext(rawOptions) : undefined;
    const rawSequence = rawContext?.getSequence();

    const cpuRate = (tokens: number, since: NodeJS.CpuUsage) => {
      const used = process.cpuUsage(since);
      return (tokens / ((used.user + used.system) / 1e6)) || 0;
    };
    const measureProvider = async (): Promise<ThroughputSample> => {
      const cpuStart = process.cpuUsage();
      const result = await model.doGenerate({
        prompt: promptText,
        maxTokens: genTokens,
        temperature: 0,
        providerOptions: { local: { cachePrompt: false } },
      });
      return {
        prefillTokensPerSecond: result.timings.promptTokensPerSecond ?? 0,
        decodeTokensPerSecond: result.timings.tokensPerSecond,
        generatedTokens: result.usage.completionTokens,
        cpuTokensPerSecond: cpuRate(result.usage.totalTokens, cpuStart),
      };
    };
    const measureRaw = async (): Promise<ThroughputSample> => {
      const sequence = rawSequence!;
      const cpuStart = process.cpuUsage();
      await sequence.clearHistory();
      const startedAt = performance.now();
      let firstAt = startedAt;
      let generated = 0;
      for await (const token of sequence.evaluate(promptTokens, { temperature: 0, yieldEogToken: true })) {
        if (generated === 0) firstAt = performance.now();
        if (handle.model.isEogToken(token)) break;
        generated++;
        if (generated >= genTokens) break;
      }
      const endedAt = performance.now();
      return {
        prefillTokensPerSecond: (promptTokens.length / (firstAt - startedAt)) * 1000,
        decodeTokensPerSecond: generated > 1 ? ((generated - 1) / (endedAt - firstAt)) * 1000 : 0,
        generatedTokens: generated,
        cpuTokensPerSecond: cpuRate(promptTokens.length + generated, cpuStart),
      };
    };

    // One warm-up of each, then interleaved runs, alternating which goes first.
    await measureProvider();
    if (rawSequence) await measureRaw();
    const providerSamples: ThroughputSample[] = [];
    const rawSamples: ThroughputSample[] = [];
    for (let run = 0; run < runs; run++) {
      if (rawSequence && run % 2 === 1) rawSamples.push(await measureRaw());
      providerSamples.push(await measureProvider());
      if (rawSequence && run % 2 === 0) rawSamples.push(await measureRaw());
      options.onProgress?.(`run ${run + 1}/${runs}`);
    }
    const provider = summarize(providerSamples);
    const raw = rawSequence ? summarize(rawSamples) : undefined;
    return {
      modelPath: options.modelPath,
      promptTokens: promptTokens.length,
      genTokens,
      runs,
      settings: { threads, flashAttention, contextSize, binary, ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}) },
      provider,
      ...(raw
        ? {
            raw,
            ratio: {
              prefill: provider.prefill.median / raw.prefill.median,
              decode: provider.decode.median / raw.decode.median,
              cpu: provider.cpu.median / raw.cpu.median,
              pairedDecode: spread(
                providerSamples.map((sample, run) => sample.decodeTokensPerSecond / rawSamples[run].decodeTokensPerSecond),
              ).median,
            },
          }
        : {}),
    };
  } finally {
    await rawContext?.dispose();
    await model.dispose();
    await handle.release();
  }
}
