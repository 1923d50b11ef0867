// Byte-compatibility proof: files written by our writer load and generate in llama.cpp (node-llama-cpp).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GgufReader } from "../../src/gguf/reader.js";
import { writeRandomLlamaGguf } from "../../src/gguf/random-llama.js";
import type { GgmlTypeName } from "../../src/gguf/types.js";
import { writeGguf, type GgufTensorInput } from "../../src/gguf/writer.js";
import { getLlamaRuntime } from "../../src/providers/local/llama-runtime.js";
import { sharedPath, stories260KPath } from "../support/shared-data.js";

type Llama = Awaited<ReturnType<typeof getLlamaRuntime>>;

const workDir = mkdtempSync(join(tmpdir(), "camelid-gguf-load-"));
let llama: Llama;
beforeAll(async () => {
  llama = await getLlamaRuntime();
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/**
 * Greedy continuation of `prompt` (tokenized without adding BOS: with those ids llama.cpp's greedy
 * output on the original stories260K.gguf is exactly the text quoted in ../shared/README.md).
 */
async function greedy(path: string, prompt: string, tokens: number): Promise<{ ids: number[]; text: string }> {
  const model = await llama.loadModel({ modelPath: path });
  try {
    // One thread: on a shared 2-core machine spinning worker threads only fight each other.
    const context = await model.createContext({ contextSize: 128, threads: 1 });
    try {
      const sequence = context.getSequence();
      const input = model.tokenize(prompt);
      const ids: (typeof input)[number][] = [];
      for await (const token of sequence.evaluate(input, { temperature: 0 })) {
        ids.push(token);
        if (ids.length >= tokens) break;
      }
      return { ids, text: model.detokenize(ids) };
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

// From ../shared/README.md: llama.cpp's greedy continuation of "Once upon a time" on stories260K.
const STORIES_REFERENCE = ", there was a little girl named Lily. She loved to play with her toys and her friends. One day, Lily";

describe("files we write load in llama.cpp", () => {
  it("stories260K re-encoded with F16, Q8_0 and Q4_0 tensors generates the reference text", async () => {
    const reader = await GgufReader.open(stories260KPath());
    const tensors: GgufTensorInput[] = [];
    const cycle: GgmlTypeName[] = ["Q4_0", "Q8_0", "F16"];
    try {
      for (const [index, tensor] of reader.tensors.entries()) {
        // Matrices take the three encodings in turn (rows that are not whole 32-element blocks take F16);
        // norm vectors stay F32 as llama.cpp's converters keep them.
        let type: GgmlTypeName = "F32";
        if (tensor.dims.length === 2) type = tensor.dims[0] % 32 === 0 ? cycle[index % 3] : "F16";
        tensors.push({ name: tensor.name, dims: tensor.dims, type, data: await reader.tensorFloats(tensor.name) });
      }
    } finally {
      await reader.close();
    }
    for (const type of cycle) expect(tensors.filter((t) => t.type === type).length, type).toBeGreaterThanOrEqual(8);
    const path = join(workDir, "stories-mixed.gguf");
    await writeGguf(path, { metadata: reader.metadata, tensors });
    const { text } = await greedy(path, "Once upon a time", 30);
    expect(text).toBe(STORIES_REFERENCE);
  });

  it("a LLaMA-1-style MHA model with the 32000-token SentencePiece vocabulary", async () => {
    const path = join(workDir, "mha.gguf");
    const result = await writeRandomLlamaGguf({
      path,
      vocabFrom: sharedPath("tokenizers", "ggml-vocab-llama-spm.gguf"),
      dim: 64,
      layers: 2,
      heads: 4,
      kvHeads: 4,
      hiddenDim: 172,
      contextLength: 256,
      tensorType: "F32",
      seed: 1,
      name: "test-mha",
    });
    expect(result.vocabSize).toBe(32000);
    const { ids, text } = await greedy(path, "The llama", 12);
    expect(ids).toHaveLength(12);
    expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < 32000)).toBe(true);
    // Random but not degenerate: greedy decoding does not collapse onto one token.
    expect(new Set(ids).size).toBeGreaterThanOrEqual(4);
    expect(text.length).toBeGreaterThan(0);
  });

  it("a LLaMA-2-style GQA model, Q8_0 with tied embeddings", async () => {
    const path = join(workDir, "gqa.gguf");
    await writeRandomLlamaGguf({
      path,
      vocabFrom: sharedPath("tokenizers", "ggml-vocab-llama-spm.gguf"),
      dim: 128,
      layers: 2,
      heads: 8,
      kvHeads: 2,
      hiddenDim: 256,
      contextLength: 512,
      ropeTheta: 10000,
      tensorType: "Q8_0",
      tiedEmbeddings: true,
      seed: 2,
      name: "test-gqa",
    });
    const { ids } = await greedy(path, "The llama", 12);
    expect(ids).toHaveLength(12);
    expect(new Set(ids).size).toBeGreaterThanOrEqual(4);
  });
});
