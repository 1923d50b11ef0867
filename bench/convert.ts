/**
 * `camelid convert` against llama.cpp's convert_hf_to_gguf.py on the same random Hugging Face LLaMA
 * checkpoint, in the same run: wall time, throughput (checkpoint MB/s) and peak resident memory of each
 * (each converter runs in its own child process), and whether the two GGUF files are byte-identical.
 *
 *   npx tsx bench/convert.ts [--preset small|1.1b] [--type f32|f16|q8_0] [--dtype F32|F16|BF16] [--python python3]
 *
 * small: ~58M parameters (hidden 512, 8 layers, GQA 8/4, FFN 1408, 32000-token SentencePiece vocabulary).
 * 1.1b: TinyLlama-1.1B's shape (hidden 2048, 22 layers, GQA 32/4, FFN 5632): several GB of disk, minutes.
 * The goal: faster than the script, with peak memory bounded by the largest tensor plus a constant.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { convertHfModel, OUTPUT_TYPES, writeRandomHfLlama, type OutputType, type RandomHfLlamaOptions } from "../src/convert/index.js";
import type { FloatDtype } from "../src/safetensors/index.js";
import { argument } from "./measure.js";

const shared = resolve(import.meta.dirname, "../../shared");
const llamaCpp = process.env.LLAMA_CPP ?? "/work/llama.cpp";

// Child mode: convert once and report time and this process's peak RSS.
if (process.argv[2] === "--child") {
  const [folder, output, type] = process.argv.slice(3);
  const started = performance.now();
  await convertHfModel({ folder, output, outputType: type as OutputType });
  console.log(JSON.stringify({ ms: performance.now() - started, maxRssKb: process.resourceUsage().maxRSS }));
  process.exit(0);
}

const presets: Record<string, Omit<RandomHfLlamaOptions, "dtype" | "seed">> = {
  small: { hiddenSize: 512, intermediateSize: 1408, layers: 8, heads: 8, kvHeads: 4, vocabSize: 32000, tiedEmbeddings: false },
  "1.1b": { hiddenSize: 2048, intermediateSize: 5632, layers: 22, heads: 32, kvHeads: 4, vocabSize: 32000, tiedEmbeddings: false },
};
const preset = argument("preset", "small");
const type = argument("type", "f16") as OutputType;
const dtype = argument("dtype", "BF16") as FloatDtype;
const python = argument("python", "python3");
if (!presets[preset]) throw new Error(`--preset must be one of ${Object.keys(presets).join(", ")}`);
if (!(OUTPUT_TYPES as readonly string[]).includes(type) || type === "q4_0") throw new Error("--type must be f32, f16 or q8_0 (the script has no q4_0)");

const sha256 = (path: string) =>
  new Promise<string>((done, fail) => {
    const hash = createHash("sha256");
    createReadStream(path).on("data", (chunk) => hash.update(chunk)).on("end", () => done(hash.digest("hex"))).on("error", fail);
  });
const mib = (bytes: number) => bytes / 2 ** 20;

const workDir = mkdtempSync(join(tmpdir(), "camelid-bench-convert-"));
try {
  const folder = join(workDir, `Bench-Llama-${preset}`);
  const options: RandomHfLlamaOptions = { ...presets[preset], dtype, seed: 11, tokenizerFiles: [join(shared, "tokenizers/llama2-spm/tokenizer.model")] };
  await writeRandomHfLlama(folder, options);
  const checkpointBytes = readdirSync(folder).filter((file) => file.endsWith(".safetensors")).reduce((sum, file) => sum + statSync(join(folder, file)).size, 0);
  const { hiddenSize: h, intermediateSize: f, vocabSize: v } = options;
  const largestTensorBytes = Math.max(v * h, f * h) * 4; // as float32, which both converters hold while encoding
  console.log(`# camelid convert vs convert_hf_to_gguf.py: ${preset} preset, ${dtype} checkpoint ${mib(checkpointBytes).toFixed(0)} MiB → --type ${type}`);
  console.log(`largest tensor as float32: ${mib(largestTensorBytes).toFixed(1)} MiB`);

  const ours = join(workDir, "camelid.gguf");
  const child = spawnSync(process.execPath, [...process.execArgv, import.meta.filename, "--child", folder, ours, type], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (child.status !== 0) throw new Error(`camelid convert failed: ${child.stderr}`);
  const camelid = JSON.parse(child.stdout.trim().split("\n").pop()!) as { ms: number; maxRssKb: number };

  const theirs = join(workDir, "llama-cpp.gguf");
  // runpy keeps the script's own __main__ behaviour; getrusage reports this interpreter's peak RSS (KiB on Linux)
  const wrapper = `import os, resource, runpy, sys, time
sys.argv = [sys.argv[1], *sys.argv[2:]]
sys.path.insert(0, os.path.dirname(sys.argv[0]))
started = time.perf_counter()
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as exit:
    if exit.code: raise
print({"ms": (time.perf_counter() - started) * 1000, "maxRssKb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss})`;
  const script = spawnSync(python, ["-c", wrapper, join(llamaCpp, "convert_hf_to_gguf.py"), folder, "--outfile", theirs, "--outtype", type], {
    encoding: "utf8",
    env: { ...process.env, PYTHONPATH: join(llamaCpp, "gguf-py") },
    maxBuffer: 1 << 26,
  });
  if (script.status !== 0) throw new Error(`convert_hf_to_gguf.py failed: ${script.stderr.slice(-2000)}`);
  const reference = JSON.parse(script.stdout.trim().split("\n").pop()!.replaceAll("'", '"')) as { ms: number; maxRssKb: number };

  const row = (name: string, result: { ms: number; maxRssKb: number }) =>
    `${name.padEnd(24)} ${(result.ms / 1000).toFixed(2).padStart(7)} s  ${(mib(checkpointBytes) / (result.ms / 1000)).toFixed(1).padStart(7)} MiB/s  peak RSS ${(result.maxRssKb / 1024).toFixed(0).padStart(6)} MiB`;
  console.log(row("camelid convert", camelid));
  console.log(row("convert_hf_to_gguf.py", reference));
  console.log(`throughput ratio camelid / llama.cpp: ${(reference.ms / camelid.ms).toFixed(2)}x;  peak RSS ratio: ${(camelid.maxRssKb / reference.maxRssKb).toFixed(2)}x`);
  const [a, b] = await Promise.all([sha256(ours), sha256(theirs)]);
  console.log(`outputs ${a === b ? "byte-identical" : "DIFFER"} (${mib(statSync(ours).size).toFixed(0)} MiB, sha256 ${a.slice(0, 12)}${a === b ? "" : ` vs ${b.slice(0, 12)}`})`);
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
