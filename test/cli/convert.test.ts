import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { writeRandomHfLlama } from "../../src/convert/index.js";
import { readGgufHeader } from "../../src/gguf/index.js";
import { captureIo } from "../support/capture-io.js";
import { sharedPath } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";

const newDirectory = temporaryDirectories("camelid-convert-cli-");

async function camelid(args: string[]) {
  const { io, stdout, stderr } = captureIo("", {});
  const code = await main(args, io);
  return { code, stdout: stdout(), stderr: stderr() };
}

describe("camelid convert", () => {
  it("converts a Hugging Face folder with its SentencePiece tokenizer to a GGUF and says what it wrote", async () => {
    const folder = join(newDirectory(), "tiny-llama");
    await writeRandomHfLlama(folder, {
      hiddenSize: 32, intermediateSize: 64, layers: 1, heads: 2, kvHeads: 1, vocabSize: 32000, tiedEmbeddings: true, dtype: "BF16", seed: 3,
      tokenizerFiles: [sharedPath("tokenizers", "llama2-spm", "tokenizer.model")],
    });
    const output = join(newDirectory(), "tiny.gguf");
    const result = await camelid(["convert", folder, "-o", output, "--type", "q8_0"]);
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/converted 11 tensors \(8 Q8_0, 3 F32\), [\d,]+ parameters → .*tiny\.gguf/);
    const header = await readGgufHeader(output);
    expect(header.metadata.get("general.name")).toEqual({ type: "string", value: "Tiny Llama" });
    expect(header.metadata.get("tokenizer.ggml.model")).toEqual({ type: "string", value: "llama" });
    expect(header.tensors.find((tensor) => tensor.name === "output.weight")).toBeUndefined();
  });

  it("names a bad --type and a folder that is not a checkpoint, writing nothing", async () => {
    const out = newDirectory();
    const badType = await camelid(["convert", out, "-o", join(out, "x.gguf"), "--type", "q5_k"]);
    expect(badType.code).not.toBe(0);
    expect(badType.stderr).toMatch(/--type must be one of f32, f16, q8_0, q4_0, got "q5_k"/);
    const notModel = await camelid(["convert", out, "-o", join(out, "x.gguf")]);
    expect(notModel.code).not.toBe(0);
    expect(notModel.stderr).toMatch(/has no config\.json/);
    expect(existsSync(join(out, "x.gguf"))).toBe(false);
  });
});
