import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { GgufFormatError, InvalidArgumentError } from "../../src/errors/index.js";
import { FileByteSource, type ByteSource } from "../../src/gguf/byte-source.js";
import { GgufReader, parseGgufBytes, readGgufHeader } from "../../src/gguf/reader.js";
import { planGgufFile, serializeGguf } from "../../src/gguf/writer.js";
import { sharedPath, stories260KPath } from "../support/shared-data.js";
import { everyTypeFile } from "./fixtures.js";

/** Floats of the llama2.c checkpoint of the same model: an independent source for the weights. */
function llama2cFloats(offsetFloats: number, count: number): Float32Array {
  const bytes = readFileSync(sharedPath("models", "stories260K.bin"));
  const header = 7 * 4;
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset + header + offsetFloats * 4, bytes.byteOffset + header + (offsetFloats + count) * 4));
}

/** Bit-exact comparison; vitest's deep equality is slow on 32k-element typed arrays. */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

describe("reading stories260K.gguf", () => {
  it("reads the header, metadata and tensor infos", async () => {
    const header = await readGgufHeader(stories260KPath());
    expect(header.version).toBe(3);
    expect(header.alignment).toBe(32);
    expect(header.tensors).toHaveLength(48);
    expect(header.dataOffset % 32).toBe(0);
    const m = header.metadata;
    expect(m.get("general.architecture")).toEqual({ type: "string", value: "llama" });
    expect(m.get("llama.embedding_length")).toEqual({ type: "uint32", value: 64 });
    expect(m.get("llama.attention.head_count_kv")).toEqual({ type: "uint32", value: 4 });
    expect(m.get("llama.attention.layer_norm_rms_epsilon")).toEqual({ type: "float32", value: Math.fround(1e-5) });
    const tokens = m.get("tokenizer.ggml.tokens");
    expect(tokens?.type === "array" && tokens.value.elementType === "string" && tokens.value.values.slice(0, 3)).toEqual(["<unk>", "<s>", "</s>"]);
    const types = m.get("tokenizer.ggml.token_type");
    expect(types?.type === "array" && types.value.values instanceof Int32Array).toBe(true);
    const embedding = header.tensors.find((t) => t.name === "token_embd.weight")!;
    expect(embedding).toMatchObject({ dims: [64, 512], type: "F32", elementCount: 32768, byteLength: 131072 });
    const last = header.tensors.at(-1)!;
    expect(last.fileOffset + last.byteLength).toBe(header.fileSize);
  });

  it("returns the same weights as the llama2.c checkpoint of the model", async () => {
    const reader = await GgufReader.open(stories260KPath());
    try {
      const embedding = await reader.tensorFloats("token_embd.weight");
      expect(embedding.length).toBe(512 * 64);
      expect(sameBits(embedding, llama2cFloats(0, 512 * 64))).toBe(true);
      // The GGUF stores the tied classifier as its own tensor: it must equal the embedding.
      expect(sameBits(await reader.tensorFloats("output.weight"), embedding)).toBe(true);
      expect(sameBits(await reader.tensorFloats("blk.0.ffn_up.weight"), embedding.subarray(0, 64 * 172))).toBe(false);
      const finalNormOffset = 32768 + 320 + 20480 + 10240 + 10240 + 20480 + 320 + 3 * 55040;
      expect(await reader.tensorFloats("output_norm.weight")).toEqual(llama2cFloats(finalNormOffset, 64));
      expect(await reader.tensorFloats("blk.0.attn_norm.weight")).toEqual(llama2cFloats(32768, 64));
      expect((await reader.tensorBytes("blk.0.attn_norm.weight")).byteLength).toBe(256);
      expect(() => reader.tensorInfo("nope")).toThrow(InvalidArgumentError);
    } finally {
      await reader.close();
    }
  });
});

describe("reading vocabulary files", () => {
  it("reads the 32000-token SentencePiece vocabulary", async () => {
    const { metadata, tensors } = await readGgufHeader(sharedPath("tokenizers", "ggml-vocab-llama-spm.gguf"));
    expect(tensors).toEqual([]);
    const tokens = metadata.get("tokenizer.ggml.tokens");
    const scores = metadata.get("tokenizer.ggml.scores");
    expect(tokens?.type === "array" && tokens.value.values.length).toBe(32000);
    expect(scores?.type === "array" && scores.value.values instanceof Float32Array && scores.value.values.length).toBe(32000);
    expect(metadata.get("tokenizer.ggml.add_bos_token")).toEqual({ type: "bool", value: true });
  });
});

/** A source that serves a real header followed by `virtualBytes` of never-materialized tensor data. */
class VirtualModelSource implements ByteSource {
  bytesRead = 0;
  readonly size: number;
  constructor(
    private readonly header: Uint8Array,
    virtualBytes: number,
  ) {
    this.size = header.byteLength + virtualBytes;
  }
  async readInto(target: Uint8Array, offset: number, length: number): Promise<number> {
    const n = Math.max(0, Math.min(length, this.size - offset));
    this.bytesRead += n;
    target.fill(0, 0, n);
    if (offset < this.header.byteLength) target.set(this.header.subarray(offset, Math.min(offset + n, this.header.byteLength)));
    return n;
  }
  async close(): Promise<void> {}
}

describe("buffered reading", () => {
  // How fast (against node-llama-cpp's reader, same run) is bench/gguf-read-write.ts's business.
  it("reads the 128k-token Llama-3 vocabulary and its 280k merges in 256 KiB chunks", async () => {
    const file = await FileByteSource.open(sharedPath("tokenizers", "ggml-vocab-llama-bpe.gguf"));
    let reads = 0;
    const counting: ByteSource = {
      size: file.size,
      name: file.name,
      readInto: (target, offset, length) => (reads++, file.readInto(target, offset, length)),
      close: () => file.close(),
    };
    const reader = await GgufReader.fromSource(counting);
    await reader.close();
    const { metadata } = reader;
    const tokens = metadata.get("tokenizer.ggml.tokens");
    const merges = metadata.get("tokenizer.ggml.merges");
    expect(tokens?.type === "array" && tokens.value.values.length).toBe(128256);
    expect(tokens?.type === "array" && tokens.value.values[128000]).toBe("<|begin_of_text|>");
    expect(merges?.type === "array" && merges.value.values[0]).toBe("Ġ Ġ");
    expect(merges?.type === "array" && merges.value.values.length).toBe(280147);
    // 408k strings; ceil(7.8 MB / 256 KiB) = 30 chunks.
    expect(reads).toBeLessThanOrEqual(Math.ceil(file.size / (256 * 1024)) + 1);
  });
});

describe("random access", () => {
  it("reads the header of a 16 GiB model without touching its tensor data", async () => {
    const huge = { name: "huge.weight", dims: [65536, 65536], type: "F32" as const, data: new Float32Array(0) };
    const small = { name: "small.weight", dims: [64], type: "F32" as const, data: new Float32Array(0) };
    const plan = planGgufFile({ metadata: everyTypeFile().metadata, tensors: [small, huge] });
    const source = new VirtualModelSource(plan.header, plan.totalBytes - plan.header.byteLength);
    const reader = await GgufReader.fromSource(source);
    expect(reader.tensorInfo("huge.weight").byteLength).toBe(16 * 2 ** 30);
    // The header is a few KB; one read-ahead chunk may follow it, never gigabytes.
    expect(source.bytesRead).toBeLessThanOrEqual(plan.header.byteLength + 256 * 1024);
    const before = source.bytesRead;
    expect(await reader.tensorFloats("small.weight")).toEqual(new Float32Array(64));
    expect(source.bytesRead - before).toBe(256);
  });

  it("reads every tensor type of our own fixture back", async () => {
    const bytes = await serializeGguf(everyTypeFile(64));
    const reader = await GgufReader.fromBytes(bytes);
    expect(reader.header.alignment).toBe(64);
    for (const tensor of reader.tensors) expect(tensor.fileOffset % 64).toBe(0);
    expect(Array.from(await reader.tensorFloats("bf16.raw"))).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect((await reader.tensorFloats("q4_0.cube")).length).toBe(128);
    expect(reader.tensorInfo("q8_0.matrix")).toMatchObject({ type: "Q8_0", byteLength: 136, dims: [64, 2] });
  });
});

describe("malformed headers", () => {
  const header = (...parts: (number | bigint | string)[]) => {
    const bytes: number[] = [];
    for (const part of parts) {
      if (typeof part === "string") bytes.push(...Buffer.from(part, "latin1"));
      else if (typeof part === "bigint") for (let i = 0n; i < 8n; i++) bytes.push(Number((part >> (8n * i)) & 0xffn));
      else for (let i = 0; i < 4; i++) bytes.push((part >>> (8 * i)) & 0xff);
    }
    return Uint8Array.from(bytes);
  };
  const problem = async (bytes: Uint8Array) => {
    const error = await parseGgufBytes(bytes, { name: "bad.gguf" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GgufFormatError);
    return error as GgufFormatError;
  };

  it("names the offset and the problem", async () => {
    expect((await problem(header("GGML", 3))).message).toBe('bad.gguf: invalid GGUF at byte 0: bad magic "GGML" (47 47 4d 4c), expected "GGUF"');
    expect((await problem(header("GGUF", 1, 0n, 0n))).problem).toMatch(/version 1 .*obsolete/);
    expect((await problem(header("GGUF", 0x03000000, 0n, 0n))).problem).toMatch(/big-endian/);
    expect((await problem(header("GGUF", 3, 0n))).problem).toMatch(/end of file while reading the metadata key-value count/);
    const hugeTensors = await problem(header("GGUF", 3, 2n ** 40n, 0n));
    expect([hugeTensors.offset, hugeTensors.problem]).toEqual([8, "tensor count 1099511627776 exceeds the limit of 1048576"]);
    expect((await problem(header("GGUF", 3, 1000n, 0n))).problem).toMatch(/tensor count 1000 cannot fit/);
  });

  it("rejects absurd string lengths, array counts and unknown types before allocating", async () => {
    const pad = "-".repeat(32);
    const longKey = await problem(header("GGUF", 3, 0n, 1n, 2n ** 62n, pad));
    expect([longKey.offset, longKey.problem]).toEqual([24, "metadata key #0 has length 4611686018427387904, over the limit of 65536 bytes"]);
    expect((await problem(header("GGUF", 3, 0n, 1n, 1n, "k", 13, pad))).problem).toMatch(/unknown value type 13/);
    const bigArray = await problem(header("GGUF", 3, 0n, 1n, 1n, "k", 9, 5, 2n ** 33n, pad));
    expect(bigArray.problem).toMatch(/length of array "k" 8589934592 exceeds the limit/);
    expect((await problem(header("GGUF", 3, 0n, 1n, 1n, "k", 9, 8, 1000n, pad))).problem).toMatch(/cannot fit/);
    expect((await problem(header("GGUF", 3, 0n, 1n, 1n, "k", 7, 2, pad))).problem).toMatch(/bool byte 2/);
    const duplicate = header("GGUF", 3, 0n, 2n, 1n, "k", 4, 1, 1n, "k", 4, 1);
    expect((await problem(duplicate)).problem).toBe('duplicate metadata key "k"');
    const alignment = header("GGUF", 3, 0n, 1n, 17n, "general.alignment", 4, 24);
    expect((await problem(alignment)).problem).toBe("general.alignment 24 is not a power of two");
  });

  it("rejects bad tensor infos", async () => {
    const info = (dims: bigint[], type: number, offset: bigint) => header("GGUF", 3, 1n, 0n, 1n, "t", dims.length, ...dims, type, offset, "x".repeat(64));
    expect((await problem(info([1n, 1n, 1n, 1n, 1n], 0, 0n))).problem).toMatch(/5 dimensions; at most 4/);
    expect((await problem(info([2n ** 40n, 2n ** 40n], 0, 0n))).problem).toMatch(/shape overflows/);
    expect((await problem(info([4n], 5, 0n))).problem).toMatch(/unknown ggml type 5/);
    expect((await problem(info([16n], 8, 0n))).problem).toMatch(/row length 16, not a multiple of its block size 32/);
    expect((await problem(info([4n], 0, 3n))).problem).toMatch(/not a multiple of the alignment 32/);
    expect((await problem(info([4n], 0, 2n ** 50n))).problem).toMatch(/beyond the end of the file/);
    expect((await problem(info([1000n], 0, 0n))).problem).toMatch(/data \[64, 4064\) lies beyond the end of the file/);
  });
});
