import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { convertHfVocabulary, parseSentencePieceModel } from "../../src/convert/vocabulary/index.js";
import { InvalidArgumentError, TokenizerFileError } from "../../src/errors/index.js";
import { sharedPath } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";
import { buildFolder } from "./vocabulary-folders.js";

const newDirectory = temporaryDirectories("camelid-vocab-errors-");
const LLAMA_CONFIG = { architectures: ["LlamaForCausalLM"], model_type: "llama", vocab_size: 32000 };

/** The TokenizerFileError a conversion rejects with (fails the test when it resolves or throws something else). */
async function conversionError(folder: string, vocabSize: number): Promise<TokenizerFileError> {
  const error = await convertHfVocabulary(folder, { vocabSize }).then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(TokenizerFileError);
  return error as TokenizerFileError;
}

// A hand-written ModelProto: pieces (field 1: piece 1, score 2, type 3) and a trainer_spec (field 2).
function varint(value: number): number[] {
  const bytes: number[] = [];
  do {
    bytes.push((value & 0x7f) | (value >= 0x80 ? 0x80 : 0));
    value = Math.floor(value / 128);
  } while (value > 0);
  return bytes;
}
function lengthDelimited(field: number, payload: number[]): number[] {
  return [...varint(field * 8 + 2), ...varint(payload.length), ...payload];
}
function piece(text: number[], score: number, type: number): number[] {
  const scoreBytes = [...new Uint8Array(new Float32Array([score]).buffer)];
  return lengthDelimited(1, [...lengthDelimited(1, text), 0x15, ...scoreBytes, 0x18, type]);
}
const utf8 = (text: string) => [...Buffer.from(text, "utf8")];
const TRAINER_SPEC = lengthDelimited(2, [0x18, 0x02]);

/** A tiny byte-level BPE tokenizer.json: GPT-2's 256 byte characters, one merge, no added tokens. */
function tinyByteLevelTokenizer(): Record<string, any> {
  const printable = (byte: number) => (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
  const vocab: Record<string, number> = {};
  let extra = 0;
  for (let byte = 0; byte < 256; byte++) vocab[String.fromCodePoint(printable(byte) ? byte : 256 + extra++)] = byte;
  vocab["ab"] = 256;
  return {
    model: { type: "BPE", vocab, merges: ["a b"] },
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    added_tokens: [],
  };
}

describe("convertHfVocabulary rejects bad input with a TokenizerFileError naming the file", () => {
  let spmModel: Buffer;
  const tiny = tinyByteLevelTokenizer();
  beforeAll(() => {
    spmModel = readFileSync(sharedPath("tokenizers", "llama2-spm", "tokenizer.model"));
  });

  async function folderWith(files: Record<string, string | Uint8Array>): Promise<string> {
    const folder = await buildFolder({ json: { "config.json": LLAMA_CONFIG } }, newDirectory());
    for (const [name, content] of Object.entries(files)) writeFileSync(join(folder, name), content);
    return folder;
  }

  it("a folder without any tokenizer", async () => {
    const folder = await folderWith({});
    const error = await conversionError(folder, 32000);
    expect(error.problem).toBe("missing");
    expect(error.file).toBe(folder);
    expect(error.message).toMatch(/tokenizer\.model.*tokenizer\.json/);
  });

  it("a tokenizer.json that is not JSON, or whose vocabulary or merges have the wrong shape", async () => {
    const cut = await conversionError(await folderWith({ "tokenizer.json": JSON.stringify(tiny).slice(0, 500) }), 257);
    expect([cut.problem, cut.file.endsWith("tokenizer.json")]).toEqual(["malformed", true]);
    expect(cut.message).toMatch(/not valid JSON/);

    const vocab = await conversionError(await folderWith({ "tokenizer.json": JSON.stringify({ ...tiny, model: { ...tiny.model, vocab: ["a"] } }) }), 257);
    expect([vocab.problem, vocab.message]).toEqual(["malformed", expect.stringMatching(/model\.vocab must be an object/)]);

    const merges = await conversionError(await folderWith({ "tokenizer.json": JSON.stringify({ ...tiny, model: { ...tiny.model, merges: [7, 8] } }) }), 257);
    expect([merges.problem, merges.message]).toEqual(["malformed", expect.stringMatching(/Unknown tokenizer merges format/)]);

    const config = await conversionError(await folderWith({ "tokenizer.json": JSON.stringify(tiny), "tokenizer_config.json": "[1, 2" }), 257);
    expect([config.problem, config.file.endsWith("tokenizer_config.json")]).toEqual(["malformed", true]);
  });

  it("a truncated tokenizer.model, cut inside a piece or cleanly after the pieces", async () => {
    const inside = await conversionError(await folderWith({ "tokenizer.model": spmModel.subarray(0, 100_001) }), 32000);
    expect([inside.problem, inside.file.endsWith("tokenizer.model")]).toEqual(["truncated", true]);
    expect(inside.message).toMatch(/runs past the end/);

    const piecesOnly = Uint8Array.from([...piece(utf8("<unk>"), 0, 2), ...piece(utf8("▁a"), -1, 1)]);
    const clean = await conversionError(await folderWith({ "tokenizer.model": piecesOnly }), 32000);
    expect([clean.problem, clean.message]).toEqual(["truncated", expect.stringMatching(/ends after 2 pieces without the trainer_spec/)]);
    // the same pieces with their trainer_spec are a valid model
    expect(parseSentencePieceModel(Uint8Array.from([...piecesOnly, ...TRAINER_SPEC]), "tokenizer.model")).toEqual([
      { piece: "<unk>", score: 0, type: 2 },
      { piece: "▁a", score: -1, type: 1 },
    ]);
  });

  it("a vocabulary larger than config.json's vocab_size", async () => {
    const spm = await conversionError(await folderWith({ "tokenizer.model": spmModel }), 31999);
    expect([spm.problem, spm.message]).toEqual(["vocab_size", expect.stringMatching(/32000 pieces but config\.json vocab_size is 31999/)]);
    const bpe = await conversionError(await folderWith({ "tokenizer.json": JSON.stringify(tiny) }), 200);
    expect([bpe.problem, bpe.message]).toEqual(["vocab_size", expect.stringMatching(/token id 256 but config\.json vocab_size is 200/)]);
  });

  it("invalid UTF-8 in tokenizer.json or in a tokenizer.model piece", async () => {
    const json = Buffer.concat([Buffer.from('{"model": {"type": "BPE", "vocab": {"'), Buffer.from([0xc3, 0x28]), Buffer.from('": 0}}}')]);
    const inJson = await conversionError(await folderWith({ "tokenizer.json": json }), 32000);
    expect([inJson.problem, inJson.file.endsWith("tokenizer.json"), inJson.message]).toEqual(["invalid_utf8", true, expect.stringMatching(/offset 37/)]);

    const model = Uint8Array.from([...piece(utf8("<unk>"), 0, 2), ...piece([0x61, 0xff], 0, 1), ...TRAINER_SPEC]);
    const inModel = await conversionError(await folderWith({ "tokenizer.model": model }), 32000);
    expect([inModel.problem, inModel.message]).toEqual(["invalid_utf8", expect.stringMatching(/piece 1 .* not valid UTF-8/)]);
  });

  it("a BPE pre-tokenizer the script does not recognize, named with its chkhsh", async () => {
    // a byte-level BPE with one merge: a tokenization no model in the script's table has
    const unknown = await conversionError(await folderWith({ "tokenizer.json": JSON.stringify(tiny) }), 257);
    expect([unknown.problem, unknown.message]).toEqual(["unrecognized_pre_tokenizer", expect.stringMatching(/BPE pre-tokenizer was not recognized \(chkhsh [0-9a-f]{64}\)/)]);

    const unsupported = { ...tiny, pre_tokenizer: { type: "BertPreTokenizer" } };
    const cannot = await conversionError(await folderWith({ "tokenizer.json": JSON.stringify(unsupported) }), 257);
    expect([cannot.problem, cannot.message]).toEqual(["unrecognized_pre_tokenizer", expect.stringMatching(/pre_tokenizer type "BertPreTokenizer"/)]);
  });

  it("a SentencePiece model converted to tokenizer.json (byte fallback) without its tokenizer.model", async () => {
    const converted = { ...tiny, model: { ...tiny.model, byte_fallback: true }, decoder: { type: "Sequence", decoders: [] } };
    const error = await conversionError(await folderWith({ "tokenizer.json": JSON.stringify(converted) }), 257);
    expect([error.problem, error.message]).toEqual(["unsupported", expect.stringMatching(/add the original tokenizer\.model/)]);
  });

  it("a vocabSize that is not a positive integer", async () => {
    await expect(convertHfVocabulary(await folderWith({ "tokenizer.model": spmModel }), { vocabSize: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
