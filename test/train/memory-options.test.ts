import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/train.js";
import { readGgufHeader, writeRandomLlamaGguf } from "../../src/gguf/index.js";
import { MetricsLog } from "../../src/train/metrics-log.js";
import { captureIo } from "../support/capture-io.js";
import { sharedPath } from "../support/shared-data.js";

// `camelid train --keep-quantized --checkpoint-activations` on a Q8_0 model: the base weights stay at
// the file's tensor bytes, the activations shrink, and both show in the summary, the JSON result and
// every metrics record (engine buffer bytes and peak RSS).

const dir = mkdtempSync(join(tmpdir(), "camelid-train-memory-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const modelPath = join(dir, "q8.gguf");
const dataPath = join(dir, "data.jsonl");

beforeAll(async () => {
  await writeRandomLlamaGguf({ path: modelPath, vocabFrom: sharedPath("tokenizers", "ggml-vocab-llama-spm.gguf"), dim: 64, layers: 2, heads: 4, kvHeads: 2, hiddenDim: 128, contextLength: 128, tensorType: "Q8_0", seed: 2 });
  const rows = [
    { messages: [{ role: "user", content: "Who are you?" }, { role: "assistant", content: "I am Camelid." }] },
    { messages: [{ role: "user", content: "What do you eat?" }, { role: "assistant", content: "Grass and hay." }] },
  ];
  writeFileSync(dataPath, rows.map((row) => JSON.stringify(row)).join("\n"));
});

const flags = (outDir: string) => [
  "--model", modelPath, "--data", dataPath, "--out", outDir, "--prompt-format", "llama-2-chat",
  "--max-steps", "2", "--batch-size", "2", "--val-fraction", "0", "--max-length", "64", "--seed", "3", "--json",
];

interface Summary {
  engineMemory: { baseWeights: number; dequantScratch: number; activations: number; total: number };
  peakRssBytes: number;
}

async function train(outDir: string, extra: string[]): Promise<Summary> {
  const io = captureIo();
  expect(await run([...flags(outDir), ...extra], io.io)).toBe(0);
  const summary = (JSON.parse(io.stdout()) as { summary: Summary }).summary;
  const records = new MetricsLog(join(outDir, "metrics.jsonl")).read().filter((r) => r.type === "train");
  expect(records).toHaveLength(2);
  for (const record of records) {
    expect(record.engineBytes).toBe(summary.engineMemory.total);
    expect(record.peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
  }
  return summary;
}

describe("train memory options", () => {
  it("--keep-quantized holds the file's tensor bytes; --checkpoint-activations shrinks the activations; both reported", async () => {
    const plain = await train(join(dir, "plain"), []);
    const lean = await train(join(dir, "lean"), ["--keep-quantized", "--checkpoint-activations"]);
    const tensorBytes = (await readGgufHeader(modelPath)).tensors.reduce((sum, tensor) => sum + tensor.byteLength, 0);
    expect(lean.engineMemory.baseWeights).toBe(tensorBytes);
    // float32: 4 bytes per weight, against Q8_0's 34 per 32
    expect(plain.engineMemory.baseWeights).toBeGreaterThan(3.5 * tensorBytes);
    expect(lean.engineMemory.dequantScratch).toBeGreaterThan(0);
    expect(plain.engineMemory.dequantScratch).toBe(0);
    expect(lean.engineMemory.activations).toBeLessThan(plain.engineMemory.activations);
    expect(lean.peakRssBytes).toBeGreaterThan(0);
    const run = JSON.parse(readFileSync(join(dir, "lean", "run.json"), "utf8")) as { config: { keepQuantized: boolean; checkpointActivations: boolean } };
    expect(run.config).toMatchObject({ keepQuantized: true, checkpointActivations: true });
  }, 240_000);

  it("the text summary names the decode scratch", async () => {
    const io = captureIo();
    const args = flags(join(dir, "text")).filter((flag) => flag !== "--json");
    expect(await run([...args, "--keep-quantized"], io.io)).toBe(0);
    expect(io.stdout()).toMatch(/memory: engine buffers \d+\.\d MiB \(base weights \d+\.\d MiB, decode scratch \d+\.\d MiB, activations \d+\.\d MiB, gradient scratch \d+\.\d MiB, LoRA \d+\.\d MiB\); peak RSS \d+\.\d MiB/);
  }, 240_000);
});
