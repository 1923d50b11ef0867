// What llama.cpp needs from a model file beyond a well-formed GGUF, checked before the file is handed
// to node-llama-cpp: on a corrupt file that library's own parser can loop without bound, and llama.cpp
// aborts the whole process (GGML_ASSERT) on e.g. a vocabulary with a duplicated token. Each check
// names what is wrong, so a bad model is a ModelLoadError with a reason, never a crash or a hang.
import { ModelLoadError } from "../errors/index.js";
import { metadataNumber, metadataString } from "./metadata-values.js";
import { alignUp } from "./header-parser.js";
import { readGgufHeader, type GgufReadOptions } from "./reader.js";
import type { GgufHeader, GgufTensorInfo } from "./types.js";

/**
 * Parses `path`'s header (full structural validation) and checks it as a model llama.cpp can load; the
 * other files of a split model (`name-00001-of-00003.gguf`) are read and checked too.
 */
export async function checkModelFile(path: string, options: GgufReadOptions = {}): Promise<GgufHeader> {
  const header = await readGgufHeader(path, options);
  checkModelHeader(header, path);
  for (const part of splitPartPaths(path, metadataNumber(header.metadata, "split.count") ?? 1).slice(1)) await checkTensorFile(part, options);
  return header;
}

/** llama.cpp's split file names (llama_split_path): `prefix-00001-of-00003.gguf` for each part. */
function splitPartPaths(path: string, count: number): string[] {
  const match = /^(.*)-\d{5}-of-(\d{5})\.gguf$/.exec(path);
  if (count <= 1 || !match || Number(match[2]) !== count) return [path];
  return Array.from({ length: count }, (_, index) => `${match[1]}-${String(index + 1).padStart(5, "0")}-of-${match[2]}.gguf`);
}

/** Parses `path`'s header and checks that the tensor data is laid out as ggml requires (LoRA adapters, vocabularies). */
export async function checkTensorFile(path: string, options: GgufReadOptions = {}): Promise<GgufHeader> {
  const header = await readGgufHeader(path, options);
  checkTensorLayout(header, path);
  return header;
}

export function checkModelHeader(header: GgufHeader, source: string): void {
  const fail = (problem: string): never => {
    throw new ModelLoadError(source, `${source}: not a loadable model: ${problem}`);
  };
  const architecture = metadataString(header.metadata, "general.architecture");
  if (!architecture) fail(`general.architecture is ${header.metadata.has("general.architecture") ? "not a string" : "missing"}`);
  for (const key of ["block_count", "embedding_length", "context_length"]) {
    const value = metadataNumber(header.metadata, `${architecture}.${key}`);
    if (value === undefined) fail(`metadata ${architecture}.${key} is missing or not a number`);
    if (!(value! > 0) || !Number.isSafeInteger(value)) fail(`metadata ${architecture}.${key} is ${value}, not a positive integer`);
  }
  const vocabularySize = checkVocabulary(header, fail);
  checkTensorLayout(header, source);
  // A split model (gguf-split) keeps the other tensors in its other files: only whole files are checked for tensors.
  const splitCount = metadataNumber(header.metadata, "split.count") ?? 1;
  if (architecture === "llama" && splitCount <= 1) checkLlamaTensors(header, vocabularySize, fail);
}

/** Parses `path`'s header and checks its vocabulary, as llama.cpp's vocabulary-only load needs it. */
export async function checkVocabularyFile(path: string, options: GgufReadOptions = {}): Promise<GgufHeader> {
  const header = await readGgufHeader(path, options);
  checkVocabulary(header, (problem) => {
    throw new ModelLoadError(path, `${path}: not a usable vocabulary: ${problem}`);
  });
  return header;
}

/** tokenizer.ggml.*: llama.cpp indexes scores and types by token id and asserts that tokens are unique. */
function checkVocabulary(header: GgufHeader, fail: (problem: string) => never): number {
  const tokens = header.metadata.get("tokenizer.ggml.tokens");
  if (!tokens) fail("tokenizer.ggml.tokens (the vocabulary) is missing");
  if (tokens!.type !== "array" || tokens!.value.elementType !== "string") fail("tokenizer.ggml.tokens is not an array of strings");
  const values = tokens!.value.values as string[];
  if (values.length === 0) fail("the vocabulary (tokenizer.ggml.tokens) is empty");
  if (!metadataString(header.metadata, "tokenizer.ggml.model")) fail("tokenizer.ggml.model (the tokenizer type) is missing");
  const seen = new Map<string, number>();
  for (const [id, token] of values.entries()) {
    const first = seen.get(token);
    if (first !== undefined) fail(`the vocabulary lists the token ${JSON.stringify(token)} twice (ids ${first} and ${id})`);
    seen.set(token, id);
  }
  for (const key of ["tokenizer.ggml.scores", "tokenizer.ggml.token_type"]) {
    const value = header.metadata.get(key);
    if (value === undefined) continue;
    if (value.type !== "array") fail(`${key} is not an array`);
    const length = (value as { value: { values: ArrayLike<unknown> } }).value.values.length;
    if (length !== values.length) fail(`${key} has ${length} entries for ${values.length} tokens`);
  }
  return values.length;
}

/**
 * ggml (gguf.cpp) requires each tensor's data to start where the previous one's padded data ends, in
 * header order; a file that breaks this is refused by llama.cpp with a terse message, so name it here.
 */
export function checkTensorLayout(header: GgufHeader, source: string): void {
  let expected = 0;
  for (const tensor of header.tensors) {
    if (tensor.offset !== expected) {
      throw new ModelLoadError(source, `${source}: not a loadable model: tensor "${tensor.name}" data starts at offset ${tensor.offset} of the data section, expected ${expected} (tensors overlap or leave gaps)`);
    }
    expected += alignUp(tensor.byteLength, header.alignment);
  }
}

/** The tensors of a LLaMA model (llama.cpp's LLM_ARCH_LLAMA names) with the shapes its metadata implies. */
function checkLlamaTensors(header: GgufHeader, vocabularySize: number, fail: (problem: string) => never): void {
  const byName = new Map<string, GgufTensorInfo>(header.tensors.map((tensor) => [tensor.name, tensor]));
  const embedding = metadataNumber(header.metadata, "llama.embedding_length")!;
  const layers = metadataNumber(header.metadata, "llama.block_count")!;
  const heads = metadataNumber(header.metadata, "llama.attention.head_count");
  const kvHeads = metadataNumber(header.metadata, "llama.attention.head_count_kv") ?? heads;
  const feedForward = metadataNumber(header.metadata, "llama.feed_forward_length") ?? -1;
  if (heads !== undefined && (!(heads > 0) || !(kvHeads! > 0) || embedding % heads !== 0 || heads % kvHeads! !== 0)) {
    fail(`${heads} attention heads (${kvHeads} key/value heads) do not divide an embedding of ${embedding}`);
  }
  // Unknown sizes (-1) match any; llama.cpp derives head size from embedding / heads unless key_length says otherwise.
  const headSize = metadataNumber(header.metadata, "llama.attention.key_length") ?? (heads ? embedding / heads : -1);
  const queryWidth = heads ? headSize * heads : -1;
  const keyValueWidth = heads ? headSize * kvHeads! : -1;
  const expectShape = (name: string, dims: number[], optional = false) => {
    const tensor = byName.get(name);
    if (!tensor) {
      if (optional) return;
      fail(`tensor ${name} is missing`);
    }
    const actual = tensor!.dims;
    const matches = actual.length === dims.length && dims.every((dim, index) => dim < 0 || actual[index] === dim);
    if (!matches) fail(`tensor ${name} has shape [${actual.join(", ")}], expected [${dims.map((dim) => (dim < 0 ? "*" : dim)).join(", ")}]`);
  };
  expectShape("token_embd.weight", [embedding, vocabularySize]);
  expectShape("output_norm.weight", [embedding]);
  expectShape("output.weight", [embedding, vocabularySize], true);
  for (let layer = 0; layer < layers; layer++) {
    const block = `blk.${layer}`;
    expectShape(`${block}.attn_norm.weight`, [embedding]);
    expectShape(`${block}.attn_q.weight`, [embedding, queryWidth]);
    for (const matrix of ["attn_k", "attn_v"]) expectShape(`${block}.${matrix}.weight`, [embedding, keyValueWidth]);
    expectShape(`${block}.attn_output.weight`, [queryWidth, embedding]);
    expectShape(`${block}.ffn_norm.weight`, [embedding]);
    // Mixture-of-experts LLaMA files keep their experts in ffn_*_exps tensors instead.
    if (byName.has(`${block}.ffn_gate_inp.weight`)) continue;
    expectShape(`${block}.ffn_gate.weight`, [embedding, feedForward]);
    expectShape(`${block}.ffn_up.weight`, [embedding, feedForward]);
    expectShape(`${block}.ffn_down.weight`, [feedForward, embedding]);
  }
}
