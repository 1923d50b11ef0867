/**
 * GGUF reading and writing speed, each against a reference measured in the same run.
 *
 *   npx tsx bench/gguf-read-write.ts [--runs 5] [--skip-load]
 *
 * 1. Header reads (metadata + tensor infos) of stories260K and the SentencePiece / Llama-3 BPE
 *    vocabularies: camelid's reader against node-llama-cpp's own pure-JS GGUF reader
 *    (readGgufFileInfo), alternating, median of --runs; both must agree on the token count.
 * 2. Writing the 24M-parameter F32 random LLaMA preset: camelid's writer (weights generated on the
 *    fly) against plainly writing the same number of bytes to the same directory; then the model is
 *    loaded in llama.cpp and generates 16 tokens (one thread) to show the file is usable.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { countParameters, parseRandomLlamaOptions, randomLlama24MOptions, randomLlamaTensorShapes, writeRandomLlamaGguf } from "../src/gguf/random-llama.js";
import { readGgufHeader } from "../src/gguf/reader.js";
import { getLlamaRuntime, loadNodeLlamaCpp } from "../src/providers/local/llama-runtime.js";

const shared = resolve(import.meta.dirname, "../../shared");
const runsIndex = process.argv.indexOf("--runs");
const runs = runsIndex >= 0 ? Number(process.argv[runsIndex + 1]) : 5;
const skipLoad = process.argv.includes("--skip-load");

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (value: number) => `${value.toFixed(1)} ms`;

async function time(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

const { readGgufFileInfo } = await loadNodeLlamaCpp();
console.log(`# GGUF header read: camelid vs node-llama-cpp readGgufFileInfo (median of ${runs})`);
for (const file of ["models/stories260K.gguf", "tokenizers/ggml-vocab-llama-spm.gguf", "tokenizers/ggml-vocab-llama-bpe.gguf"]) {
  const path = join(shared, file);
  const ours: number[] = [];
  const theirs: number[] = [];
  let ourTokens = 0;
  let theirTokens = 0;
  // One warm-up each so both run JIT-compiled code.
  for (let run = -1; run < runs; run++) {
    const a = await time(async () => {
      const header = await readGgufHeader(path);
      const tokens = header.metadata.get("tokenizer.ggml.tokens");
      ourTokens = tokens?.type === "array" ? tokens.value.values.length : 0;
    });
    const b = await time(async () => {
      const info = await readGgufFileInfo(path, { logWarnings: false });
      theirTokens = (info.metadata.tokenizer?.ggml?.tokens as unknown[] | undefined)?.length ?? 0;
    });
    if (run >= 0) {
      ours.push(a);
      theirs.push(b);
    }
  }
  if (ourTokens !== theirTokens) throw new Error(`${file}: token counts differ (${ourTokens} vs ${theirTokens})`);
  const ratio = median(theirs) / median(ours);
  console.log(`${file.padEnd(40)} ${ourTokens} tokens  camelid ${ms(median(ours))}  node-llama-cpp ${ms(median(theirs))}  → ${ratio.toFixed(2)}x`);
}

const workDir = mkdtempSync(join(tmpdir(), "camelid-bench-gguf-"));
try {
  const vocab = join(shared, "tokenizers/ggml-vocab-llama-spm.gguf");
  const options = randomLlama24MOptions(join(workDir, "random-24m.gguf"), vocab);
  const parameters = countParameters(randomLlamaTensorShapes(parseRandomLlamaOptions(options), 32000));
  console.log(`\n# Writing the 24M F32 random LLaMA preset (${(parameters / 1e6).toFixed(2)}M parameters)`);
  let bytes = 0;
  const writeMs = await time(async () => {
    bytes = (await writeRandomLlamaGguf(options)).bytes;
  });
  const rawMs = await time(async () => writeFileSync(join(workDir, "raw.bin"), new Uint8Array(bytes)));
  console.log(`camelid writer ${ms(writeMs)} for ${(bytes / 2 ** 20).toFixed(1)} MiB (${(bytes / 2 ** 20 / (writeMs / 1000)).toFixed(0)} MiB/s, weights generated on the fly)`);
  console.log(`plain write of the same bytes ${ms(rawMs)} → camelid takes ${(writeMs / rawMs).toFixed(1)}x the raw write time`);

  if (!skipLoad) {
    const llama = await getLlamaRuntime();
    const loadMs0 = performance.now();
    const model = await llama.loadModel({ modelPath: options.path });
    const context = await model.createContext({ contextSize: 256, threads: 1 });
    const tokens: number[] = [];
    const loadMs = performance.now() - loadMs0;
    const generateStart = performance.now();
    for await (const token of context.getSequence().evaluate(model.tokenize("Once upon a time"), { temperature: 0 })) {
      tokens.push(token);
      if (tokens.length >= 16) break;
    }
    const generateMs = performance.now() - generateStart;
    console.log(`llama.cpp load + context ${ms(loadMs)}; 16 greedy tokens in ${ms(generateMs)}: ${JSON.stringify(model.detokenize(tokens as never))}`);
    await context.dispose();
    await model.dispose();
  }
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
