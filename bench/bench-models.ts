/**
 * Models the serving benchmarks run on, by name. stories260K is the real one from ../shared; the others
 * are random-weight LLaMAs written with the project's own GGUF writer (src/gguf/random-llama.ts) and the
 * real 32000-token LLaMA vocabulary, cached in the OS temp folder (`camelid-bench/`) between runs.
 *
 *   random-24m           dim 384, 7 layers, FFN 1024, tied embeddings, F32 (24.6M parameters; compute-bound)
 *   random-110m-<type>   the stories110M shape: dim 768, 12 layers, 12 heads, FFN 2048, untied output
 *                        (~134M parameters with the 32000-token vocabulary)
 *   random-1b-<type>     the TinyLlama-1.1B shape: dim 2048, 22 layers, 32 heads, 4 KV heads (GQA), FFN 5632
 *
 * <type> is f32, f16, q8_0 or q4_0. Decoding one token reads every weight once, so on a CPU the larger
 * models are memory-bandwidth-bound: the case where decoding 8 sequences in one batch pays off.
 *
 *   npx tsx bench/bench-models.ts random-110m-q8_0 random-1b-q4_0   # writes them ahead of a run
 */
import { existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeRandomLlamaGguf, type RandomLlamaOptions } from "../src/gguf/random-llama.js";

const shared = resolve(import.meta.dirname, "../../shared");
const vocabulary = () => join(shared, "tokenizers", "ggml-vocab-llama-spm.gguf");
const tensorTypes = { f32: "F32", f16: "F16", q8_0: "Q8_0", q4_0: "Q4_0" } as const;
type TypeSuffix = keyof typeof tensorTypes;

type Shape = Omit<RandomLlamaOptions, "path" | "vocabFrom" | "tensorType">;
const shapes: Record<string, Shape> = {
  "random-24m": { dim: 384, layers: 7, heads: 6, kvHeads: 6, hiddenDim: 1024, tiedEmbeddings: true, seed: 24, name: "camelid-random-llama-24m" },
  "random-110m": { dim: 768, layers: 12, heads: 12, kvHeads: 12, hiddenDim: 2048, seed: 110, name: "camelid-random-llama-110m" },
  "random-1b": { dim: 2048, layers: 22, heads: 32, kvHeads: 4, hiddenDim: 5632, seed: 1100, name: "camelid-random-llama-1b" },
};

export const benchModelNames = [
  "stories260K",
  "random-24m",
  ...["random-110m", "random-1b"].flatMap((shape) => Object.keys(tensorTypes).map((type) => `${shape}-${type}`)),
];

/** Parses "random-110m-q8_0" into its shape and tensor type; random-24m is F32 as in earlier runs. */
function parseName(name: string): { shape: Shape; type: (typeof tensorTypes)[TypeSuffix] } | undefined {
  if (name === "random-24m") return { shape: shapes["random-24m"], type: "F32" };
  const match = /^(random-110m|random-1b)-(f32|f16|q8_0|q4_0)$/.exec(name);
  if (!match) return undefined;
  return { shape: shapes[match[1]], type: tensorTypes[match[2] as TypeSuffix] };
}

/** Path of the named model, writing it first when it is not cached. A path to a .gguf file passes through. */
export async function benchModelPath(name: string, log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Promise<string> {
  if (name === "stories260K") return join(shared, "models", "stories260K.gguf");
  if (name.endsWith(".gguf")) return resolve(name);
  const parsed = parseName(name);
  if (!parsed) throw new Error(`unknown bench model "${name}"; known: ${benchModelNames.join(", ")} or a path to a .gguf file`);
  const folder = join(tmpdir(), "camelid-bench");
  mkdirSync(folder, { recursive: true });
  const path = join(folder, `${name}.gguf`);
  if (existsSync(path)) return path;
  const started = performance.now();
  log(`writing ${path} ...`);
  // Written under a temporary name: a killed run never leaves a truncated model behind for the next.
  const partial = `${path}.partial-${process.pid}`;
  const result = await writeRandomLlamaGguf({ ...parsed.shape, path: partial, vocabFrom: vocabulary(), tensorType: parsed.type, contextLength: 2048 });
  renameSync(partial, path);
  log(`wrote ${name}: ${(result.parameterCount / 1e6).toFixed(1)}M parameters, ${(statSync(path).size / 2 ** 20).toFixed(0)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return path;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  for (const name of process.argv.slice(2)) await benchModelPath(name);
}
