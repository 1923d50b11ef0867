// A stand-in vocabulary for conversion tests: the tokenizer.* entries of a vocab GGUF in ../shared,
// padded with placeholder tokens to the checkpoint's vocab_size so llama.cpp loads the model (these tests
// check tensors, llama.* metadata and logits; the tokenizer goldens are the vocabulary module's).
import { readGgufHeader, type GgufArray, type GgufValue } from "../../src/gguf/index.js";
import type { VocabularyConverter } from "../../src/convert/convert-model.js";

function resize(array: GgufArray, size: number, fill: (i: number) => string | number): GgufArray {
  if (array.elementType === "string") return { elementType: "string", values: Array.from({ length: size }, (_, i) => array.values[i] ?? (fill(i) as string)) };
  if (array.elementType === "float32") return { elementType: "float32", values: Float32Array.from({ length: size }, (_, i) => array.values[i] ?? (fill(i) as number)) };
  if (array.elementType === "int32") return { elementType: "int32", values: Int32Array.from({ length: size }, (_, i) => array.values[i] ?? (fill(i) as number)) };
  return array;
}

export function vocabularyFromGguf(path: string): VocabularyConverter {
  let header: ReturnType<typeof readGgufHeader> | undefined;
  return async (_folder, { vocabSize }) => {
    header ??= readGgufHeader(path); // parsed once per stand-in: 32000 token strings are not free
    const { metadata } = await header;
    const entries: [string, GgufValue][] = [...metadata]
      .filter(([key]) => key.startsWith("tokenizer."))
      .map(([key, value]): [string, GgufValue] => {
        if (value.type !== "array") return [key, value];
        if (key === "tokenizer.ggml.tokens") return [key, { type: "array", value: resize(value.value, vocabSize, (i) => `<extra_${i}>`) }];
        if (key === "tokenizer.ggml.scores") return [key, { type: "array", value: resize(value.value, vocabSize, () => 0) }];
        if (key === "tokenizer.ggml.token_type") return [key, { type: "array", value: resize(value.value, vocabSize, () => 1) }];
        return [key, value];
      });
    return { entries };
  };
}
