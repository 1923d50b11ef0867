import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadSeedTasks } from "../../src/datagen/alpaca/seed-tasks.js";
import { runSelfInstruct, selfInstructFiles } from "../../src/datagen/self-instruct/self-instruct-pipeline.js";
import { defaultSelfInstructTemplates } from "../../src/datagen/self-instruct/templates.js";
import { UpstreamError } from "../../src/errors/index.js";
import type { CallOptions, LanguageModel } from "../../src/spec/index.js";
import { sharedPath } from "../support/shared-data.js";
import { killSelfInstructSettings } from "./support/stage-settings.js";
import { deterministicStageTeacher } from "./support/stage-teachers.js";
import { temporaryDirectories } from "../support/temporary-directories.js";

const temporaryDirectory = temporaryDirectories("camelid-si-runs-");

const settings = { ...killSelfInstructSettings, target: 6 };
const isStepTwo = (call: CallOptions) => call.prompt?.endsWith("Is it classification?") ?? false;

/** The deterministic teacher, answering step-2 requests with a 503 for the instructions `failing` picks. */
function withFailingStepTwo(failing: (prompt: string) => boolean): LanguageModel {
  const teacher = deterministicStageTeacher();
  return {
    ...teacher,
    async doGenerate(call) {
      if (isStepTwo(call) && failing(call.prompt!)) throw new UpstreamError("503 Service Unavailable", 503);
      return teacher.doGenerate(call);
    },
  };
}

describe("Self-Instruct runs: input fingerprints and failed requests", () => {
  it("refuses to resume against other seed tasks or other --templates, naming what changed", async () => {
    const seeds = await loadSeedTasks(sharedPath("data", "alpaca", "seed_tasks.jsonl"));
    const directory = temporaryDirectory();
    await runSelfInstruct({ teacher: deterministicStageTeacher(), seeds, settings, outputDirectory: directory });
    await expect(runSelfInstruct({ teacher: deterministicStageTeacher(), seeds: seeds.slice(1), settings, outputDirectory: directory })).rejects.toThrow(/the seed tasks \(--seed-tasks\) changed since the run started/);
    const templates = { ...defaultSelfInstructTemplates, classification: `${defaultSelfInstructTemplates.classification.replace("Task:", "Task :")}` };
    await expect(runSelfInstruct({ teacher: deterministicStageTeacher(), seeds, settings, templates, outputDirectory: directory })).rejects.toThrow(/the classification template \(--templates\) changed since the run started/);
    const instanceTemplates = { ...defaultSelfInstructTemplates, inputFirst: `${defaultSelfInstructTemplates.inputFirst} ` };
    await expect(runSelfInstruct({ teacher: deterministicStageTeacher(), seeds, settings, templates: instanceTemplates, outputDirectory: directory })).rejects.toThrow(/the instance templates \(--templates\) changed since the run started/);
  });

  it("counts failed step-2 requests as pending, and the next run with the same --out retries them into the data", async () => {
    const seeds = await loadSeedTasks(sharedPath("data", "alpaca", "seed_tasks.jsonl"));
    const reference = temporaryDirectory();
    const complete = await runSelfInstruct({ teacher: deterministicStageTeacher(), seeds, settings, outputDirectory: reference });
    const directory = temporaryDirectory();
    let failures = 0;
    const first = await runSelfInstruct({ teacher: withFailingStepTwo(() => ++failures % 3 === 1), seeds, settings, outputDirectory: directory, retry: { maxRetries: 0, baseDelayMs: 0, maxDelayMs: 0 } });
    expect(first.retryPending).toBeGreaterThan(0);
    expect(first.counts["classification.request-failed"]).toBe(first.retryPending);
    expect(first.message).toMatch(/step-2\/3 requests failed .*run the same command again to retry them/);
    const firstRows = readFileSync(join(directory, selfInstructFiles.finetuning), "utf8").trim().split("\n");
    expect(firstRows.length).toBeLessThan(readFileSync(join(reference, selfInstructFiles.finetuning), "utf8").trim().split("\n").length);

    const second = await runSelfInstruct({ teacher: deterministicStageTeacher(), seeds, settings, outputDirectory: directory });
    expect(second.retryPending).toBe(0);
    expect(second.counts["classification.request-failed"]).toBeUndefined();
    // Every instruction now has its instances; retried ones come after the others.
    const sorted = (path: string) => readFileSync(path, "utf8").trim().split("\n").sort();
    expect(sorted(join(directory, selfInstructFiles.finetuning))).toEqual(sorted(join(reference, selfInstructFiles.finetuning)));
    expect(second.kept).toBe(complete.kept);
  });

  it("step 1 keeps the whole batch that reaches --num, as bootstrap_instructions.py's loop; --exact-num stops at it and says so", async () => {
    const seeds = await loadSeedTasks(sharedPath("data", "alpaca", "seed_tasks.jsonl"));
    const machineRows = (directory: string) =>
      readFileSync(join(directory, "1-instructions", selfInstructFiles.instructions), "utf8").trim().split("\n").map((line) => JSON.parse(line) as { request_idx: number });
    // Two prompts of three instructions a batch: a target of 2 is reached inside the first batch.
    const original = temporaryDirectory();
    const whole = await runSelfInstruct({ teacher: deterministicStageTeacher(), seeds, settings: { ...settings, target: 2 }, outputDirectory: original });
    const rows = machineRows(original);
    expect(whole.parsed).toBeGreaterThan(2);
    expect(rows).toHaveLength(whole.parsed);
    expect(new Set(rows.map((row) => row.request_idx))).toEqual(new Set([0]));
    expect(whole.counts["instructions.kept"]).toBe(whole.parsed);
    expect(whole.message).toContain(`${whole.parsed - 2} past --num 2: the last batch is kept whole, as the original does`);
    expect(whole.extensions).toEqual([]);

    const exact = temporaryDirectory();
    const stopped = await runSelfInstruct({ teacher: deterministicStageTeacher(), seeds, settings: { ...settings, target: 2, exactTarget: true }, outputDirectory: exact });
    expect(stopped.parsed).toBe(2);
    expect(machineRows(exact)).toHaveLength(2);
    expect(stopped.extensions).toEqual(["--exact-num: step 1 stops at exactly 2 (the original keeps the whole last batch)"]);
  });
});
