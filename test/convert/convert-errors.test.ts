import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { convertHfModel } from "../../src/convert/convert-model.js";
import { HfCheckpointError, type CheckpointProblem } from "../../src/convert/errors.js";
import { permuteRopeRows, tensorType } from "../../src/convert/llama-tensors.js";
import { writeRandomHfLlama, type RandomHfLlamaOptions } from "../../src/convert/random-hf-llama.js";
import { GgufReader } from "../../src/gguf/index.js";
import { SafetensorsFormatError, writeSafetensors } from "../../src/safetensors/index.js";
import { temporaryDirectories } from "../support/temporary-directories.js";

const newDirectory = temporaryDirectories("camelid-convert-errors-");
const noVocabulary = async () => ({ entries: [] });
const tiny: RandomHfLlamaOptions = { hiddenSize: 32, intermediateSize: 64, layers: 1, heads: 2, kvHeads: 1, vocabSize: 64, tiedEmbeddings: false, dtype: "F32", seed: 5 };

async function tinyFolder(options: Partial<RandomHfLlamaOptions> = {}): Promise<string> {
  const folder = join(newDirectory(), "tiny");
  await writeRandomHfLlama(folder, { ...tiny, ...options });
  return folder;
}

function editConfig(folder: string, edit: (config: Record<string, unknown>) => void): void {
  const path = join(folder, "config.json");
  const config = JSON.parse(readFileSync(path, "utf8"));
  edit(config);
  writeFileSync(path, JSON.stringify(config));
}

/** Converts, expects a typed error, and checks that no GGUF (partial or whole) was left behind. */
async function conversionError(folder: string): Promise<Error> {
  const out = newDirectory();
  const error = await convertHfModel({ folder, output: join(out, "model.gguf"), outputType: "f16", vocabulary: noVocabulary }).then(
    () => undefined,
    (caught: unknown) => caught as Error,
  );
  expect(error).toBeDefined();
  expect(readdirSync(out)).toEqual([]);
  return error!;
}

function expectCheckpointError(error: Error, problem: CheckpointProblem, message: RegExp): void {
  expect(error).toBeInstanceOf(HfCheckpointError);
  expect((error as HfCheckpointError).problem).toBe(problem);
  expect(error.message).toMatch(message);
}

describe("camelid convert refuses bad checkpoints with a named error and leaves no file", () => {
  it("a folder without config.json", async () => {
    const folder = await tinyFolder();
    rmSync(join(folder, "config.json"));
    expectCheckpointError(await conversionError(folder), "missing_config", /has no config\.json/);
  });

  it("an architecture other than LLaMA, named", async () => {
    const folder = await tinyFolder();
    editConfig(folder, (config) => (config.architectures = ["GPT2LMHeadModel"]));
    expectCheckpointError(await conversionError(folder), "unsupported_architecture", /architecture GPT2LMHeadModel is not supported/);
  });

  it("a config field of the wrong type, named", async () => {
    const folder = await tinyFolder();
    editConfig(folder, (config) => (config.num_attention_heads = "two"));
    expectCheckpointError(await conversionError(folder), "invalid_config", /num_attention_heads/);
  });

  it("a tensor whose shape disagrees with config.json", async () => {
    const folder = await tinyFolder();
    editConfig(folder, (config) => (config.intermediate_size = 96));
    expectCheckpointError(await conversionError(folder), "shape_mismatch", /tensor model\.layers\.0\.mlp\.(down|gate|up)_proj\.weight has shape \[.*\] but config\.json implies/);
  });

  it("a layer beyond num_hidden_layers, and a missing layer", async () => {
    const extra = await tinyFolder({ layers: 2 });
    editConfig(extra, (config) => (config.num_hidden_layers = 1));
    expectCheckpointError(await conversionError(extra), "unmapped_tensor", /cannot map tensor model\.layers\.1\./);
    const missing = await tinyFolder();
    editConfig(missing, (config) => (config.num_hidden_layers = 2));
    expectCheckpointError(await conversionError(missing), "missing_tensor", /no tensor for blk\.1\.attn_q\.weight/);
  });

  it("a tensor in a dtype camelid does not convert (I32), and an unknown dtype", async () => {
    const folder = await tinyFolder();
    await writeSafetensors(join(folder, "model-extra.safetensors"), [{ name: "model.layers.0.self_attn.rotary_emb.inv_freq", dtype: "I32", shape: [2], data: new Uint8Array(8) }]);
    // the skipped RoPE table passes the dtype check only if it is float: camelid checks every tensor first
    expectCheckpointError(await conversionError(folder), "unsupported_dtype", /inv_freq is I32/);
    const unknown = await tinyFolder();
    const path = join(unknown, "model.safetensors");
    const bytes = readFileSync(path);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = bytes.subarray(8, 8 + headerLength).toString("utf8").replace('"dtype":"F32"', '"dtype":"F12"');
    writeFileSync(path, Buffer.concat([bytes.subarray(0, 8), Buffer.from(header), bytes.subarray(8 + headerLength)]));
    const error = await conversionError(unknown);
    expect(error).toBeInstanceOf(SafetensorsFormatError);
    expect(error.message).toMatch(/model\.safetensors: invalid safetensors: tensor ".*" has unknown dtype "F12"/);
  });

  it("a malformed safetensors header and a truncated file", async () => {
    const malformed = await tinyFolder();
    const path = join(malformed, "model.safetensors");
    const bytes = readFileSync(path);
    bytes[8] = 0x5b; // '[' instead of '{'
    writeFileSync(path, bytes);
    expect((await conversionError(malformed)).message).toMatch(/model\.safetensors: invalid safetensors: the header is not a JSON object/);
    const truncated = await tinyFolder();
    const file = join(truncated, "model.safetensors");
    writeFileSync(file, readFileSync(file).subarray(0, 5000));
    expect((await conversionError(truncated)).message).toMatch(/truncated/);
  });

  it("a missing shard, and an index naming a file that is not there", async () => {
    const folder = await tinyFolder({ maxShardBytes: 10_000 });
    const shards = readdirSync(folder).filter((file) => file.endsWith(".safetensors"));
    expect(shards.length).toBeGreaterThan(1);
    rmSync(join(folder, shards[1]));
    const error = await conversionError(folder);
    expect(error).toBeInstanceOf(SafetensorsFormatError);
    expect(error.message).toContain(`weight_map names ${shards[1]}, which is not in the folder`);
  });
});

describe("tensor types per --type, as ModelBase.prepare_tensors chooses them", () => {
  it("norms and 1-D tensors stay F32, matrices take the type, rows that are not whole blocks fall back to F16", async () => {
    expect(tensorType("blk.0.attn_norm.weight", [64], "q4_0")).toBe("F32");
    expect(tensorType("blk.0.attn_q.bias", [64], "f16")).toBe("F32");
    expect(tensorType("blk.0.attn_q.weight", [64, 64], "q4_0")).toBe("Q4_0");
    expect(tensorType("blk.0.ffn_down.weight", [64, 48], "q8_0")).toBe("F16");
    expect(tensorType("token_embd.weight", [100, 64], "f16")).toBe("F16");
  });

  it("--type q4_0 writes Q4_0 matrices that llama.cpp's reader dequantizes close to the weights", async () => {
    const folder = await tinyFolder();
    const out = join(newDirectory(), "model.gguf");
    const result = await convertHfModel({ folder, output: out, outputType: "q4_0", vocabulary: noVocabulary });
    expect(result.tensors.filter((tensor) => tensor.type === "Q4_0").map((tensor) => tensor.name).sort()).toEqual(
      ["blk.0.attn_k.weight", "blk.0.attn_output.weight", "blk.0.attn_q.weight", "blk.0.attn_v.weight", "blk.0.ffn_down.weight", "blk.0.ffn_gate.weight", "blk.0.ffn_up.weight", "output.weight", "token_embd.weight"],
    );
    const reader = await GgufReader.open(out);
    expect(reader.header.metadata.get("general.file_type")).toEqual({ type: "uint32", value: 2 });
    const embedding = await reader.tensorFloats("token_embd.weight");
    await reader.close();
    const { SafetensorsCheckpoint } = await import("../../src/safetensors/index.js");
    const checkpoint = await SafetensorsCheckpoint.open(folder);
    const source = await checkpoint.readFloat32("model.embed_tokens.weight");
    await checkpoint.close();
    const scale = Math.max(...source.map(Math.abs));
    expect(Math.max(...embedding.map((value, i) => Math.abs(value - source[i])))).toBeLessThan(scale / 8);
  });

  it("permutes rows within each head: half i and half i + n/2 become neighbours (LlamaModel.permute)", () => {
    // 2 heads of 4 rows, 1 column: head rows [a b c d] → [a c b d]
    expect([...permuteRopeRows(Float32Array.from([0, 1, 2, 3, 10, 11, 12, 13]), 8, 2)]).toEqual([0, 2, 1, 3, 10, 12, 11, 13]);
  });
});
