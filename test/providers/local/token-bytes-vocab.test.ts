// Whole-character decoding checked against real tokenizers: text is tokenized by llama.cpp, then
// the tokens are fed one at a time through the decoder the local provider streams with.
import { afterAll, describe, expect, it } from "vitest";
import { getLlamaRuntime, type LlamaModel } from "../../../src/providers/local/llama-runtime.js";
import { buildTokenBytesTable, IncrementalTokenDecoder } from "../../../src/providers/local/token-bytes.js";
import { sharedPath, stories260KPath } from "../../support/shared-data.js";

const TEXT = "안녕하세요 세계! 😀🦙 café — 日本語";
const loaded: LlamaModel[] = [];

async function loadVocabulary(path: string): Promise<LlamaModel> {
  const llama = await getLlamaRuntime();
  const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
  loaded.push(model);
  return model;
}

afterAll(async () => {
  for (const model of loaded) await model.dispose();
});

const vocabularies = [
  { name: "stories260K (SentencePiece, 512 tokens)", path: () => stories260KPath(), dummyPrefix: true },
  { name: "llama-spm (SentencePiece, 32000 tokens)", path: () => sharedPath("tokenizers", "ggml-vocab-llama-spm.gguf"), dummyPrefix: true },
  // Byte-level BPE (GPT-2 alphabet) is covered by pure.test.ts: loading the 128k llama-bpe vocabulary
  // takes llama.cpp ~7 s on this machine, too slow for the suite.
];

describe.each(vocabularies)("$name", ({ path, dummyPrefix }) => {
  it("emits only whole UTF-8 characters, token by token, and reassembles the text exactly", async () => {
    const model = await loadVocabulary(path());
    const metadata = model.fileInfo.metadata as unknown as { tokenizer: { ggml: { model: string; tokens: string[]; token_type?: number[] } } };
    const table = buildTokenBytesTable({
      model: metadata.tokenizer.ggml.model,
      tokens: metadata.tokenizer.ggml.tokens,
      tokenTypes: metadata.tokenizer.ggml.token_type,
    });
    const tokens = model.tokenize(TEXT, false);
    const decoder = new IncrementalTokenDecoder(table);
    const pieces = tokens.map((token) => decoder.push(token));
    const tail = decoder.flush();
    expect(tail).toBe("");
    for (const piece of pieces) {
      expect(piece).not.toContain("\uFFFD");
      // A lone surrogate would mean half an emoji.
      expect(piece).toBe(Buffer.from(piece, "utf8").toString("utf8"));
    }
    // Some token carried only part of a character, and the decoder waited for the rest.
    expect(pieces.filter((piece) => piece === "").length).toBeGreaterThan(0);
    expect(pieces.join("")).toBe(dummyPrefix ? ` ${TEXT}` : TEXT);
  });
});
