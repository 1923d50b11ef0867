import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeRandomLlamaGguf } from "../../src/gguf/index.js";
import { LlamaModel } from "../../src/engine/model/llama-model.js";
import { loadLlamaGguf } from "../../src/engine/model/gguf-model.js";
import { getLlamaRuntime } from "../../src/providers/local/llama-runtime.js";
import { sharedPath, stories260KPath } from "../support/shared-data.js";

// Our forward pass against llama.cpp's (through node-llama-cpp) on the same GGUF: every position's
// full logit vector. Error measure: max over positions of max_v |ours - llama.cpp| / max_v |llama.cpp|.

const workDir = mkdtempSync(join(tmpdir(), "camelid-engine-logits-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

// node-llama-cpp's branded token type, derived so that only llama-runtime.ts imports the package
type LoadedModel = Awaited<ReturnType<Awaited<ReturnType<typeof getLlamaRuntime>>["loadModel"]>>;
type Token = ReturnType<LoadedModel["tokenize"]>[number];

async function llamaCppLogits(modelPath: string, tokens: number[], vocabSize: number): Promise<Float32Array[]> {
  const llama = await getLlamaRuntime();
  const model = await llama.loadModel({ modelPath });
  try {
    // llama.cpp keeps K/V in F16 by default; F32 makes it compute what our float32 engine computes
    const context = await model.createContext({ contextSize: 64, sequences: 1, flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" });
    try {
      const sequence = context.getSequence();
      const input = tokens.map((token) => [token as Token, { generateNext: { logits: true } }] as [Token, { generateNext: { logits: true } }]);
      const results = await sequence.controlledEvaluate(input);
      return results.map((result, position) => {
        const logits = result?.next?.logits;
        if (!logits) throw new Error(`llama.cpp returned no logits at position ${position}`);
        if (logits.size !== vocabSize) throw new Error(`llama.cpp returned ${logits.size} logits at position ${position}, expected ${vocabSize}`);
        const row = new Float32Array(vocabSize);
        for (const [token, value] of logits) row[token] = value;
        return row;
      });
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

async function compare(modelPath: string, tokens: number[]) {
  const { config, weights } = await loadLlamaGguf(modelPath);
  const engine = new LlamaModel(config, weights);
  engine.forward({ tokens: Int32Array.from(tokens) }, 1, tokens.length);
  const ours = engine.logits;
  const theirs = await llamaCppLogits(modelPath, tokens, config.vocabSize);
  expect(theirs.length).toBe(tokens.length);
  let worst = 0;
  theirs.forEach((row, t) => {
    let maxDiff = 0, maxRef = 0;
    for (let v = 0; v < row.length; v++) {
      maxDiff = Math.max(maxDiff, Math.abs(ours[t * config.vocabSize + v] - row[v]));
      maxRef = Math.max(maxRef, Math.abs(row[v]));
    }
    worst = Math.max(worst, maxDiff / maxRef);
  });
  console.log(`${modelPath.split("/").pop()}: max relative logit error vs llama.cpp ${worst.toExponential(2)}`);
  return worst;
}

const sampleTokens = (count: number, vocab: number) => [1, ...Array.from({ length: count - 1 }, (_, i) => (i * 7919 + 13) % (vocab - 3) + 3)];

describe("forward logits match llama.cpp", () => {
  it("stories260K (GQA 8/4 heads, 5 layers)", async () => {
    // "Once upon a time, there was a little girl" as tok512 ids would do as well; any ids exercise RoPE
    const error = await compare(stories260KPath(), sampleTokens(40, 512));
    expect(error).toBeLessThanOrEqual(1e-4); // the issue asks for 1e-3; we measure ~1e-6
  });

  it("random GQA fixture (8 heads, 2 KV heads), separate output head, F32", async () => {
    const path = join(workDir, "gqa.gguf");
    await writeRandomLlamaGguf({ path, vocabFrom: sharedPath("tokenizers", "ggml-vocab-llama-spm.gguf"), dim: 64, layers: 2, heads: 8, kvHeads: 2, hiddenDim: 96, ropeTheta: 500000, seed: 5 });
    expect(await compare(path, sampleTokens(24, 32000))).toBeLessThanOrEqual(1e-4);
  });

  it("random MQA fixture (1 KV head), tied embeddings, F32", async () => {
    const path = join(workDir, "mqa-tied.gguf");
    await writeRandomLlamaGguf({ path, vocabFrom: sharedPath("tokenizers", "ggml-vocab-llama-spm.gguf"), dim: 64, layers: 2, heads: 4, kvHeads: 1, hiddenDim: 128, tiedEmbeddings: true, seed: 6 });
    expect(await compare(path, sampleTokens(24, 32000))).toBeLessThanOrEqual(1e-4);
  });

  it("random Q8_0 fixture: weights dequantised on load (llama.cpp also quantises activations, so looser)", async () => {
    const path = join(workDir, "q8.gguf");
    await writeRandomLlamaGguf({ path, vocabFrom: sharedPath("tokenizers", "ggml-vocab-llama-spm.gguf"), dim: 64, layers: 2, heads: 8, kvHeads: 2, hiddenDim: 128, tensorType: "Q8_0", seed: 7 });
    expect(await compare(path, sampleTokens(16, 32000))).toBeLessThanOrEqual(3e-2);
  });
});
