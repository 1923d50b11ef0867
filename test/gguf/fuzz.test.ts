// Seeded mutation fuzzing: every mutant of a real or fixture GGUF must either parse (with tensor
// ranges inside the file) or throw GgufFormatError: never RangeError/TypeError, a hang or a huge allocation.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { GgufFormatError } from "../../src/errors/index.js";
import { describeGgufHeader } from "../../src/gguf/describe.js";
import { DEQUANTIZABLE_TYPES } from "../../src/gguf/quantization.js";
import { GgufReader, parseGgufBytes } from "../../src/gguf/reader.js";
import { seededRandom } from "../../src/random/seeded-random.js";
import type { GgufValue } from "../../src/gguf/types.js";
import { serializeGguf } from "../../src/gguf/writer.js";
import { sharedPath, stories260KPath } from "../support/shared-data.js";
import { everyTypeFile } from "./fixtures.js";
import { makeSeed, mutate, type Seed } from "../support/gguf-mutations.js";

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
    const random = seededRandom(20260101);
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
