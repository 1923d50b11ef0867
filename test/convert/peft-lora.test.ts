import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { exportPeftAdapter } from "../../src/convert/lora/gguf-to-peft.js";
import { convertPeftToGguf, loraOutTypes } from "../../src/convert/lora/peft-to-gguf.js";
import { main } from "../../src/cli/main.js";
import { LlamaModel, loadLlamaGguf } from "../../src/engine/index.js";
import { saveCheckpoint } from "../../src/train/index.js";
import { captureIo } from "../support/capture-io.js";
import { GgufReader, plainValue, type GgufValue } from "../../src/gguf/index.js";
import { SafetensorsFile } from "../../src/safetensors/index.js";
import { llamaCppLogits, maxRelativeError } from "../support/llama-cpp-logits.js";
import { repoRoot } from "../support/shared-data.js";
import { peftCases, writeCamelidCaseAdapter, writeCaseBase, writeCasePeftFolder, type PeftCase } from "./support/peft-fixtures.js";

// `camelid convert --lora` against llama.cpp's convert_lora_to_gguf.py and PEFT, `camelid export-peft`
// against PEFT loading what it writes; scripts/golden/make_peft_golden.py recorded the Python side.

const describedGguf = z.object({
  metadata: z.array(z.object({ key: z.string(), types: z.array(z.string()), value: z.unknown() })),
  tensors: z.array(z.object({ name: z.string(), type: z.string(), dims: z.array(z.number()), sha256: z.string() })),
  sha256: z.string(),
  bytes: z.number(),
});
const goldenSchema = z.object({
  vocabSize: z.number(),
  cases: z.record(
    z.string(),
    z.object({
      baseGgufTensorSha256: z.record(z.string(), z.string()),
      baseLogits: z.string(),
      adapterConfig: z.string(),
      modelCardFrontMatter: z.string(),
      peftTensors: z.record(z.string(), z.object({ shape: z.array(z.number()), sha256: z.string() })),
      peftLogits: z.string(),
      convertLora: z.record(z.string(), describedGguf),
      camelidExport: z.object({ adapterConfig: z.record(z.string(), z.unknown()), tensors: z.record(z.string(), z.string()), logits: z.string() }),
    }),
  ),
});
const golden = goldenSchema.parse(JSON.parse(readFileSync(join(repoRoot, "test/convert/golden/peft-golden.json"), "utf8")));

const dir = mkdtempSync(join(tmpdir(), "camelid-peft-lora-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const floatsSha = (values: Float32Array) => sha256(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
const logitRows = (base64: string, vocab: number) => {
  const bytes = Buffer.from(base64, "base64");
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return Array.from({ length: all.length / vocab }, (_, t) => all.subarray(t * vocab, (t + 1) * vocab));
};
const flat = (rows: Float32Array[]) => {
  const out = new Float32Array(rows.length * rows[0].length);
  rows.forEach((row, t) => out.set(row, t * row.length));
  return out;
};

/** gguf-py's GGUFReader view of a metadata value (field.contents()), for comparison with the golden. */
function goldenView(value: GgufValue): { types: string[]; value: unknown } {
  if (value.type === "array") {
    const plain = plainValue(value) as unknown[];
    return { types: ["ARRAY", value.value.elementType.toUpperCase()], value: plain.map((v) => (typeof v === "bigint" ? Number(v) : v)) };
  }
  const plain = plainValue(value);
  return { types: [value.type.toUpperCase()], value: typeof plain === "bigint" ? Number(plain) : plain };
}

async function describeOurs(path: string): Promise<z.infer<typeof describedGguf>> {
  const reader = await GgufReader.open(path);
  try {
    const metadata = [...reader.metadata].map(([key, value]) => ({ key, ...goldenView(value) }));
    const tensors = [];
    for (const info of reader.tensors) tensors.push({ name: info.name, type: info.type, dims: info.dims, sha256: sha256(await reader.tensorBytes(info.name)) });
    const file = readFileSync(path);
    return { metadata, tensors, sha256: sha256(file), bytes: file.byteLength };
  } finally {
    await reader.close();
  }
}

interface Prepared {
  testCase: PeftCase;
  basePath: string;
  peftDir: string;
  converted: Record<string, string>;
}
const prepared = new Map<string, Prepared>();

beforeAll(async () => {
  for (const testCase of peftCases) {
    const entry = golden.cases[testCase.name];
    const basePath = await writeCaseBase(testCase, join(dir, `${testCase.name}-base.gguf`));
    const peftDir = await writeCasePeftFolder(testCase, dir, entry, basePath);
    const converted: Record<string, string> = {};
    for (const outType of loraOutTypes) {
      converted[outType] = join(dir, `${testCase.name}-${outType}.gguf`);
      await convertPeftToGguf({ peftDir, basePath, outPath: converted[outType], outType });
    }
    prepared.set(testCase.name, { testCase, basePath, peftDir, converted });
  }
});

describe.each(peftCases.map((testCase) => [testCase.name, testCase] as const))("PEFT LoRA golden, %s", (name) => {
  const entry = golden.cases[name];

  it("rebuilds the golden's base model and PEFT tensors bit for bit (the TypeScript and Python generators agree)", async () => {
    const { basePath, peftDir } = prepared.get(name)!;
    const reader = await GgufReader.open(basePath);
    for (const [tensor, hash] of Object.entries(entry.baseGgufTensorSha256)) expect(floatsSha(await reader.tensorFloats(tensor)), tensor).toBe(hash);
    await reader.close();
    const weights = await SafetensorsFile.open(join(peftDir, "adapter_model.safetensors"));
    expect(weights.tensors.map((tensor) => tensor.name)).toEqual(Object.keys(entry.peftTensors).sort());
    for (const tensor of weights.tensors) {
      expect(tensor.shape, tensor.name).toEqual(entry.peftTensors[tensor.name].shape);
      expect(sha256(await weights.readBytes(tensor.name)), tensor.name).toBe(entry.peftTensors[tensor.name].sha256);
    }
    await weights.close();
  });

  it.each([...loraOutTypes])("convert --lora --outtype %s writes convert_lora_to_gguf.py's file: metadata, tensor order, types, dims, data, every byte", async (outType) => {
    const ours = await describeOurs(prepared.get(name)!.converted[outType]);
    const theirs = entry.convertLora[outType];
    expect(ours.metadata).toEqual(theirs.metadata);
    expect(ours.tensors).toEqual(theirs.tensors);
    expect(ours.bytes).toBe(theirs.bytes);
    expect(ours.sha256).toBe(theirs.sha256);
  });

  it("llama.cpp with the converted adapter gives PEFT's logits (which differ visibly from the base model's)", async () => {
    const { testCase, basePath, converted } = prepared.get(name)!;
    const vocab = golden.vocabSize;
    const peft = logitRows(entry.peftLogits, vocab);
    const adapted = await llamaCppLogits(basePath, testCase.tokens, vocab, converted.f32);
    const error = maxRelativeError(flat(adapted), peft, vocab);
    console.log(`${name}: llama.cpp + converted adapter vs PEFT ${error.toExponential(2)}`);
    expect(error).toBeLessThanOrEqual(1e-4);
    // the adapter matters: transformers' logits without it are far off (the base GGUF is the same
    // model as the golden's, tensor for tensor: first test)
    expect(maxRelativeError(flat(adapted), logitRows(entry.baseLogits, vocab), vocab)).toBeGreaterThan(1e-2);
  });

  it("export-peft: camelid's adapter as a PEFT folder gives, loaded by PEFT, the logits camelid computes", async () => {
    const { testCase } = prepared.get(name)!;
    const { basePath, adapterPath, config, lora } = await writeCamelidCaseAdapter(testCase, join(dir, `${name}-camelid`));
    const outDir = join(dir, `${name}-camelid`, "peft");
    await exportPeftAdapter({ adapterPath, basePath, outDir });
    const exported = await SafetensorsFile.open(join(outDir, "adapter_model.safetensors"));
    const hashes: Record<string, string> = {};
    for (const tensor of exported.tensors) hashes[tensor.name] = floatsSha(await exported.readFloat32(tensor.name));
    await exported.close();
    expect(hashes).toEqual(entry.camelidExport.tensors);
    expect(JSON.parse(readFileSync(join(outDir, "adapter_config.json"), "utf8"))).toEqual(entry.camelidExport.adapterConfig);

    const { weights } = await loadLlamaGguf(basePath);
    const engine = new LlamaModel(config, weights, { lora: lora.config, seed: 1 });
    engine.lora!.params.set(lora.params);
    engine.training = false;
    engine.forward({ tokens: Int32Array.from(testCase.tokens) }, 1, testCase.tokens.length);
    const peft = logitRows(entry.camelidExport.logits, config.vocabSize);
    const error = maxRelativeError(engine.logits, peft, config.vocabSize);
    const viaLlamaCpp = maxRelativeError(flat(await llamaCppLogits(basePath, testCase.tokens, config.vocabSize, adapterPath)), peft, config.vocabSize);
    console.log(`${name}: PEFT with camelid's exported adapter vs camelid engine ${error.toExponential(2)}, vs llama.cpp with the GGUF adapter ${viaLlamaCpp.toExponential(2)}`);
    expect(error).toBeLessThanOrEqual(1e-4);
    expect(viaLlamaCpp).toBeLessThanOrEqual(1e-4);
  });

  it("export-peft of a run folder that has only its checkpoint (a run killed hard) gives the same PEFT tensors", async () => {
    const { testCase } = prepared.get(name)!;
    const { basePath, lora } = await writeCamelidCaseAdapter(testCase, join(dir, `${name}-checkpoint-source`));
    const run = join(dir, `${name}-killed-run`);
    mkdirSync(run, { recursive: true });
    const { rank, alpha, targets, outputHead } = testCase.camelid;
    writeFileSync(join(run, "recipe.yaml"), `model: ${basePath}\ndata: data.json\nout: ${run}\nrank: ${rank}\nalpha: ${alpha}\ntargets: [${[...targets, ...(outputHead ? ["lm_head"] : [])].join(", ")}]\n`);
    const zeros = new Float32Array(lora.params.length);
    saveCheckpoint(join(run, "checkpoint.bin"), { step: 7, adamStep: 7, randomState: 1, fingerprint: "x", tokensSeen: 0, params: lora.params, m: zeros, v: zeros });
    const { io, stderr } = captureIo();
    const outDir = join(run, "peft");
    expect(await main(["export-peft", run, "-o", outDir], io)).toBe(0);
    expect(stderr()).toMatch(/checkpoint.bin \(step 7\)/);
    const exported = await SafetensorsFile.open(join(outDir, "adapter_model.safetensors"));
    const hashes: Record<string, string> = {};
    for (const tensor of exported.tensors) hashes[tensor.name] = floatsSha(await exported.readFloat32(tensor.name));
    await exported.close();
    expect(hashes).toEqual(entry.camelidExport.tensors);
  });

  it("round trip PEFT → GGUF → PEFT gives back every LoRA tensor byte for byte, and r, alpha, target_modules", async () => {
    const { basePath, peftDir, converted } = prepared.get(name)!;
    const outDir = join(dir, `${name}-round-trip`);
    await exportPeftAdapter({ adapterPath: converted.f32, basePath, outDir });
    const [original, back] = await Promise.all([SafetensorsFile.open(join(peftDir, "adapter_model.safetensors")), SafetensorsFile.open(join(outDir, "adapter_model.safetensors"))]);
    const loraNames = original.tensors.map((tensor) => tensor.name).filter((tensor) => tensor.includes(".lora_"));
    expect(back.tensors.map((tensor) => tensor.name)).toEqual(loraNames);
    for (const tensor of loraNames) {
      expect(back.tensor(tensor)!.shape, tensor).toEqual(original.tensor(tensor)!.shape);
      expect(Buffer.from(await back.readBytes(tensor)).equals(Buffer.from(await original.readBytes(tensor))), tensor).toBe(true);
    }
    await Promise.all([original.close(), back.close()]);
    const before = JSON.parse(entry.adapterConfig), after = JSON.parse(readFileSync(join(outDir, "adapter_config.json"), "utf8"));
    expect([after.r, after.lora_alpha, [...after.target_modules].sort()]).toEqual([before.r, before.lora_alpha, [...before.target_modules].sort()]);
  });
});
