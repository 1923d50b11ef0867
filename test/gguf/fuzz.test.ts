// Seeded mutation fuzzing: every mutant of a real or fixture GGUF must either parse (with tensor
// ranges inside the file) or throw GgufFormatError: never RangeError/TypeError, a hang or a huge allocation.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { GgufFormatError } from "../../src/errors/index.js";
import { describeGgufHeader } from "../../src/gguf/describe.js";
import { DEQUANTIZABLE_TYPES } from "../../src/gguf/quantization.js";
import { GgufReader, parseGgufBytes } from "../../src/gguf/reader.js";
import { createRandom } from "../../src/gguf/seeded-random.js";
import type { GgufHeader, GgufValue } from "../../src/gguf/types.js";
import { serializeGguf } from "../../src/gguf/writer.js";
import { sharedPath, stories260KPath } from "../support/shared-data.js";
import { everyTypeFile } from "./fixtures.js";

interface Seed {
  name: string;
  bytes: Uint8Array;
  /** Offsets of magic, version, counts, lengths, type codes, dims and tensor offsets. */
  fields: number[];
  headerEnd: number;
}

const FIXED_SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** Walks a valid file's structure and records where every structural field lives. */
function structuralFields(bytes: Uint8Array, header: GgufHeader): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields = [0, 4, 8, 16];
  let pos = 24;
  const u64 = (at: number) => Number(view.getBigUint64(at, true));
  const walkValue = (type: number, sampled: boolean): void => {
    if (type in FIXED_SIZES) {
      pos += FIXED_SIZES[type];
    } else if (type === 8) {
      if (sampled) fields.push(pos);
      pos += 8 + u64(pos);
    } else {
      fields.push(pos, pos + 4);
      const elementType = view.getUint32(pos, true);
      const count = u64(pos + 4);
      pos += 12;
      if (elementType in FIXED_SIZES) pos += count * FIXED_SIZES[elementType];
      else for (let i = 0; i < count; i++) walkValue(elementType, i < 6 || i === count - 1);
    }
  };
  for (let i = 0; i < header.metadata.size; i++) {
    fields.push(pos);
    pos += 8 + u64(pos);
    fields.push(pos);
    const type = view.getUint32(pos, true);
    pos += 4;
    walkValue(type, true);
  }
  for (let i = 0; i < header.tensors.length; i++) {
    fields.push(pos);
    pos += 8 + u64(pos);
    const dims = view.getUint32(pos, true);
    fields.push(pos);
    pos += 4;
    for (let d = 0; d < dims; d++, pos += 8) fields.push(pos);
    fields.push(pos, pos + 4);
    pos += 12;
  }
  return fields;
}

async function makeSeed(name: string, bytes: Uint8Array): Promise<Seed> {
  const header = await parseGgufBytes(bytes);
  const fields = structuralFields(bytes, header);
  return { name, bytes, fields, headerEnd: header.dataOffset };
}

/** A 300-token cut of the real SentencePiece vocabulary, so many mutants stay cheap to parse. */
async function smallVocabulary(): Promise<Uint8Array> {
  const reader = await GgufReader.open(sharedPath("tokenizers", "ggml-vocab-llama-spm.gguf"));
  await reader.close();
  const metadata: [string, GgufValue][] = [...reader.metadata].map(([key, value]) => {
    if (value.type !== "array") return [key, value];
    const array = value.value;
    const sliced = { elementType: array.elementType, values: array.values.slice(0, 300) } as typeof array;
    return [key, { type: "array", value: sliced }];
  });
  return serializeGguf({ metadata });
}

const INTERESTING_U64 = [0n, 1n, 0xffn, 0xffffffffn, 0x80000000n, 0x100000000n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];

/**
 * One mutant of `seed`. In-place edits go into `work` (a copy of the seed) and `restore` undoes them,
 * so a 1.2 MB seed is not copied per mutant; truncation is a view; only cuts and duplicates copy.
 */
function mutate(seed: Seed, work: Uint8Array, others: Seed[], random: () => number): { bytes: Uint8Array; operation: string; restore: () => void } {
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const nearField = () => Math.min(seed.bytes.byteLength - 1, pick(seed.fields) + Math.floor(random() * 8));
  const inHeader = () => Math.floor(random() * Math.min(seed.bytes.byteLength, seed.headerEnd + 64));
  const anywhere = () => Math.floor(random() * seed.bytes.byteLength);
  const where = () => (random() < 0.5 ? nearField() : random() < 0.8 ? inHeader() : anywhere());
  const editAt = (at: number, length: number) => {
    const end = Math.min(work.byteLength, at + length);
    return () => work.set(seed.bytes.subarray(at, end), at);
  };
  const view = new DataView(work.buffer, work.byteOffset, work.byteLength);
  const noRestore = () => {};
  const choice = random();
  if (choice < 0.25) {
    const at = where();
    const bit = Math.floor(random() * 8);
    const restore = editAt(at, 1);
    work[at] ^= 1 << bit;
    return { bytes: work, operation: `flip bit ${bit} at ${at}`, restore };
  }
  if (choice < 0.5) {
    const at = pick(seed.fields);
    const size = BigInt(seed.bytes.byteLength);
    const value = pick([...INTERESTING_U64, size, size - 24n, size + 1n, BigInt(Math.floor(random() * 2 ** 32))]);
    const restore = editAt(at, 8);
    if (random() < 0.5 && at + 8 <= work.byteLength) {
      view.setBigUint64(at, value & (2n ** 64n - 1n), true);
      return { bytes: work, operation: `u64 ${value} at ${at}`, restore };
    }
    if (at + 4 <= work.byteLength) view.setUint32(at, Number(value & 0xffffffffn), true);
    return { bytes: work, operation: `u32 ${value & 0xffffffffn} at ${at}`, restore };
  }
  if (choice < 0.62) {
    const at = where();
    const length = 1 + Math.floor(random() * 8);
    const fill = random() < 0.5 ? 0 : 0xff;
    const restore = editAt(at, length);
    work.fill(fill, at, at + length);
    return { bytes: work, operation: `fill ${length} bytes with ${fill} at ${at}`, restore };
  }
  if (choice < 0.82) {
    const at = random() < 0.7 ? Math.max(0, pick(seed.fields) + pick([-1, 0, 1, 3, 4, 7])) : anywhere();
    return { bytes: seed.bytes.subarray(0, at), operation: `truncate at ${at}`, restore: noRestore };
  }
  // Splices: paste a chunk of another file over this one, or cut/duplicate a range (shifts every field after it).
  const donor = pick(others);
  const length = 1 + Math.floor(random() * 256);
  const at = where();
  const kind = random();
  if (kind < 0.4) {
    const from = Math.floor(random() * Math.max(1, donor.headerEnd - length));
    const restore = editAt(at, length);
    work.set(donor.bytes.subarray(from, from + length).subarray(0, Math.max(0, work.byteLength - at)), at);
    return { bytes: work, operation: `splice ${length} bytes of ${donor.name}@${from} at ${at}`, restore };
  }
  if (kind < 0.7) {
    const out = new Uint8Array(seed.bytes.byteLength - Math.min(length, seed.bytes.byteLength - at));
    out.set(seed.bytes.subarray(0, at));
    out.set(seed.bytes.subarray(at + length), at);
    return { bytes: out, operation: `delete ${length} bytes at ${at}`, restore: noRestore };
  }
  const chunk = seed.bytes.subarray(at, at + length);
  const out = new Uint8Array(seed.bytes.byteLength + chunk.byteLength);
  out.set(seed.bytes.subarray(0, at));
  out.set(chunk, at);
  out.set(seed.bytes.subarray(at), at + chunk.byteLength);
  return { bytes: out, operation: `duplicate ${chunk.byteLength} bytes at ${at}`, restore: noRestore };
}

/** Parses a mutant and uses what it got; returns a failure description, or null when all was well. */
async function exercise(bytes: Uint8Array): Promise<"parsed" | "rejected" | string> {
  try {
    const reader = await GgufReader.fromBytes(bytes);
    const { tensors, fileSize } = reader.header;
    for (const tensor of tensors) {
      if (tensor.fileOffset + tensor.byteLength > fileSize) return `tensor ${tensor.name} range outside the file`;
    }
    describeGgufHeader(reader.header);
    for (const tensor of [tensors[0], tensors[1], tensors.at(-1)]) {
      if (!tensor) continue;
      if ((DEQUANTIZABLE_TYPES as readonly string[]).includes(tensor.type)) await reader.tensorFloats(tensor.name);
      else await reader.tensorBytes(tensor.name);
    }
    await reader.close();
    return "parsed";
  } catch (error) {
    if (error instanceof GgufFormatError) return "rejected";
    return `${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`;
  }
}

describe("mutation fuzzing", () => {
  it("every mutant parses or throws GgufFormatError", { timeout: 60_000 }, async () => {
    const started = performance.now();
    const seeds = [
      await makeSeed("stories260K", new Uint8Array(readFileSync(stories260KPath()))),
      await makeSeed("llama-spm", new Uint8Array(readFileSync(sharedPath("tokenizers", "ggml-vocab-llama-spm.gguf")))),
      await makeSeed("every-type", await serializeGguf(everyTypeFile(64))),
      await makeSeed("small-vocab", await smallVocabulary()),
    ];
    const plan: [Seed, number][] = [
      [seeds[0], 1500],
      [seeds[1], 120],
      [seeds[2], 2200],
      [seeds[3], 1000],
    ];
    const random = createRandom(20260101);
    const failures: string[] = [];
    const outcomes = { parsed: 0, rejected: 0 };
    let mutants = 0;
    for (const [seed, count] of plan) {
      const work = seed.bytes.slice();
      for (let i = 0; i < count; i++) {
        const { bytes, operation, restore } = mutate(seed, work, seeds, random);
        const outcome = await exercise(bytes);
        restore();
        mutants++;
        if (outcome === "parsed" || outcome === "rejected") outcomes[outcome]++;
        else if (failures.length < 20) failures.push(`${seed.name} #${i} (${operation}): ${outcome}`);
      }
      // Every in-place edit was undone, so each mutant differed from the seed only by its own edit.
      expect(Buffer.compare(Buffer.from(work), Buffer.from(seed.bytes)), seed.name).toBe(0);
      if (process.env.CAMELID_FUZZ_TIMING) console.log(seed.name, ((performance.now() - started) / 1000).toFixed(2));
    }
    const seconds = (performance.now() - started) / 1000;
    if (process.env.CAMELID_FUZZ_TIMING) console.log(JSON.stringify(outcomes), seconds.toFixed(2));
    expect(failures).toEqual([]);
    expect(mutants).toBe(4820);
    // Both outcomes must be common, or the mutator is too gentle (all parse) or only breaks the magic.
    expect(outcomes.rejected).toBeGreaterThan(1500);
    expect(outcomes.parsed).toBeGreaterThan(500);
  });

  it("truncation at every structural field of the fixture gives GgufFormatError", async () => {
    const seed = await makeSeed("every-type", await serializeGguf(everyTypeFile()));
    for (const field of seed.fields) {
      for (const cut of [field, field + 1, field + 3]) {
        const error = await parseGgufBytes(seed.bytes.slice(0, cut)).catch((e: unknown) => e);
        expect(error, `cut at ${cut}`).toBeInstanceOf(GgufFormatError);
        expect((error as GgufFormatError).offset).toBeLessThanOrEqual(cut);
      }
    }
  });
});
