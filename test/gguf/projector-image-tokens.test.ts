// Tokens per image as llama.cpp's mtmd counts them (tools/mtmd/clip.cpp clip_n_output_tokens over the
// fixed-size preprocessor's image_size² input, and mtmd.cpp's begin/end-of-image texts), read from the
// projector's metadata; projectors whose count depends on the picture are "unknown", never guessed.
import { describe, expect, it } from "vitest";
import { describeImageTokens, projectorImageTokens } from "../../src/gguf/projector-image-tokens.js";
import { readGgufHeader } from "../../src/gguf/reader.js";
import type { GgufHeader, GgufTensorInfo, GgufValue } from "../../src/gguf/types.js";
import { writeRandomProjectorGguf } from "../../src/gguf/random-projector.js";
import { temporaryDirectories } from "../support/temporary-directories.js";

const newDirectory = temporaryDirectories("camelid-projector-tokens-");

function header(type: string, extra: Record<string, GgufValue> = {}, tensorNames: string[] = [], size = { image: 336, patch: 14 }): GgufHeader {
  const u32 = (value: number): GgufValue => ({ type: "uint32", value });
  const metadata = new Map<string, GgufValue>([
    ["general.architecture", { type: "string", value: "clip" }],
    ["clip.projector_type", { type: "string", value: type }],
    ["clip.vision.image_size", u32(size.image)],
    ["clip.vision.patch_size", u32(size.patch)],
    ...Object.entries(extra),
  ]);
  const tensors = tensorNames.map((name) => ({ name }) as GgufTensorInfo);
  return { version: 3, metadata, tensors, alignment: 32, dataOffset: 0, fileSize: 0 };
}

describe("projectorImageTokens", () => {
  it("counts LLaVA's mlp projector as (image_size / patch_size)², as the random projector's file says", async () => {
    // LLaVA-1.5: 336 px in 14 px patches → 576 tokens.
    expect(projectorImageTokens(header("mlp"))).toEqual({ known: true, projectorType: "mlp", imageTokens: 576, begin: "", end: "" });
    const written = await writeRandomProjectorGguf({ path: `${newDirectory()}/mmproj.gguf`, textDim: 64, imageSize: 48, patchSize: 8 });
    const count = projectorImageTokens(await readGgufHeader(written.path));
    expect(count).toMatchObject({ known: true, imageTokens: 36 });
    expect(describeImageTokens(count)).toBe("36 tokens per image");
  });

  it("follows clip.cpp for the other fixed-size projectors", () => {
    const u32 = (value: number): GgufValue => ({ type: "uint32", value });
    expect(projectorImageTokens(header("ldp"))).toMatchObject({ imageTokens: 144 });
    expect(projectorImageTokens(header("ldpv2"))).toMatchObject({ imageTokens: 144 });
    expect(projectorImageTokens(header("cogvlm"))).toMatchObject({ imageTokens: 578 });
    // GLM-Edge: a quarter of the patches plus its begin/end-of-image embeddings.
    expect(projectorImageTokens(header("adapter", {}, ["adapter.boi", "adapter.eoi"]))).toMatchObject({ imageTokens: 146 });
    // Gemma 3: 896 px in 14 px patches, merged 4×4 per side → 256, between its image tokens.
    expect(projectorImageTokens(header("gemma3", {}, [], { image: 896, patch: 14 }))).toEqual({ known: true, projectorType: "gemma3", imageTokens: 256, begin: "<start_of_image>", end: "<end_of_image>" });
    expect(projectorImageTokens(header("gemma3", { "clip.vision.projector.scale_factor": u32(2) }, [], { image: 896, patch: 14 }))).toMatchObject({ imageTokens: 1024 });
    expect(projectorImageTokens(header("yasa2"))).toMatchObject({ imageTokens: 64, begin: "<image>", end: "</image>" });
    expect(projectorImageTokens(header("nemotron_v2_vl", { "clip.vision.projector.scale_factor": u32(2) }, [], { image: 512, patch: 16 }))).toMatchObject({ imageTokens: 256 });
  });

  it("says unknown, with why, where the count depends on the picture", () => {
    const qwen = projectorImageTokens(header("qwen2vl_merger"));
    expect(qwen).toMatchObject({ known: false, projectorType: "qwen2vl_merger" });
    expect(describeImageTokens(qwen)).toMatch(/^unknown tokens per image \(projector "qwen2vl_merger" sizes each image/);
    const pinpoints: GgufValue = { type: "array", value: { elementType: "int32", values: Int32Array.from([336, 672, 672, 336]) } };
    expect(projectorImageTokens(header("mlp", { "clip.vision.image_grid_pinpoints": pinpoints }))).toMatchObject({ known: false, reason: expect.stringContaining("grid pinpoints") });
    expect(projectorImageTokens(header(""))).toMatchObject({ known: false });
  });
});
