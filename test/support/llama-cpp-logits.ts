import { getLlamaRuntime } from "../../src/providers/local/llama-runtime.js";

// node-llama-cpp's branded token type, derived so that only llama-runtime.ts imports the package
type LoadedModel = Awaited<ReturnType<Awaited<ReturnType<typeof getLlamaRuntime>>["loadModel"]>>;
type Token = ReturnType<LoadedModel["tokenize"]>[number];

/** llama.cpp's full logit vector at every position (F32 K/V cache so it computes what our float32 engine does). */
export async function llamaCppLogits(modelPath: string, tokens: number[], vocabSize: number, adapterPath?: string): Promise<Float32Array[]> {
  const llama = await getLlamaRuntime();
  const model = await llama.loadModel({ modelPath });
  try {
    // llama.cpp keeps K/V in F16 by default; F32 makes it compute what our float32 engine computes
    const context = await model.createContext({
      contextSize: 64,
      sequences: 1,
      flashAttention: false,
      experimentalKvCacheKeyType: "F32",
      experimentalKvCacheValueType: "F32",
      ...(adapterPath ? { lora: { adapters: [{ filePath: adapterPath, scale: 1 }] } } : {}),
    });
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

/** max over positions of max_v |ours - theirs| / max_v |theirs|. */
export function maxRelativeError(ours: Float32Array, theirs: Float32Array[], vocabSize: number): number {
  let worst = 0;
  theirs.forEach((row, t) => {
    let maxDiff = 0, maxRef = 0;
    for (let v = 0; v < vocabSize; v++) {
      maxDiff = Math.max(maxDiff, Math.abs(ours[t * vocabSize + v] - row[v]));
      maxRef = Math.max(maxRef, Math.abs(row[v]));
    }
    worst = Math.max(worst, maxDiff / maxRef);
  });
  return worst;
}
