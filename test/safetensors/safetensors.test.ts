import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  floatToBfloat16,
  SafetensorsCheckpoint,
  SafetensorsFile,
  SafetensorsFormatError,
  writeSafetensors,
  writeShardedSafetensors,
  type SafetensorsTensorInput,
} from "../../src/safetensors/index.js";
import { temporaryDirectories } from "../support/temporary-directories.js";

const newDirectory = temporaryDirectories("camelid-safetensors-");

/** A file as the safetensors crate lays it out, built by hand from a header object and data bytes. */
function handMade(header: unknown, data: Uint8Array, headerLength?: number): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

function writeBytes(bytes: Uint8Array, name = "model.safetensors"): string {
  const path = join(newDirectory(), name);
  writeFileSync(path, bytes);
  return path;
}

async function openError(path: string): Promise<SafetensorsFormatError> {
  const error = await SafetensorsFile.open(path).then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(SafetensorsFormatError);
  return error as SafetensorsFormatError;
}

describe("safetensors reader", () => {
  it("reads a file laid out by hand as the format specifies: dtypes, shapes, metadata, values", async () => {
    const f32 = new Float32Array([1.5, -2, 3.25, 0]);
    const f16 = new Uint16Array([0x3c00, 0xc000]); // 1, -2
    const bf16 = new Uint16Array([0x3f80, 0x4049]); // 1, 3.140625
    const data = new Uint8Array(16 + 4 + 4);
    data.set(new Uint8Array(f32.buffer), 0);
    data.set(new Uint8Array(f16.buffer), 16);
    data.set(new Uint8Array(bf16.buffer), 20);
    const path = writeBytes(
      handMade(
        {
          __metadata__: { format: "pt" },
          "b.half": { dtype: "F16", shape: [2], data_offsets: [16, 20] },
          "a.full": { dtype: "F32", shape: [2, 2], data_offsets: [0, 16] },
          "c.brain": { dtype: "BF16", shape: [1, 2], data_offsets: [20, 24] },
        },
        data,
      ),
    );
    const file = await SafetensorsFile.open(path);
    try {
      expect(file.metadata).toEqual({ format: "pt" });
      expect(file.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([
        ["a.full", "F32", [2, 2]],
        ["b.half", "F16", [2]],
        ["c.brain", "BF16", [1, 2]],
      ]);
      expect([...(await file.readFloat32("a.full"))]).toEqual([1.5, -2, 3.25, 0]);
      expect([...(await file.readFloat32("b.half"))]).toEqual([1, -2]);
      expect([...(await file.readFloat32("c.brain"))]).toEqual([1, 3.140625]);
      expect([...(await file.readBytes("b.half"))]).toEqual([0x00, 0x3c, 0x00, 0xc0]);
    } finally {
      await file.close();
    }
  });

  const tensorA = { dtype: "F32", shape: [2], data_offsets: [0, 8] };
  const badFiles: [string, () => Uint8Array, RegExp][] = [
    ["a file shorter than the length prefix", () => new Uint8Array(5), /too short/],
    ["a header length beyond the file (truncated header)", () => handMade({ a: tensorA }, new Uint8Array(8), 10_000), /truncated: the header claims 10000 bytes/],
    ["a header length above 100 MB", () => handMade({ a: tensorA }, new Uint8Array(8), 200_000_000), /exceeds the 100000000-byte limit/],
    ["a header that is not JSON", () => { const b = handMade({ a: tensorA }, new Uint8Array(8)); b[9] = 0x7b; b[10] = 0x7b; return b; }, /not valid JSON/],
    ["a header that is a JSON array", () => handMade([1, 2], new Uint8Array(0)), /not a JSON object/],
    ["a tensor entry without data_offsets", () => handMade({ a: { dtype: "F32", shape: [2] } }, new Uint8Array(8)), /tensor "a": data_offsets/],
    ["an unknown dtype", () => handMade({ a: { dtype: "F12", shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor "a" has unknown dtype "F12"/],
    ["offsets that disagree with dtype and shape", () => handMade({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /F32 \[3\] = 12 bytes, but its data_offsets \[0, 8\] span 8/],
    [
      "a header that lies about offsets (overlap)",
      () => handMade({ a: tensorA, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } }, new Uint8Array(16)),
      /tensor "b" starts at data offset 4, expected 8/,
    ],
    ["a gap before the first tensor", () => handMade({ a: { dtype: "F32", shape: [2], data_offsets: [8, 16] } }, new Uint8Array(16)), /starts at data offset 8, expected 0/],
    ["truncated tensor data", () => handMade({ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, new Uint8Array(10)), /truncated: the header describes 16 bytes of tensor data but the file holds 10/],
    ["bytes the header does not describe", () => handMade({ a: tensorA }, new Uint8Array(12)), /4 bytes after the last tensor/],
    ["__metadata__ with a non-string value", () => handMade({ __metadata__: { n: 3 }, a: tensorA }, new Uint8Array(8)), /__metadata__ must map strings to strings/],
  ];
  for (const [what, build, message] of badFiles) {
    it(`refuses ${what} with a SafetensorsFormatError naming the file`, async () => {
      const path = writeBytes(build());
      const error = await openError(path);
      expect(error.message).toMatch(message);
      expect(error.file).toBe(path);
    });
  }

  it("names a missing file", async () => {
    const path = join(newDirectory(), "absent.safetensors");
    expect((await openError(path)).message).toMatch(/absent\.safetensors: invalid safetensors: cannot open: no such file/);
  });

  it("refuses to turn an integer tensor into float32, naming it", async () => {
    const path = writeBytes(handMade({ ids: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)));
    const file = await SafetensorsFile.open(path);
    await expect(file.readFloat32("ids")).rejects.toThrow(/tensor "ids" is I64/);
    await file.close();
  });
});

describe("safetensors writer", () => {
  it("writes what the reader reads back: F32 exact, F16 and BF16 rounded to nearest even, header padded to 8", async () => {
    const values = new Float32Array([0.1, -1e-3, 65504, 3.14159, 1 / 3, -0]);
    const path = join(newDirectory(), "model.safetensors");
    await writeSafetensors(
      path,
      [
        { name: "z.f32", dtype: "F32", shape: [2, 3], data: values },
        { name: "y.f16", dtype: "F16", shape: [6], data: () => values },
        { name: "x.bf16", dtype: "BF16", shape: [3, 2], data: values },
        { name: "w.raw", dtype: "U8", shape: [3], data: new Uint8Array([7, 8, 9]) },
      ],
      { format: "pt" },
    );
    const bytes = readFileSync(path);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect(headerLength % 8).toBe(0);
    // widest dtype first (the safetensors crate's order), then by name
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8"));
    expect(Object.keys(header)).toEqual(["__metadata__", "z.f32", "x.bf16", "y.f16", "w.raw"]);
    const file = await SafetensorsFile.open(path);
    try {
      expect(await file.readFloat32("z.f32")).toEqual(values);
      const f16 = await file.readFloat32("y.f16");
      expect(f16[2]).toBe(65504);
      expect(Math.abs(f16[0] - 0.1)).toBeLessThan(1e-4);
      const bf16 = await file.readFloat32("x.bf16");
      expect([...bf16].map((v) => floatToBfloat16(v))).toEqual([...values].map((v) => floatToBfloat16(v)));
      expect([...(await file.readBytes("w.raw"))]).toEqual([7, 8, 9]);
    } finally {
      await file.close();
    }
  });

  it("rounds float32 to bfloat16 as torch does (nearest, ties to even)", () => {
    expect(floatToBfloat16(1)).toBe(0x3f80);
    expect(floatToBfloat16(Math.PI)).toBe(0x4049);
    // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1)
    expect(floatToBfloat16(1 + 2 ** -8)).toBe(0x3f80);
    expect(floatToBfloat16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(floatToBfloat16(NaN) & 0x7fc0).toBe(0x7fc0);
  });

  it("refuses data whose size disagrees with the shape and leaves no file", async () => {
    const path = join(newDirectory(), "model.safetensors");
    await expect(writeSafetensors(path, [{ name: "a", dtype: "F32", shape: [3], data: new Float32Array(2) }])).rejects.toThrow(/takes 12 bytes, got 8/);
    expect(() => readFileSync(path)).toThrow();
  });
});

describe("sharded checkpoints", () => {
  const tensors = (): SafetensorsTensorInput[] =>
    ["model.layers.1.w", "model.layers.0.w", "model.embed", "lm_head"].map((name, i) => ({
      name,
      dtype: "F32",
      shape: [4],
      data: new Float32Array([i, i + 0.5, -i, 2 * i]),
    }));

  it("opens shards through the index, lists tensors as llama.cpp does (files sorted, names sorted within) and reads each", async () => {
    const folder = newDirectory();
    const { files } = await writeShardedSafetensors(folder, tensors(), { maxShardBytes: 32 });
    expect(files).toEqual(["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]);
    const index = JSON.parse(readFileSync(join(folder, "model.safetensors.index.json"), "utf8"));
    expect(index.metadata.total_size).toBe(64);
    const checkpoint = await SafetensorsCheckpoint.open(folder);
    try {
      expect(checkpoint.tensors.map((t) => t.name)).toEqual(["model.layers.0.w", "model.layers.1.w", "lm_head", "model.embed"]);
      expect([...(await checkpoint.readFloat32("model.embed"))]).toEqual([2, 2.5, -2, 4]);
    } finally {
      await checkpoint.close();
    }
  });

  it("opens a single unindexed model.safetensors", async () => {
    const folder = newDirectory();
    await writeSafetensors(join(folder, "model.safetensors"), tensors());
    const checkpoint = await SafetensorsCheckpoint.open(folder);
    expect(checkpoint.tensors.map((t) => t.name)).toEqual(["lm_head", "model.embed", "model.layers.0.w", "model.layers.1.w"]);
    await checkpoint.close();
  });

  it("names a shard the index lists but the folder lacks", async () => {
    const folder = newDirectory();
    await writeShardedSafetensors(folder, tensors(), { maxShardBytes: 32 });
    rmSync(join(folder, "model-00002-of-00002.safetensors"));
    await expect(SafetensorsCheckpoint.open(folder)).rejects.toThrow(/weight_map names model-00002-of-00002\.safetensors, which is not in the folder/);
  });

  it("names a truncated shard", async () => {
    const folder = newDirectory();
    await writeShardedSafetensors(folder, tensors(), { maxShardBytes: 32 });
    const shard = join(folder, "model-00001-of-00002.safetensors");
    const bytes = readFileSync(shard);
    writeFileSync(shard, bytes.subarray(0, bytes.byteLength - 3));
    const error = await SafetensorsCheckpoint.open(folder).then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(SafetensorsFormatError);
    expect((error as SafetensorsFormatError).file).toBe(shard);
    expect((error as Error).message).toMatch(/truncated/);
  });

  it("names a tensor the index maps to a shard that does not hold it", async () => {
    const folder = newDirectory();
    await writeShardedSafetensors(folder, tensors(), { maxShardBytes: 32 });
    const indexPath = join(folder, "model.safetensors.index.json");
    const index = JSON.parse(readFileSync(indexPath, "utf8"));
    index.weight_map["model.extra"] = "model-00001-of-00002.safetensors";
    writeFileSync(indexPath, JSON.stringify(index));
    await expect(SafetensorsCheckpoint.open(folder)).rejects.toThrow(/tensor "model\.extra" is mapped to model-00001-of-00002\.safetensors, which does not hold it/);
  });

  it("refuses a malformed index and a folder without weights", async () => {
    const folder = newDirectory();
    writeFileSync(join(folder, "model.safetensors.index.json"), JSON.stringify({ weight_map: { a: 3 } }));
    await expect(SafetensorsCheckpoint.open(folder)).rejects.toThrow(/weight_map\.a/);
    await expect(SafetensorsCheckpoint.open(newDirectory())).rejects.toThrow(/no model\*\.safetensors weight files/);
  });
});
