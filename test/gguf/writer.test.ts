import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidArgumentError, UnsupportedFeatureError } from "../../src/errors/index.js";
import { GgufReader, parseGgufBytes } from "../../src/gguf/reader.js";
import { quantize } from "../../src/gguf/quantization.js";
import { serializeGguf, writeGguf, type GgufTensorInput } from "../../src/gguf/writer.js";
import { stories260KPath } from "../support/shared-data.js";
import { everyTypeFile, everyValueTypeMetadata, randomFloats } from "./fixtures.js";

const workDir = mkdtempSync(join(tmpdir(), "camelid-gguf-writer-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** Rebuilds a writer input from a reader: metadata as read, tensors as their stored bytes. */
async function readBack(reader: GgufReader): Promise<GgufTensorInput[]> {
  const tensors: GgufTensorInput[] = [];
  for (const tensor of reader.tensors) tensors.push({ name: tensor.name, dims: tensor.dims, type: tensor.type, data: await reader.tensorBytes(tensor.name) });
  return tensors;
}

describe("writing GGUF", () => {
  it("rewrites stories260K.gguf byte for byte from what we read", async () => {
    const original = readFileSync(stories260KPath());
    const reader = await GgufReader.open(stories260KPath());
    const path = join(workDir, "stories-rewrite.gguf");
    try {
      const { bytes } = await writeGguf(path, { metadata: reader.metadata, tensors: await readBack(reader), version: 3 });
      expect(bytes).toBe(original.byteLength);
    } finally {
      await reader.close();
    }
    expect(Buffer.compare(readFileSync(path), original)).toBe(0);
  });

  it("round-trips every metadata value type exactly, in order", async () => {
    const written = everyValueTypeMetadata();
    const header = await parseGgufBytes(await serializeGguf({ metadata: written }));
    expect([...header.metadata.keys()]).toEqual(written.map(([key]) => key));
    for (const [key, value] of written) expect(header.metadata.get(key), key).toEqual(value);
    // NaN payloads and -0 survive because numeric arrays are copied as bytes.
    const floats = header.metadata.get("test.array.float32");
    expect(floats?.type === "array" && Object.is(floats.value.values[1], -0)).toBe(true);
  });

  it("round-trips every tensor type: read → write → read gives identical bytes and values", async () => {
    const input = everyTypeFile(64);
    const first = await serializeGguf(input);
    const reader = await GgufReader.fromBytes(first);
    const second = await serializeGguf({ metadata: reader.metadata, tensors: await readBack(reader) });
    expect(Buffer.compare(Buffer.from(second), Buffer.from(first))).toBe(0);
    for (const tensor of input.tensors!) {
      const stored = await reader.tensorBytes(tensor.name);
      const expected = tensor.data instanceof Float32Array ? quantize(tensor.type, tensor.data) : (tensor.data as Uint8Array);
      expect(Buffer.compare(Buffer.from(stored), Buffer.from(expected)), tensor.name).toBe(0);
    }
    const f32 = input.tensors![0].data as Float32Array;
    expect(await reader.tensorFloats("f32.vector")).toEqual(f32);
  });

  it("lays tensors out like ggml: aligned offsets, zero padding after every tensor", async () => {
    const bytes = await serializeGguf(everyTypeFile(64));
    const header = await parseGgufBytes(bytes);
    let expectedOffset = 0;
    for (const tensor of header.tensors) {
      expect(tensor.offset).toBe(expectedOffset);
      expectedOffset += Math.ceil(tensor.byteLength / 64) * 64;
      const padding = bytes.subarray(tensor.fileOffset + tensor.byteLength, header.dataOffset + expectedOffset);
      expect(padding.every((b) => b === 0)).toBe(true);
    }
    expect(bytes.byteLength).toBe(header.dataOffset + expectedOffset);
  });

  it("writes and reads GGUF v2 (same layout as v3: 64-bit counts and lengths)", async () => {
    const bytes = await serializeGguf({ ...everyTypeFile(), version: 2 });
    expect(new DataView(bytes.buffer).getUint32(4, true)).toBe(2);
    const reader = await GgufReader.fromBytes(bytes);
    expect(reader.header.version).toBe(2);
    expect((await reader.tensorFloats("q8_0.matrix")).length).toBe(128);
  });

  it("pads a metadata-only file to the alignment, as ggml does", async () => {
    const bytes = await serializeGguf({ metadata: [["general.name", { type: "string", value: "x" }]] });
    expect(bytes.byteLength % 32).toBe(0);
    expect((await parseGgufBytes(bytes)).tensors).toEqual([]);
  });

  it("generates deferred tensor data only while writing", async () => {
    let produced = 0;
    const path = join(workDir, "deferred.gguf");
    await writeGguf(path, {
      metadata: [],
      tensors: [{ name: "lazy", dims: [32], type: "Q8_0", data: async () => (produced++, randomFloats(32, 9)) }],
    });
    expect(produced).toBe(1);
    const reader = await GgufReader.open(path);
    expect(reader.tensorInfo("lazy").byteLength).toBe(34);
    await reader.close();
  });

  it("refuses input that llama.cpp would reject, with the field named", async () => {
    const bad = async (tensor: Partial<GgufTensorInput>, message: RegExp) => {
      const input = { metadata: [], tensors: [{ name: "t", dims: [32], type: "F32" as const, data: new Float32Array(32), ...tensor }] };
      const error = await serializeGguf(input).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(message);
    };
    await bad({ name: "x".repeat(64) }, /must be 1\.\.63 bytes/);
    await bad({ dims: [32, 1, 1, 1, 1] }, /1\.\.4 dimensions/);
    await bad({ dims: [0] }, /not a positive integer/);
    await bad({ type: "Q4_0", dims: [16], data: new Float32Array(16) }, /multiple of 32/);
    await bad({ data: new Float32Array(31) }, /holds 32 values, got 31/);
    await bad({ data: new Uint8Array(127) }, /takes 128 bytes, got 127/);
    const q4k = await serializeGguf({ metadata: [], tensors: [{ name: "k", dims: [256], type: "Q4_K", data: new Float32Array(256) }] }).catch((e: unknown) => e);
    expect(q4k).toBeInstanceOf(UnsupportedFeatureError);
    expect((q4k as Error).message).toMatch(/writing Q4_K tensors from float32 is not supported/);
    const metadataError = await serializeGguf({ metadata: [["n", { type: "uint8", value: 256 }]] }).catch((e: unknown) => e);
    expect((metadataError as InvalidArgumentError).parameter).toBe("metadata.n");
    const alignmentError = await serializeGguf({ metadata: [["general.alignment", { type: "uint32", value: 48 }]] }).catch((e: unknown) => e);
    expect((alignmentError as Error).message).toMatch(/power of two/);
  });

  it("removes the partial file when a write fails", async () => {
    const path = join(workDir, "failed.gguf");
    const write = writeGguf(path, {
      metadata: [],
      tensors: [
        { name: "ok", dims: [4], type: "F32", data: new Float32Array(4) },
        { name: "bad", dims: [4], type: "F32", data: () => new Float32Array(3) },
      ],
    });
    await expect(write).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(existsSync(path)).toBe(false);
  });
});
