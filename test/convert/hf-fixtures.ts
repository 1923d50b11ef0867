// The tiny Hugging Face LLaMA checkpoints of the conversion goldens. scripts/golden/make_convert_golden.py
// runs this file to write them, loads them into transformers and runs llama.cpp's converter on them; the
// tests rebuild the same folders (byte for byte: the golden records their sha256) without Python.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { writeRandomHfLlama, type RandomHfLlamaOptions } from "../../src/convert/random-hf-llama.js";
import { sharedPath } from "../support/shared-data.js";

export interface ConvertFixture {
  name: string;
  options: () => RandomHfLlamaOptions;
}

const spmTokenizer = () => [sharedPath("tokenizers", "llama2-spm", "tokenizer.model")];
const bpeTokenizer = () => [sharedPath("tokenizers", "smollm2", "tokenizer.json")];

export const CONVERT_FIXTURES: ConvertFixture[] = [
  {
    // MHA, untied output, F32 weights, SentencePiece vocabulary, sampling defaults in generation_config.json
    name: "mha-untied",
    options: () => ({
      hiddenSize: 64,
      intermediateSize: 128,
      layers: 2,
      heads: 4,
      kvHeads: 4,
      vocabSize: 32000,
      tiedEmbeddings: false,
      dtype: "F32",
      seed: 17,
      rmsNormEps: 1e-5,
      ropeTheta: 10000,
      generationConfig: { bos_token_id: 1, eos_token_id: 2, do_sample: true, temperature: 0.6, top_p: 0.9, top_k: 40, max_length: 2048 },
      tokenizerFiles: spmTokenizer(),
    }),
  },
  {
    // GQA (4 query heads, 2 K/V heads), tied embeddings, BF16 weights, Llama-3 RoPE scaling (rope_freqs tensor)
    name: "gqa-tied-llama3",
    options: () => ({
      hiddenSize: 64,
      intermediateSize: 96,
      layers: 2,
      heads: 4,
      kvHeads: 2,
      vocabSize: 32000,
      tiedEmbeddings: true,
      dtype: "BF16",
      seed: 23,
      rmsNormEps: 1e-6,
      ropeTheta: 500000,
      maxPositionEmbeddings: 256,
      ropeScaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
      tokenizerFiles: spmTokenizer(),
    }),
  },
  {
    // one K/V head (MQA), F16 weights, linear RoPE scaling, byte-level BPE vocabulary (SmolLM2)
    name: "mqa-linear-bpe",
    options: () => ({
      hiddenSize: 64,
      intermediateSize: 128,
      layers: 2,
      heads: 4,
      kvHeads: 1,
      vocabSize: 49152,
      tiedEmbeddings: false,
      dtype: "F16",
      seed: 31,
      ropeTheta: 10000,
      ropeScaling: { rope_type: "linear", factor: 2 },
      bosTokenId: 1,
      eosTokenId: 2,
      tokenizerFiles: bpeTokenizer(),
    }),
  },
];

/** Token sequences whose logits the golden records (ids valid in every fixture's vocabulary). */
export const LOGIT_SEQUENCES: number[][] = [
  [1, 450, 4996, 17354, 1701, 29916],
  [1, 15043, 29892, 3186, 29991, 306, 626, 263],
];

export async function writeConvertFixture(fixture: ConvertFixture, parent: string): Promise<string> {
  const folder = join(parent, fixture.name);
  await writeRandomHfLlama(folder, fixture.options());
  return folder;
}

// `tsx test/convert/hf-fixtures.ts OUT_DIR`: writes every fixture under OUT_DIR and prints the sequences.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const parent = process.argv[2];
  if (!parent) throw new Error("usage: tsx test/convert/hf-fixtures.ts OUT_DIR");
  for (const fixture of CONVERT_FIXTURES) await writeConvertFixture(fixture, parent);
  console.log(JSON.stringify({ fixtures: CONVERT_FIXTURES.map((f) => f.name), sequences: LOGIT_SEQUENCES }));
}
