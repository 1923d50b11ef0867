import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadSeedTasks } from "../../src/datagen/alpaca/seed-tasks.js";
import { seededRandom } from "../../src/random/seeded-random.js";
import { encodeSelfInstructPrompt, parseSelfInstructCompletion, prepareTaskInstances } from "../../src/datagen/self-instruct/self-instruct-parse.js";
import { defaultSelfInstructSettings, runSelfInstruct, selfInstructFiles } from "../../src/datagen/self-instruct/self-instruct-pipeline.js";
import { defaultSelfInstructTemplates } from "../../src/datagen/self-instruct/templates.js";
import { AuthenticationError } from "../../src/errors/index.js";
import type { CallOptions } from "../../src/spec/index.js";
import { repoRoot, sharedPath } from "../support/shared-data.js";
import { scriptedModel } from "../support/scripted-model.js";
import { deterministicSelfInstructTeacher, selfInstructKillSettings } from "./support/self-instruct-teacher.js";

const directories: string[] = [];
afterAll(() => directories.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("Self-Instruct parsing", () => {
  it("builds the step-1 prompt and parses numbered instructions like bootstrap_instructions.py", () => {
    expect(encodeSelfInstructPrompt(["Add two numbers:", "  Name a   color "])).toBe("Come up with a series of tasks:\n1. Add two numbers\n2. Name a color\n3.");
    const parsed = parseSelfInstructCompletion(" Explain the rules of CHESS to a beginner.\n4. Sort these words alphabetically.\n5 . Give me a Recipe for dinner tonight", "stop");
    // Python's str.capitalize lowercases everything after the first character.
    expect(parsed.instructions).toEqual(["Explain the rules of chess to a beginner.", "Sort these words alphabetically.", "Give me a recipe for dinner tonight"]);
    expect(parseSelfInstructCompletion(" Something cut off", "length")).toEqual({ instructions: [], truncated: true });
    // Python's \d and \s are Unicode-aware: an Arabic-Indic number with a no-break space still splits.
    expect(parseSelfInstructCompletion(" First task here.\n١٢\u00a0. Second task here.", "stop").instructions).toEqual(["First task here.", "Second task here."]);
  });
});

/** Step 4 on one task with the sample left in order (a generator that always answers 0 keeps it). */
const prepare = (raw: string, isClassification: boolean, finishReason = "stop") => prepareTaskInstances({ raw, isClassification, finishReason }, 100, () => 0);

describe("Self-Instruct step 4 (prepare_for_finetuning.py)", () => {
  // Each expected list is what the released parse_instances_for_*_task functions return for the text.
  it("recognises Output\\s*\\d*\\s*: (with Unicode digits and spaces) and cuts a leaked Input:", () => {
    expect(prepare("Example 1\nInput: 2 + 2\nOutput 1 : 4\nExample 2\nInput: 3 + 5\nOutput2: 8\n", false).instances).toEqual([{ input: "2 + 2", output: "4" }, { input: "3 + 5", output: "8" }]);
    expect(prepare("Example \u0663\nInput\u00a0\u0662: x\nOutput\u2003\u0663 : y", false).instances).toEqual([{ input: "x", output: "y" }]);
    // No "Example": one pair, the teacher's second "Input:" cut off.
    expect(prepare("Input: 2 + 2\nOutput: 4\nInput: 3 + 3\nOutput: 6", false).instances).toEqual([{ input: "2 + 2", output: "4" }]);
  });

  it("drops the last instance of a length-truncated completion; prose without Output: yields nothing", () => {
    const truncated = prepare("Example 1\nInput: 2 + 2\nOutput: 4\nExample 2\nInput: 3 + 5\nOutput: 8\nExample 3\nInput: 9 +", false, "length");
    expect(truncated).toEqual({ instances: [{ input: "2 + 2", output: "4" }, { input: "3 + 5", output: "8" }], dropped: { "truncated-last": 1 } });
    expect(prepare("Drinking water helps. So does sleeping well.", false)).toEqual({ instances: [], dropped: { "no-instances": 1 } });
    expect(prepare("The answer is positive.", true)).toEqual({ instances: [], dropped: { "no-instances": 1 } });
    expect(prepare("Class label: Positive\nSentence: I loved it.\nClass label: Negative\nSentence: I hated", true, "length").instances).toEqual([{ input: "Sentence: I loved it.", output: "Positive" }]);
  });

  it("filters input = output, empty outputs and fields ending with ':', and drops a task whose input got two outputs", () => {
    expect(prepare("Example 1\nInput: List the steps:\nOutput: one, two\nExample 2\nInput: tea\nOutput: The recipe is as follows:\nExample 3\nInput: same\nOutput: same\nExample 4\nInput: coffee\nOutput: brew it\nExample 5\nInput: milk\nOutput:", false)).toEqual({
      instances: [{ input: "coffee", output: "brew it" }],
      dropped: { "ends-with-colon": 2, "input-equals-output": 1, "empty-output": 1 },
    });
    expect(prepare("Example 1\nInput: a\nOutput: 1\nExample 2\nInput: b\nOutput: 2\nExample 3\nInput: a\nOutput: 3", false)).toEqual({ instances: [], dropped: { "conflicting-input": 3 } });
    // Different outputs without an input are not a conflict; exact duplicates are removed.
    expect(prepare("Example 1\nOutput: one idea\nExample 2\nOutput: another idea\nExample 3\nOutput: one idea", false)).toEqual({
      instances: [{ input: "", output: "one idea" }, { input: "", output: "another idea" }],
      dropped: { duplicate: 1 },
    });
  });

  it("strips the class label and keeps the input's field name, as the original", () => {
    expect(prepare("Class label:\n Positive \nSentence: I loved it.\nClass label: Negative\nSentence: I hated it.\nClass label: Neutral", true).instances).toEqual([
      { input: "Sentence: I loved it.", output: "Positive" },
      { input: "Sentence: I hated it.", output: "Negative" },
      { input: "", output: "Neutral" },
    ]);
  });

  it("keeps a seeded random sample of at most 5 instances per task", () => {
    const raw = Array.from({ length: 8 }, (_, i) => `Example ${i + 1}\nInput: question ${i}\nOutput: answer ${i}`).join("\n");
    const all = prepare(raw, false).instances;
    expect(all).toHaveLength(8);
    const first = prepareTaskInstances({ raw, isClassification: false, finishReason: "stop" }, 5, seededRandom(1));
    expect(first.instances).toHaveLength(5);
    expect(first.dropped).toEqual({ "over-cap": 3 });
    expect(new Set(first.instances.map((i) => i.input)).size).toBe(5);
    for (const instance of first.instances) expect(all).toContainEqual(instance);
    expect(prepareTaskInstances({ raw, isClassification: false, finishReason: "stop" }, 5, seededRandom(1)).instances).toEqual(first.instances);
    const picks = new Set(Array.from({ length: 20 }, (_, seed) => JSON.stringify(prepareTaskInstances({ raw, isClassification: false, finishReason: "stop" }, 5, seededRandom(seed)).instances)));
    expect(picks.size).toBeGreaterThan(10);
  });
});

describe("Self-Instruct's default templates are the released ones", () => {
  const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
  // SHA-256 of the string literals in yizhongw/self-instruct's templates/clf_task_template.py (template_1)
  // and templates/instance_gen_template.py, as Python evaluates them.
  it("byte for byte: clf_task_template.template_1 with all 31 labelled tasks", () => {
    const template = defaultSelfInstructTemplates.classification;
    expect(template.length).toBe(3560);
    expect(sha256(template)).toBe("a216fc1add00d4de762934b4c5d15b370bc2099e73ab16b2e64533e8413c4463");
    expect(template.startsWith("Can the following task be regarded as a classification task with finite output labels?\n\nTask: Given my personality and the job, tell me if I would be suitable.\nIs it classification? Yes\n")).toBe(true);
    expect(template.match(/^Task: /gm)).toHaveLength(31);
    expect(template.match(/^Is it classification\? Yes$/gm)).toHaveLength(12);
    expect(template.match(/^Is it classification\? No$/gm)).toHaveLength(19);
    expect(template).toContain("Output its categories one by one, seperated by comma.");
    expect(template.endsWith("\n\nTask:")).toBe(true);
  });

  it("byte for byte: output_first_template_for_clf and input_first_template_for_gen", () => {
    const { outputFirst, inputFirst } = defaultSelfInstructTemplates;
    expect([outputFirst.length, inputFirst.length]).toEqual([6851, 5743]);
    expect(sha256(outputFirst)).toBe("09f049afa99e87079878a67c909b83147696ad044cf4cda0bfb74a1201a82f5a");
    expect(sha256(inputFirst)).toBe("f16bd050e44163a3030f65a6a4fff184e3e64a06ebe8c8c3a3ee426e0aad3fd8");
    expect(outputFirst.startsWith("Given the classification task definition and the class labels, generate an input that corresponds to each of the class labels. If the task doesn't require input, just generate possible class labels.\n\n")).toBe(true);
    // The double space, the trailing spaces and the typos are the original's.
    expect(outputFirst).toContain("\nTask:  Does the information in the document supports the claim?");
    expect(outputFirst).toContain("\nClass label: Not relevant \nPost:");
    expect(outputFirst.match(/^Task:/gm)).toHaveLength(17);
    expect(inputFirst.startsWith("Come up with examples for the following tasks. Try to generate multiple examples when possible. If the task doesn't require additional input, you can generate the output directly.\n\n")).toBe(true);
    expect(inputFirst).toContain("\nTask: Sort the given list ascendingly. \nExample 1\n");
    expect(inputFirst).toContain("\nOutput: Confucious\n");
    expect(inputFirst).toContain("I’ve admired the company");
    expect(inputFirst.match(/^Task:/gm)).toHaveLength(12);
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
    for (const file of [selfInstructFiles.finetuning, join("3-instances", selfInstructFiles.instances)]) {
      expect(readFileSync(join(resumed, file), "utf8")).toBe(readFileSync(join(reference, file), "utf8"));
    }
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
      return "Example 1\nInput: topic one\nOutput: answer one\nExample 2\nInput: topic two\nOutput: answer \u00e9\n";
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
    expect(summary.extensions).toEqual([]);
    const rows = readFileSync(join(output, selfInstructFiles.finetuning), "utf8").trim().split("\n");
    // prepare_for_finetuning.py's all_generated_instances.jsonl, as Python's json.dumps writes it.
    expect(rows).toContain('{"instruction": "Classify the animal as a mammal or a bird.", "input": "Input: Dolphin", "output": "Mammal"}');
    expect(rows).toContain('{"instruction": "Write a limerick about a forgetful cat.", "input": "topic two", "output": "answer \\u00e9"}');
    expect(rows).toHaveLength(8);
    expect(summary.counts["instructions.blacklisted-word"]).toBeGreaterThanOrEqual(1);
    expect(summary.counts["instructions.kept"]).toBe(4);
    expect(summary.counts["instances.kept"]).toBe(8);
    // The released scripts' file names and fields, so its generate_instances.py and prepare_for_finetuning.py run on them.
    const jsonl = (file: string) => readFileSync(join(output, file), "utf8").trim().split("\n").map((line) => JSON.parse(line));
    const instructions = jsonl(join("1-instructions", selfInstructFiles.instructions));
    expect(Object.keys(instructions[0])).toEqual(["instruction", "most_similar", "avg_similarity_score", "metadata", "request_idx"]);
    expect(instructions[0].metadata).toEqual({ prompt: first.prompt, response: { choices: [{ text: reply(first), index: 0, finish_reason: "stop" }] } });
    expect(jsonl(join("2-classification", selfInstructFiles.classification))).toEqual(generated.map((instruction) => ({ instruction, is_classification: / (Classify|Decide)/.test(` ${instruction}`) ? " Yes" : " No" })));
    const instances = jsonl(join("3-instances", selfInstructFiles.instances));
    expect(Object.keys(instances[0])).toEqual(["instruction", "raw_instances", "instance_metadata", "instruction_metadata", "most_similar", "avg_similarity_score"]);
    expect(instances[0].instance_metadata.response.choices[0].finish_reason).toBe("stop");
    const instanceCall = teacher.calls.find((c) => c.prompt?.startsWith("Given the classification task"))!;
    expect(instanceCall).toMatchObject({ temperature: 0, presencePenalty: 1.5, stop: ["Example 6", "Task:"], maxTokens: 300 });
  });

  it("step 3 gives a whole request batch max_tokens 300 when any of its tasks is a classification task, else 350", async () => {
    // Batches of 2 in step-1 order: [clf, gen] → 300 for both; [gen, gen] → 350 for both.
    const generated = ["Classify the animal as a mammal or a bird.", "Write a limerick about a forgetful cat.", "Explain the difference between weather and climate.", "Describe a calm morning by the lake."];
    const teacher = scriptedModel({
      reply: (options) => {
        const prompt = options.prompt ?? "";
        if (prompt.startsWith("Come up with a series of tasks:")) return ` ${generated[0]}\n10. ${generated[1]}\n11. ${generated[2]}\n12. ${generated[3]}`;
        if (prompt.endsWith("Is it classification?")) return prompt.split("Task:").at(-1)!.includes("Classify") ? " Yes" : " No";
        return "Output: fine";
      },
    });
    const output = mkdtempSync(join(tmpdir(), "camelid-selfinstruct-"));
    directories.push(output);
    await runSelfInstruct({ teacher, seeds: await loadSeedTasks(sharedPath("data", "alpaca", "seed_tasks.jsonl")), settings: { ...defaultSelfInstructSettings, target: 4, promptsPerBatch: 2 }, outputDirectory: output });
    const step3 = teacher.calls.filter((c) => /^(Given the classification|Come up with examples)/.test(c.prompt ?? ""));
    expect(step3.map((c) => [c.prompt!.split("Task:").at(-1)!.trim(), c.maxTokens])).toEqual([
      [generated[0], 300],
      [generated[1], 300],
      [generated[2], 350],
      [generated[3], 350],
    ]);
  });

  it("honours step-1 decoding settings and --max-batches, and reports them as departures from the original", async () => {
    const teacher = scriptedModel({
      reply: (options) => {
        const prompt = options.prompt ?? "";
        if (prompt.startsWith("Come up with a series of tasks:")) return " Classify the fruit as sweet or sour.";
        if (prompt.endsWith("Is it classification?")) return " Yes";
        return "Class label: Sweet\nInput: mango";
      },
    });
    const output = mkdtempSync(join(tmpdir(), "camelid-selfinstruct-"));
    directories.push(output);
    const summary = await runSelfInstruct({
      teacher,
      seeds: await loadSeedTasks(sharedPath("data", "alpaca", "seed_tasks.jsonl")),
      settings: { ...defaultSelfInstructSettings, target: 50, promptsPerBatch: 2, temperature: 0.2, topP: 0.9, maxTokens: 77, stop: ["\n20"], maxBatches: 3 },
      outputDirectory: output,
    });
    const stepOne = teacher.calls.filter((c) => c.prompt?.startsWith("Come up with a series of tasks:"));
    expect(stepOne).toHaveLength(6);
    for (const call of stepOne) expect(call).toMatchObject({ temperature: 0.2, topP: 0.9, maxTokens: 77, stop: ["\n20"], presencePenalty: 2 });
    // Steps 2 and 3 keep the released decoding.
    expect(teacher.calls.find((c) => c.prompt?.endsWith("Is it classification?"))).toMatchObject({ temperature: 0, maxTokens: 3, stop: ["\n", "Task"] });
    expect(summary).toMatchObject({ stopReason: "max-batches", batches: 3, parsed: 1, kept: 1, decoding: { temperature: 0.2, topP: 0.9, maxTokens: 77, stop: ["\n20"] } });
    expect(summary.extensions).toEqual(["step-1 temperature 0.2 (original 0.7)", "step-1 top_p 0.9 (original 0.5)", "step-1 max_tokens 77 (original 1024)", 'step-1 stop ["\\n20"] (original ["\\n\\n","\\n16","16.","16 ."])']);
    expect(summary.message).toMatch(/--max-batches limit \(3\)[\s\S]*not the original's: step-1 temperature 0\.2/);
  });
});

describe("Self-Instruct kill and resume", () => {
  it("killed with SIGKILL in step 1, then in step 2, then in step 3, the resumed run's files equal an uninterrupted run's", async () => {
    const seedsFile = sharedPath("data", "alpaca", "seed_tasks.jsonl");
    const seeds = await loadSeedTasks(seedsFile);
    const reference = mkdtempSync(join(tmpdir(), "camelid-selfinstruct-"));
    const killed = mkdtempSync(join(tmpdir(), "camelid-selfinstruct-"));
    directories.push(reference, killed);
    const referenceSummary = await runSelfInstruct({ teacher: deterministicSelfInstructTeacher(), seeds, settings: selfInstructKillSettings, outputDirectory: reference, concurrency: 1 });

    const stages = [
      { directory: "1-instructions", counter: "nextBatch", after: join("2-classification", "progress.json") },
      { directory: "2-classification", counter: "next", after: join("3-instances", "progress.json") },
      { directory: "3-instances", counter: "next", after: selfInstructFiles.finetuning },
    ];
    for (const stage of stages) {
      const committed = (): number => {
        try {
          return JSON.parse(readFileSync(join(killed, stage.directory, "progress.json"), "utf8")).state[stage.counter];
        } catch {
          return 0; // not started yet, or being replaced right now
        }
      };
      const before = committed();
      const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "test/datagen/support/self-instruct-child.ts"), killed, seedsFile], { stdio: "ignore", cwd: repoRoot });
      // Kill once two more units of this step are committed (bounded wait).
      for (let waited = 0; waited < 15_000 && committed() < before + 2; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
      expect(committed(), stage.directory).toBeGreaterThanOrEqual(before + 2);
      expect(existsSync(join(killed, stage.after)), `killed before ${stage.after}`).toBe(false);
    }

    const resumed = await runSelfInstruct({ teacher: deterministicSelfInstructTeacher(), seeds, settings: selfInstructKillSettings, outputDirectory: killed, concurrency: 1 });
    expect(resumed.counts).toEqual(referenceSummary.counts);
    expect(resumed.counts["instances.truncated-last"]).toBeGreaterThan(0);
    for (const stage of stages) {
      for (const file of readdirSync(join(reference, stage.directory)).filter((name) => name !== "progress.json")) {
        expect(readFileSync(join(killed, stage.directory, file), "utf8"), join(stage.directory, file)).toBe(readFileSync(join(reference, stage.directory, file), "utf8"));
      }
    }
    expect(readFileSync(join(killed, selfInstructFiles.finetuning), "utf8")).toBe(readFileSync(join(reference, selfInstructFiles.finetuning), "utf8"));
  });
});
