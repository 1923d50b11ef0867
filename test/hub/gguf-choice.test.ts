import { describe, expect, it } from "vitest";
import { AmbiguousFileError, chooseGgufFile, NoMatchingFileError, parseModelReference, quantizationOfFile } from "../../src/hub/index.js";
import { InvalidArgumentError, UnsupportedFeatureError } from "../../src/errors/index.js";

describe("quantisation names in GGUF file names", () => {
  it.each([
    ["llama-2-7b.Q4_K_M.gguf", "Q4_K_M"],
    ["Meta-Llama-3-8B-Instruct-Q8_0.gguf", "Q8_0"],
    ["qwen2-0_5b-instruct-q4_k_m.gguf", "Q4_K_M"],
    ["tinyllama-1.1b-chat-v1.0.Q5_K_S.gguf", "Q5_K_S"],
    ["model-IQ2_XXS.gguf", "IQ2_XXS"],
    ["sub/model-bf16.gguf", "BF16"],
    ["model.f16.gguf", "F16"],
    ["Qwen2-7B.gguf", undefined],
    ["stories260K.gguf", undefined],
  ])("%s → %s", (file, quant) => {
    expect(quantizationOfFile(file)).toBe(quant);
  });
});

describe("choosing the GGUF a reference means", () => {
  const files = ["README.md", "m-Q4_K_M.gguf", "m-Q8_0.gguf", "m-f16.gguf", "mmproj-m-f16.gguf"];

  it("matches the quantisation case-insensitively and skips vision projectors", () => {
    expect(chooseGgufFile("o/m", files, "q8_0")).toBe("m-Q8_0.gguf");
    expect(chooseGgufFile("o/m", files, "F16")).toBe("m-f16.gguf");
  });

  it("takes Q4_K_M when nothing is named, as Ollama and llama.cpp do, and the only GGUF when there is one", () => {
    expect(chooseGgufFile("o/m", files)).toBe("m-Q4_K_M.gguf");
    expect(chooseGgufFile("o/m", ["a.json", "only.gguf"])).toBe("only.gguf");
  });

  it("takes a file by its path or base name", () => {
    expect(chooseGgufFile("o/m", ["sub/x.gguf", "y.gguf"], "x.gguf")).toBe("sub/x.gguf");
    expect(chooseGgufFile("o/m", files, "mmproj-m-f16.gguf")).toBe("mmproj-m-f16.gguf");
  });

  it("refuses a quantisation the repo lacks, listing the choices", () => {
    const error = (() => {
      try {
        chooseGgufFile("o/m", files, "Q5_K_M");
      } catch (caught) {
        return caught;
      }
    })() as NoMatchingFileError;
    expect(error).toBeInstanceOf(NoMatchingFileError);
    expect(error.choices).toEqual(["m-Q4_K_M.gguf", "m-Q8_0.gguf", "m-f16.gguf", "mmproj-m-f16.gguf"]);
    expect(error.message).toContain("m-Q8_0.gguf");
  });

  it("refuses when several files match or none is named and there is no Q4_K_M", () => {
    expect(() => chooseGgufFile("o/m", ["a/m-Q4_K_M.gguf", "b/m-q4_k_m.gguf"], "q4_k_m")).toThrow(AmbiguousFileError);
    expect(() => chooseGgufFile("o/m", ["m-Q8_0.gguf", "m-F16.gguf"])).toThrow(/several GGUF files.*\n  m-Q8_0.gguf\n  m-F16.gguf/);
    expect(() => chooseGgufFile("o/m", ["model.safetensors"])).toThrow(NoMatchingFileError);
  });

  it("refuses a model split into parts (gguf-split) by name rather than calling it ambiguous", () => {
    const parts = ["m-Q8_0-00001-of-00002.gguf", "m-Q8_0-00002-of-00002.gguf", "m-Q4_K_M.gguf"];
    expect(() => chooseGgufFile("o/m", parts, "q8_0")).toThrow(UnsupportedFeatureError);
    expect(() => chooseGgufFile("o/m", parts, "q8_0")).toThrow(/m-Q8_0 is split into 2 files/);
    expect(chooseGgufFile("o/m", parts, "Q4_K_M")).toBe("m-Q4_K_M.gguf");
  });
});

describe("model references", () => {
  it("parses hf: references and URLs", () => {
    expect(parseModelReference("hf:TheBloke/Llama-2-7B-GGUF:Q4_K_M")).toEqual({ kind: "hub", repo: "TheBloke/Llama-2-7B-GGUF", selector: "Q4_K_M" });
    expect(parseModelReference("hf:o/m")).toEqual({ kind: "hub", repo: "o/m" });
    expect(parseModelReference("https://example.com/a/m.gguf")).toEqual({ kind: "url", url: "https://example.com/a/m.gguf" });
  });

  it("names what is wrong with a bad reference", () => {
    expect(() => parseModelReference("TheBloke/x")).toThrow(InvalidArgumentError);
    expect(() => parseModelReference("hf:no-slash")).toThrow(/not a Hub repo id/);
    expect(() => parseModelReference("hf:o/m:../../etc")).toThrow(/not a quantisation or file name/);
  });
});
