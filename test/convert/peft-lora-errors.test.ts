import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { AdapterFormatError, UnsupportedAdapterError } from "../../src/convert/lora/errors.js";
import { exportPeftAdapter } from "../../src/convert/lora/gguf-to-peft.js";
import { convertPeftToGguf } from "../../src/convert/lora/peft-to-gguf.js";
import { InvalidArgumentError } from "../../src/errors/index.js";
import { writeGguf, writeRandomLlamaGguf } from "../../src/gguf/index.js";
import { SafetensorsFile, SafetensorsFormatError, writeSafetensors } from "../../src/safetensors/index.js";
import { captureIo } from "../support/capture-io.js";
import { repoRoot } from "../support/shared-data.js";
import { peftCases, vocabFromPath, writeCamelidCaseAdapter, writeCaseBase, writeCasePeftFolder } from "./support/peft-fixtures.js";

// Every adapter convert --lora / export-peft cannot carry faithfully is refused with a typed error that
// names the adapter_config.json key or tensor at fault, and no output file is left behind.

const golden = JSON.parse(readFileSync(join(repoRoot, "test/convert/golden/peft-golden.json"), "utf8")) as { cases: Record<string, { adapterConfig: string; modelCardFrontMatter: string }> };
const [mha, gqa] = [peftCases.find((c) => c.name === "mha")!, peftCases.find((c) => c.name === "gqa")!];
const dir = mkdtempSync(join(tmpdir(), "camelid-peft-errors-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let mhaBase: string;
let gqaBase: string;
let goodPeft: string;
let gqaPeft: string;
let counter = 0;

beforeAll(async () => {
  mhaBase = await writeCaseBase(mha, join(dir, "mha-base.gguf"));
  gqaBase = await writeCaseBase(gqa, join(dir, "gqa-base.gguf"));
  goodPeft = await writeCasePeftFolder(mha, join(dir, "good"), golden.cases.mha, mhaBase);
  gqaPeft = await writeCasePeftFolder(gqa, join(dir, "good"), golden.cases.gqa, gqaBase);
});

/** A copy of the good PEFT folder with adapter_config.json changed. */
function withConfig(change: (config: Record<string, unknown>) => void, from = goodPeft): string {
  const copy = join(dir, `variant-${++counter}`);
  cpSync(from, copy, { recursive: true });
  const config = JSON.parse(readFileSync(join(copy, "adapter_config.json"), "utf8"));
  change(config);
  writeFileSync(join(copy, "adapter_config.json"), JSON.stringify(config));
  return copy;
}

/** A copy of the good PEFT folder whose safetensors hold `tensors` (names → [rows, cols]) instead. */
async function withTensors(tensors: Record<string, [number, number]>): Promise<string> {
  const copy = join(dir, `variant-${++counter}`);
  cpSync(goodPeft, copy, { recursive: true });
  await writeSafetensors(
    join(copy, "adapter_model.safetensors"),
    Object.entries(tensors).map(([name, shape]) => ({ name, dtype: "F32" as const, shape, data: new Float32Array(shape[0] * shape[1]).fill(0.01) })),
  );
  return copy;
}

async function expectRefused(peftDir: string, errorClass: abstract new (...args: never[]) => Error, pattern: RegExp, field?: string, basePath = mhaBase) {
  const outPath = join(dir, `out-${++counter}.gguf`);
  const failure = await convertPeftToGguf({ peftDir, basePath, outPath }).then(
    () => null,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(errorClass);
  expect((failure as Error).message).toMatch(pattern);
  if (field !== undefined) expect((failure as UnsupportedAdapterError).field).toBe(field);
  expect(existsSync(outPath)).toBe(false);
  expect(existsSync(`${outPath}.tmp-${process.pid}`)).toBe(false);
}

describe("convert --lora refuses what llama.cpp's LoRA GGUF cannot carry, naming the key", () => {
  it.each([
    ["use_dora", (c: Record<string, unknown>) => (c.use_dora = true), /DoRA/],
    ["use_rslora", (c: Record<string, unknown>) => (c.use_rslora = true), /alpha\/r/],
    ["modules_to_save", (c: Record<string, unknown>) => (c.modules_to_save = ["lm_head"]), /fully trained copies/],
    ["bias", (c: Record<string, unknown>) => (c.bias = "lora_only"), /only bias "none"/],
    ["lora_bias", (c: Record<string, unknown>) => (c.lora_bias = true), /bias term/],
    ["target_modules", (c: Record<string, unknown>) => (c.target_modules = ["q_proj", "c_attn"]), /\[c_attn\] are not LLaMA modules/],
    ["alpha_pattern", (c: Record<string, unknown>) => (c.alpha_pattern = { q_proj: 32 }), /single adapter.lora.alpha/],
    ["lora_alpha", (c: Record<string, unknown>) => (c.lora_alpha = 0), /must be positive/],
    ["peft_type", (c: Record<string, unknown>) => (c.peft_type = "PREFIX_TUNING"), /not a LoRA adapter/],
    ["task_type", (c: Record<string, unknown>) => (c.task_type = "SEQ_CLS"), /only CAUSAL_LM/],
    ["r", (c: Record<string, unknown>) => delete c.r, /r: /],
  ])("%s", async (field, change, pattern) => {
    await expectRefused(withConfig(change), UnsupportedAdapterError, pattern, field);
  });

  it("tensors that are not LoRA factors of LLaMA modules, by name", async () => {
    const foreign = "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight";
    await expectRefused(await withTensors({ [foreign]: [4, 64] }), UnsupportedAdapterError, /not a LoRA factor of a LLaMA module/, foreign);
    const saved = "base_model.model.lm_head.modules_to_save.default.weight";
    await expectRefused(await withTensors({ [saved]: [512, 64] }), UnsupportedAdapterError, /modules_to_save/, "modules_to_save");
    const embedding = "base_model.model.model.embed_tokens.weight";
    await expectRefused(await withTensors({ [embedding]: [512, 64] }), UnsupportedAdapterError, /new tokens/, embedding);
  });

  it("a damaged or foreign folder: missing config, pickle weights, unpaired factor, wrong base model", async () => {
    const noConfig = withConfig(() => {});
    rmSync(join(noConfig, "adapter_config.json"));
    await expectRefused(noConfig, AdapterFormatError, /adapter_config.json is missing/);
    const badJson = withConfig(() => {});
    writeFileSync(join(badJson, "adapter_config.json"), "{ r: 4");
    await expectRefused(badJson, AdapterFormatError, /not valid JSON/);
    const pickle = withConfig(() => {});
    renameSync(join(pickle, "adapter_model.safetensors"), join(pickle, "adapter_model.bin"));
    await expectRefused(pickle, AdapterFormatError, /safe_serialization=True/);
    await expectRefused(await withTensors({ "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": [4, 64] }), AdapterFormatError, /has no lora_B partner/);
    // the mha adapter on the GQA base: k_proj's B has 64 rows, the base's attn_k 16
    await expectRefused(goodPeft, AdapterFormatError, /wrong base model/, undefined, gqaBase);
    const truncated = withConfig(() => {});
    const weights = join(truncated, "adapter_model.safetensors");
    writeFileSync(weights, readFileSync(weights).subarray(0, 4000));
    await expectRefused(truncated, SafetensorsFormatError, /truncated/);
  });

  it("a base that is not LLaMA, or that ties lm_head (as convert_lora_to_gguf.py refuses)", async () => {
    const gpt2 = join(dir, "gpt2.gguf");
    await writeGguf(gpt2, { metadata: [["general.architecture", { type: "string", value: "gpt2" }]] });
    await expectRefused(goodPeft, UnsupportedAdapterError, /not LLaMA/, "general.architecture", gpt2);
    const tied = join(dir, "gqa-tied.gguf");
    await writeRandomLlamaGguf({ path: tied, vocabFrom: vocabFromPath(), ...gqa.model, tiedEmbeddings: true });
    await expectRefused(gqaPeft, UnsupportedAdapterError, /ties its output head/, "lm_head", tied);
  });
});

describe("export-peft refuses what is not a LoRA adapter of its base", () => {
  it("a model GGUF given as the adapter, an adapter of another base, an occupied folder", async () => {
    const out = join(dir, "export-refused");
    await expect(exportPeftAdapter({ adapterPath: mhaBase, basePath: mhaBase, outDir: out })).rejects.toThrow(/not a llama.cpp LoRA adapter/);
    const { adapterPath } = await writeCamelidCaseAdapter(mha, join(dir, "camelid-mha"));
    await expect(exportPeftAdapter({ adapterPath, basePath: gqaBase, outDir: out })).rejects.toThrow(AdapterFormatError);
    expect(existsSync(join(out, "adapter_model.safetensors"))).toBe(false);
    await exportPeftAdapter({ adapterPath, basePath: mhaBase, outDir: out });
    await expect(exportPeftAdapter({ adapterPath, basePath: mhaBase, outDir: out })).rejects.toThrow(InvalidArgumentError);
    await exportPeftAdapter({ adapterPath, basePath: mhaBase, outDir: out, overwrite: true });
  });
});

describe("the commands", () => {
  it("camelid convert --lora writes the adapter and reports it; a refused adapter is one line naming the key, exit 1", async () => {
    const { io, stdout } = captureIo();
    const out = join(dir, "cli-adapter.gguf");
    expect(await main(["convert", "--lora", goodPeft, "--base", mhaBase, "-o", out, "--outtype", "f16"], io)).toBe(0);
    expect(stdout()).toMatch(/wrote .*cli-adapter.gguf: 30 tensors \(f16\).*rank 4, alpha 8/);
    const refused = captureIo();
    expect(await main(["convert", "--lora", withConfig((c) => (c.use_dora = true)), "--base", mhaBase, "-o", join(dir, "x.gguf")], refused.io)).toBe(1);
    expect(refused.stderr()).toMatch(/use_dora: DoRA adapters/);
    const badType = captureIo();
    expect(await main(["convert", "--lora", goodPeft, "--base", mhaBase, "-o", out, "--outtype", "q4_0"], badType.io)).toBe(1);
    expect(badType.stderr()).toMatch(/--outtype must be one of f32, f16, q8_0/);
    const help = captureIo();
    expect(await main(["convert", "--lora", "--help"], help.io)).toBe(0);
    expect(help.stdout()).toMatch(/^usage: camelid convert --lora/);
    const missing = captureIo();
    expect(await main(["convert", "--lora", join(dir, "no-such-folder"), "--base", mhaBase, "-o", join(dir, "y.gguf")], missing.io)).toBe(1);
    expect(missing.stderr()).toMatch(/no such folder/);
  });

  it("camelid export-peft reads a train run folder: its adapter.gguf and the base its recipe.yaml names", async () => {
    const run = join(dir, "run");
    mkdirSync(run, { recursive: true });
    const { adapterPath } = await writeCamelidCaseAdapter(mha, join(dir, "camelid-run-source"));
    cpSync(adapterPath, join(run, "adapter.gguf"));
    writeFileSync(join(run, "recipe.yaml"), `model: ${mhaBase}\n`);
    const { io, stdout } = captureIo();
    const out = join(dir, "cli-peft");
    expect(await main(["export-peft", run, "-o", out, "--base-model-id", "camelid/tiny-mha"], io)).toBe(0);
    expect(stdout()).toMatch(/28 tensors, r 4, lora_alpha 8, target_modules down_proj, gate_proj, k_proj, o_proj, q_proj, up_proj, v_proj/);
    expect(JSON.parse(readFileSync(join(out, "adapter_config.json"), "utf8")).base_model_name_or_path).toBe("camelid/tiny-mha");
    const weights = await SafetensorsFile.open(join(out, "adapter_model.safetensors"));
    expect(weights.metadata).toEqual({ format: "pt" });
    expect(weights.tensor("base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight")?.shape).toEqual([4, 64]);
    await weights.close();
    const noBase = captureIo();
    expect(await main(["export-peft", join(run, "adapter.gguf"), "-o", join(dir, "cli-peft-2")], noBase.io)).toBe(1);
    expect(noBase.stderr()).toMatch(/--base needs the base model GGUF/);
  });
});
