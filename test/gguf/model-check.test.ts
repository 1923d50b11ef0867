// What llama.cpp needs from a model beyond a well-formed GGUF: each problem that made it abort the
// process (a duplicated vocabulary token) or fail with a terse "Failed to load model" is named here.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GgufFormatError, ModelLoadError } from "../../src/errors/index.js";
import { checkModelFile, checkModelHeader, checkVocabularyFile } from "../../src/gguf/model-check.js";
import { writeRandomLlamaGguf } from "../../src/gguf/random-llama.js";
import { parseGgufBytes } from "../../src/gguf/reader.js";
import type { GgufHeader } from "../../src/gguf/types.js";
import { sharedPath, stories260KPath } from "../support/shared-data.js";

const workDir = mkdtempSync(join(tmpdir(), "camelid-model-check-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const storiesBytes = new Uint8Array(readFileSync(stories260KPath()));
const stories = () => parseGgufBytes(storiesBytes);

function problem(header: GgufHeader): string {
  try {
    checkModelHeader(header, "model.gguf");
  } catch (error) {
    expect(error).toBeInstanceOf(ModelLoadError);
    return (error as Error).message;
  }
  return "accepted";
}

describe("checkModelHeader", () => {
  it("accepts stories260K and a GQA random LLaMA written by our writer", async () => {
    expect(problem(await stories())).toBe("accepted");
    const path = join(workDir, "gqa.gguf");
    await writeRandomLlamaGguf({ path, vocabFrom: sharedPath("tokenizers", "ggml-vocab-llama-spm.gguf"), dim: 64, layers: 2, heads: 8, kvHeads: 2, hiddenDim: 96, seed: 3 });
    await expect(checkModelFile(path)).resolves.toBeDefined();
  });

  it("names a duplicated vocabulary token (llama.cpp aborts the process on it)", async () => {
    const header = await stories();
    const tokens = header.metadata.get("tokenizer.ggml.tokens")!;
    if (tokens.type !== "array" || tokens.value.elementType !== "string") throw new Error("fixture");
    tokens.value.values[443] = tokens.value.values[412];
    expect(problem(header)).toMatch(/lists the token .* twice \(ids 412 and 443\)/);
  });

  it("names missing metadata, a missing tensor, a wrong shape and tensors out of ggml's order", async () => {
    let header = await stories();
    header.metadata.delete("general.architecture");
    expect(problem(header)).toMatch(/general\.architecture is missing/);

    header = await stories();
    header.metadata.delete("llama.block_count");
    expect(problem(header)).toMatch(/llama\.block_count is missing/);

    header = await stories();
    header.tensors = header.tensors.filter((tensor) => tensor.name !== "blk.2.ffn_norm.weight");
    expect(problem(header)).toMatch(/ffn_norm|data starts at offset/);

    header = await stories();
    header.tensors.find((tensor) => tensor.name === "blk.0.attn_norm.weight")!.name = "blk.0.attn_nurm.weight";
    expect(problem(header)).toMatch(/tensor blk\.0\.attn_norm\.weight is missing/);

    header = await stories();
    header.metadata.set("llama.attention.head_count_kv", { type: "uint32", value: 2 });
    expect(problem(header)).toMatch(/blk\.0\.attn_k\.weight has shape \[64, 32\], expected \[64, 16\]/);

    header = await stories();
    const [first, second] = header.tensors;
    [header.tensors[0], header.tensors[1]] = [second, first];
    expect(problem(header)).toMatch(/data starts at offset \d+ of the data section, expected 0/);
  });

  it("does not look for every tensor in the first file of a split model", async () => {
    const header = await stories();
    header.tensors = header.tensors.slice(0, 3);
    header.metadata.set("split.count", { type: "uint16", value: 3 });
    expect(problem(header)).toBe("accepted");
  });

  it("rejects a zero dimension as a malformed GGUF", async () => {
    const header = await stories();
    const mutated = storiesBytes.slice();
    // The first tensor's first dimension: name length (8) + name + n_dims (4) before it.
    const nameAt = Buffer.from(storiesBytes).indexOf(header.tensors[0].name);
    new DataView(mutated.buffer).setBigUint64(nameAt + header.tensors[0].name.length + 4, 0n, true);
    await expect(parseGgufBytes(mutated)).rejects.toThrow(GgufFormatError);
    await expect(parseGgufBytes(mutated)).rejects.toThrow(/dimension 0 is 0/);
  });

  it("checks vocabulary-only files as vocabularies", async () => {
    await expect(checkVocabularyFile(sharedPath("tokenizers", "ggml-vocab-llama-spm.gguf"))).resolves.toBeDefined();
    await expect(checkModelFile(sharedPath("tokenizers", "ggml-vocab-llama-spm.gguf"))).rejects.toThrow(/token_embd\.weight is missing/);
  });
});
