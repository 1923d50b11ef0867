import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadSeedTasks } from "../../src/datagen/alpaca/seed-tasks.js";
import {
  encodeSelfInstructPrompt,
  filterInstances,
  parseInputFirstInstances,
  parseOutputFirstInstances,
  parseSelfInstructCompletion,
  pythonCapitalize,
} from "../../src/datagen/self-instruct/self-instruct-parse.js";
import { defaultSelfInstructSettings, runSelfInstruct } from "../../src/datagen/self-instruct/self-instruct-pipeline.js";
import { AuthenticationError } from "../../src/errors/index.js";
import type { CallOptions } from "../../src/spec/index.js";
import { sharedPath } from "../support/shared-data.js";
import { scriptedModel } from "../support/scripted-model.js";

const directories: string[] = [];
afterAll(() => directories.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("Self-Instruct parsing", () => {
  it("builds the step-1 prompt and parses numbered instructions like bootstrap_instructions.py", () => {
    expect(encodeSelfInstructPrompt(["Add two numbers:", "  Name a   color "])).toBe("Come up with a series of tasks:\n1. Add two numbers\n2. Name a color\n3.");
    const parsed = parseSelfInstructCompletion(" Explain the rules of CHESS to a beginner.\n4. Sort these words alphabetically.\n5 . Give me a Recipe for dinner tonight", "stop");
    // Python's str.capitalize lowercases everything after the first character.
    expect(parsed.instructions).toEqual(["Explain the rules of chess to a beginner.", "Sort these words alphabetically.", "Give me a recipe for dinner tonight"]);
    expect(parseSelfInstructCompletion(" Something cut off", "length")).toEqual({ instructions: [], truncated: true });
    expect(pythonCapitalize("hELLO World")).toBe("Hello world");
  });

  it("parses input-first and output-first instances and filters bad ones with reasons", () => {
    expect(parseInputFirstInstances("Example 1\nInput: 2 + 2\nOutput: 4\nExample 2\nInput: 3 + 5\nOutput: 8\n")).toEqual([{ input: "2 + 2", output: "4" }, { input: "3 + 5", output: "8" }]);
    expect(parseInputFirstInstances("Output: Drink water and sleep well.")).toEqual([{ input: "", output: "Drink water and sleep well." }]);
    expect(parseOutputFirstInstances("Class label: Positive\nInput: Loved it.\nClass label: Negative\nInput: Hated it.")).toEqual([{ input: "Loved it.", output: "Positive" }, { input: "Hated it.", output: "Negative" }]);
    const { kept, rejected } = filterInstances(
      [
        { input: "a", output: "1" },
        { input: "a", output: "2" },
        { input: "b", output: "" },
        { input: "same", output: "same" },
        { input: "c", output: "3" },
        { input: "c", output: "3" },
      ],
      5,
    );
    expect(kept).toEqual([{ input: "c", output: "3" }]);
    expect(rejected.map((r) => r.reason)).toEqual(["conflicting-outputs", "conflicting-outputs", "empty-output", "input-equals-output", "duplicate-instance"]);
  });
});

describe("Self-Instruct 4-step pipeline", () => {
  it("a run stopped in step 3 resumes there and ends with the same data as an uninterrupted run", async () => {
    const seeds = await loadSeedTasks(sharedPath("data", "alpaca", "seed_tasks.jsonl"));
    const reply = (options: CallOptions) => {
      const prompt = options.prompt ?? "";
      if (prompt.startsWith("Come up with a series of tasks:")) return " Classify the fruit as sweet or sour.\n10. Describe a calm morning by the lake.\n11. Decide whether the claim is a fact or an opinion.";
      if (prompt.endsWith("Is it classification?")) return / (Classify|Decide)/.test(prompt.split("Task:").at(-1)!) ? " Yes" : " No";
      if (prompt.startsWith("Given the classification task")) return "Class label: A\nInput: first\nClass label: B\nInput: second\n";
      return "Example 1\nInput: in\nOutput: out\n";
    };
    const settings = { ...defaultSelfInstructSettings, target: 3, promptsPerBatch: 1 };
    const reference = mkdtempSync(join(tmpdir(), "camelid-selfinstruct-"));
    const resumed = mkdtempSync(join(tmpdir(), "camelid-selfinstruct-"));
    directories.push(reference, resumed);
    await runSelfInstruct({ teacher: scriptedModel({ reply }), seeds, settings, outputDirectory: reference, concurrency: 1 });
    let instanceCalls = 0;
    const failing = scriptedModel({
      reply: (options) => {
        if (/^(Given the classification|Come up with examples)/.test(options.prompt ?? "") && ++instanceCalls === 2) throw new AuthenticationError("key revoked");
        return reply(options);
      },
    });
    await expect(runSelfInstruct({ teacher: failing, seeds, settings, outputDirectory: resumed, concurrency: 1 })).rejects.toThrow(/key revoked/);
    const working = scriptedModel({ reply });
    const summary = await runSelfInstruct({ teacher: working, seeds, settings, outputDirectory: resumed, concurrency: 1 });
    expect(summary.resumed).toBe(true);
    // Only the two remaining instance prompts were asked again: steps 1 and 2 were already complete.
    expect(working.calls.map((c) => c.prompt!.slice(0, 20))).toEqual(["Come up with example", "Given the classifica"]);
    expect(readFileSync(join(resumed, "data.jsonl"), "utf8")).toBe(readFileSync(join(reference, "data.jsonl"), "utf8"));
  });

  it("generates, classifies, makes instances output-first for classification and input-first otherwise, and filters", async () => {
    const generated = [
      "Classify the animal as a mammal or a bird.",
      "Write a limerick about a forgetful cat.",
      "Decide whether the sentence is sarcastic or sincere.",
      "Explain the difference between weather and climate.",
    ];
    const reply = (options: CallOptions) => {
      const prompt = options.prompt ?? "";
      if (prompt.startsWith("Come up with a series of tasks:")) return ` Draw a map of your town\n10. ${generated[0]}\n11. ${generated[1]}\n12. ${generated[2]}\n13. ${generated[3]}`;
      if (prompt.endsWith("Is it classification?")) return / (Classify|Decide)/.test(prompt.split("Task:").at(-1)!) ? " Yes" : " No";
      if (prompt.startsWith("Given the classification task")) return "Class label: Mammal\nInput: Dolphin\nClass label: Bird\nInput: Penguin\n";
      return "Example 1\nInput: topic one\nOutput: answer one\nExample 2\nInput: topic two\nOutput: answer two\n";
    };
    const teacher = scriptedModel({ reply, modelId: "t" });
    const output = mkdtempSync(join(tmpdir(), "camelid-selfinstruct-"));
    directories.push(output);
    const summary = await runSelfInstruct({
      teacher,
      seeds: await loadSeedTasks(sharedPath("data", "alpaca", "seed_tasks.jsonl")),
      settings: { ...defaultSelfInstructSettings, target: 4, promptsPerBatch: 2 },
      outputDirectory: output,
    });
    const first = teacher.calls[0];
    expect(first).toMatchObject({ temperature: 0.7, topP: 0.5, maxTokens: 1024, presencePenalty: 2, stop: ["\n\n", "\n16", "16.", "16 ."] });
    expect((first.prompt!.match(/^\d+\. /gm) ?? []).length).toBe(8);
    expect(first.prompt!.endsWith("\n9.")).toBe(true);
    const rows = readFileSync(join(output, "data.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(rows.filter((r) => r.is_classification).map((r) => r.output)).toEqual(["Mammal", "Bird", "Mammal", "Bird"]);
    expect(rows.filter((r) => !r.is_classification)).toHaveLength(4);
    expect(summary.counts["instructions.blacklisted-word"]).toBeGreaterThanOrEqual(1);
    expect(summary.counts["instructions.kept"]).toBe(4);
    const instanceCall = teacher.calls.find((c) => c.prompt?.startsWith("Given the classification task"))!;
    expect(instanceCall).toMatchObject({ temperature: 0, presencePenalty: 1.5, stop: ["Example 6", "Task:"], maxTokens: 300 });
  });
});
