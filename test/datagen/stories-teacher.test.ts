import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultAlpacaSettings, runAlpacaGeneration } from "../../src/datagen/self-instruct/alpaca-generation.js";
import { createLocalModel } from "../../src/providers/local/index.js";
import { run } from "../../src/cli/commands/data.js";
import { captureIo } from "../support/capture-io.js";
import { sharedPath, stories260KPath } from "../support/shared-data.js";

const directory = mkdtempSync(join(tmpdir(), "camelid-stories-teacher-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("a real local model as teacher (stories260K)", () => {
  it("writes stories, nothing parses as a task, and the run stops saying so instead of crashing or looping", async () => {
    const teacher = createLocalModel({ modelPath: stories260KPath(), contextSize: 512 });
    try {
      // stories260K's context is 512 tokens: a short template and one short seed keep the prompt inside it.
      const summary = await runAlpacaGeneration({
        teacher,
        seeds: [{ instruction: "Tell a short story about a cat.", input: "", output: "Once upon a time, a cat found a ball.", isClassification: false, instances: [] }],
        template: "You are asked to come up with a set of 20 diverse task instructions.\n\nList of 20 tasks:",
        settings: { ...defaultAlpacaSettings, target: 5, examplesPerPrompt: 1, promptsPerBatch: 2, maxTokens: 48, giveUpAfterEmptyBatches: 2, seed: 1 },
        outputDirectory: directory,
      });
      expect(summary.stopReason).toBe("teacher-output-unparseable");
      expect(summary.message).toMatch(/did not parse/);
      expect(summary.kept).toBe(0);
      expect(summary.completions).toBe(4);
      expect(summary.usage.completionTokens).toBeGreaterThan(0);
      const rejected = readFileSync(join(directory, "rejected.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
      expect(rejected.length).toBeGreaterThanOrEqual(4);
      expect(rejected.every((row) => row.reason === "truncated" || row.reason === "malformed")).toBe(true);
      expect(rejected.map((row) => row.raw).join(" ").length).toBeGreaterThan(40);
    } finally {
      await teacher.dispose?.();
    }
  });
});

describe("token lengths with a model's own tokenizer", () => {
  it("data stats --tokenizer counts tokens with the GGUF's vocabulary", async () => {
    const { io, stdout } = captureIo();
    expect(await run(["stats", "--in", sharedPath("data", "llama-factory", "identity.json"), "--tokenizer", stories260KPath(), "--json"], io)).toBe(0);
    const stats = JSON.parse(stdout());
    expect(stats.tokenizer).toBe(stories260KPath());
    expect(stats.records).toBe(91);
    // Counted by the model's own tokenizer: a 512-token vocabulary splits words finely.
    expect(stats.tokensPerRecord.mean).toBeGreaterThan(100);
  });
});
