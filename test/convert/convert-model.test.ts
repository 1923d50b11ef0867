import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { convertHfModel, type TensorSource } from "../../src/convert/convert-model.js";
import { GgufReader, type GgufValue } from "../../src/gguf/index.js";
import { SafetensorsCheckpoint } from "../../src/safetensors/index.js";
import { llamaCppLogits } from "../support/llama-cpp-logits.js";
import { sharedPath } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";
import { vocabularyFromGguf } from "./gguf-vocabulary.js";
import { CONVERT_FIXTURES, writeConvertFixture, type ConvertFixture } from "./hf-fixtures.js";

interface GoldenConversion {
  sha256: string;
  metadata: [string, string, unknown][];
  tensors: [string, string, number[], string][];
}
interface Golden {
  files: Record<string, string>;
  config: { vocab_size: number };
  logits: { stride: number; sequences: { tokens: number[]; maxAbs: number[]; argmax: number[]; values: number[][] }[] };
  conversions: Record<"f32" | "f16" | "q8_0", GoldenConversion>;
}

const goldenDir = join(import.meta.dirname, "golden");
const golden = (name: string): Golden => JSON.parse(readFileSync(join(goldenDir, `${name}.json`), "utf8"));
const newDirectory = temporaryDirectories("camelid-convert-");
const sharedVocabulary = vocabularyFromGguf(sharedPath("tokenizers", "ggml-vocab-llama-spm.gguf"));
const vocabulary = () => sharedVocabulary;
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** GGUF value types as gguf-py's GGUFValueType names them. */
const GGUF_TYPE_NAMES: Record<GgufValue["type"], string> = {
  uint8: "UINT8", int8: "INT8", uint16: "UINT16", int16: "INT16", uint32: "UINT32", int32: "INT32", float32: "FLOAT32",
  bool: "BOOL", string: "STRING", array: "ARRAY", uint64: "UINT64", int64: "INT64", float64: "FLOAT64",
};

/** A metadata value as the golden script writes it: arrays as element type, length and sha256 of their elements' bytes. */
function describeValue(value: GgufValue): unknown {
  if (value.type === "float32") return Math.fround(value.value);
  if (value.type === "uint64" || value.type === "int64") return Number(value.value);
  if (value.type !== "array") return value.value;
  const hash = createHash("sha256");
  const array = value.value;
  if (array.elementType === "string") for (const text of array.values) hash.update(Buffer.from(text, "utf8"));
  else if (array.elementType === "bool") hash.update(Uint8Array.from(array.values, (flag) => (flag ? 1 : 0)));
  else if (array.elementType !== "array") hash.update(new Uint8Array(array.values.buffer, array.values.byteOffset, array.values.byteLength));
  return { array: GGUF_TYPE_NAMES[array.elementType], length: array.values.length, sha256: hash.digest("hex") };
}

async function describeGguf(path: string): Promise<Omit<GoldenConversion, "sha256">> {
  const reader = await GgufReader.open(path);
  try {
    const metadata: [string, string, unknown][] = [...reader.header.metadata].map(([key, value]) => [key, GGUF_TYPE_NAMES[value.type], describeValue(value)]);
    const tensors: [string, string, number[], string][] = [];
    for (const tensor of reader.header.tensors) tensors.push([tensor.name, tensor.type, tensor.dims, sha256(await reader.tensorBytes(tensor.name))]);
    return { metadata, tensors };
  } finally {
    await reader.close();
  }
}

describe.each(CONVERT_FIXTURES.map((fixture) => [fixture.name, fixture] as [string, ConvertFixture]))("convert %s like convert_hf_to_gguf.py", (name, fixture) => {
  const expected = golden(name);
  let folder = "";
  let out = "";
  beforeAll(async () => {
    folder = await writeConvertFixture(fixture, newDirectory());
    out = newDirectory();
  });

  it("rebuilds the checkpoint transformers loaded, byte for byte", () => {
    const files = Object.fromEntries(readdirSync(folder).sort().map((file) => [file, sha256(readFileSync(join(folder, file)))]));
    expect(files).toEqual(expected.files);
  });

  it.each(["f32", "f16", "q8_0"] as const)("--type %s: the same metadata and tensors (names, types, shapes, bytes): the same file", async (type) => {
    const path = join(out, `${type}.gguf`);
    await convertHfModel({ folder, output: path, outputType: type });
    const { sha256: fileSha256, ...golden } = expected.conversions[type];
    expect(await describeGguf(path)).toEqual(golden);
    expect(sha256(readFileSync(path))).toBe(fileSha256);
  });

  it("F32 logits through llama.cpp equal transformers' within 1e-4 relative", async () => {
    const path = join(out, "f32.gguf");
    if (!readdirSync(out).includes("f32.gguf")) await convertHfModel({ folder, output: path, outputType: "f32" });
    const vocabSize = expected.config.vocab_size;
    for (const sequence of expected.logits.sequences) {
      const rows = await llamaCppLogits(path, sequence.tokens, vocabSize);
      rows.forEach((row, position) => {
        let worst = 0;
        sequence.values[position].forEach((value, i) => (worst = Math.max(worst, Math.abs(row[i * expected.logits.stride] - value))));
        expect(worst / sequence.maxAbs[position]).toBeLessThanOrEqual(1e-4);
        expect(row.indexOf(Math.max(...row))).toBe(sequence.argmax[position]);
      });
    }
  });
});

describe("streaming and sharding", () => {
  // the first fixture's shape with a small vocabulary: these tests are about order and bytes, not values
  const fixture: ConvertFixture = { name: "small-vocab", options: () => ({ ...CONVERT_FIXTURES[0].options(), vocabSize: 512 }) };

  it("a sharded checkpoint (with model.safetensors.index.json) converts to the same bytes as the single file", async () => {
    const single = await writeConvertFixture(fixture, newDirectory());
    const shardedParent = newDirectory();
    const sharded = join(shardedParent, fixture.name);
    const { writeRandomHfLlama } = await import("../../src/convert/random-hf-llama.js");
    const { weightFiles } = await writeRandomHfLlama(sharded, { ...fixture.options(), maxShardBytes: 150_000 });
    expect(weightFiles.length).toBeGreaterThan(2);
    const out = newDirectory();
    await convertHfModel({ folder: single, output: join(out, "single.gguf"), outputType: "q8_0", vocabulary: vocabulary() });
    await convertHfModel({ folder: sharded, output: join(out, "sharded.gguf"), outputType: "q8_0", vocabulary: vocabulary() });
    expect(sha256(readFileSync(join(out, "sharded.gguf")))).toBe(sha256(readFileSync(join(out, "single.gguf"))));
  });

  it("reads each tensor only once the previous one is on disk: one tensor in memory, not the model", async () => {
    const folder = await writeConvertFixture(fixture, newDirectory());
    const out = newDirectory();
    const output = join(out, "model.gguf");
    // At each read, the partial output must already hold every earlier tensor (and not one more).
    const sizesAtRead: number[] = [];
    const openCheckpoint = async (path: string): Promise<TensorSource> => {
      const checkpoint = await SafetensorsCheckpoint.open(path);
      return {
        tensors: checkpoint.tensors,
        readFloat32: (name) => {
          const partial = readdirSync(out).find((file) => file.endsWith(".partial"));
          sizesAtRead.push(partial ? statSync(join(out, partial)).size : 0);
          return checkpoint.readFloat32(name);
        },
        close: () => checkpoint.close(),
      };
    };
    await convertHfModel({ folder, output, outputType: "f32", vocabulary: vocabulary(), openCheckpoint });
    const reader = await GgufReader.open(output);
    const tensorStarts = reader.header.tensors.map((tensor) => tensor.fileOffset);
    await reader.close();
    expect(sizesAtRead).toEqual(tensorStarts);
  });
});
