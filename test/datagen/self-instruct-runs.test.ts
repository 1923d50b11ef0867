import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadSeedTasks } from "../../src/datagen/alpaca/seed-tasks.js";
import { runSelfInstruct, selfInstructFiles } from "../../src/datagen/self-instruct/self-instruct-pipeline.js";
import { defaultSelfInstructTemplates } from "../../src/datagen/self-instruct/templates.js";
import { UpstreamError } from "../../src/errors/index.js";
import { createOpenAICompatibleModel } from "../../src/providers/openai/index.js";
import { errorBody, jsonReply, startFakeOpenAIServer } from "../support/fake-openai-server.js";
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

  it("on a context overflow every step retries with int(max_tokens * 0.8), as gpt3_api.make_requests, at most 3 times", async () => {
    const seeds = await loadSeedTasks(sharedPath("data", "alpaca", "seed_tasks.jsonl"));
    const server = await startFakeOpenAIServer();
    let stepOneFits = (maxTokens: number) => maxTokens < 1024;
    try {
      server.route("POST", "/v1/completions", (request) => {
        const { prompt, max_tokens: maxTokens } = request.body as { prompt: string; max_tokens: number };
        const fits = prompt.startsWith("Come up with a series of tasks:") ? stepOneFits(maxTokens) : prompt.endsWith("Is it classification?") || maxTokens < 350;
        if (!fits) {
          const message = `This model's maximum context length is 2049 tokens, however you requested ${1500 + maxTokens} tokens (1500 in your prompt; ${maxTokens} for the completion). Please reduce your prompt; or completion length.`;
          return jsonReply(errorBody(message, "invalid_request_error", "prompt", "context_length_exceeded"), 400);
        }
        const text = prompt.startsWith("Come up with") ? " Describe how glaciers carve valleys for a young child.\n10. Explain why tides rise twice daily in simple words." : prompt.endsWith("Is it classification?") ? " No" : "Example 1\nInput: x\nOutput: y\n";
        return jsonReply({ id: "c", object: "text_completion", created: 1, model: "m", choices: [{ index: 0, text, finish_reason: "stop", logprobs: null }], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } });
      });
      const teacher = () => createOpenAICompatibleModel({ baseURL: server.baseURL, model: "m", api: "completions", maxRetries: 0 });
      const limits = (from: number, step: (prompt: string) => boolean) =>
        server.requests.slice(from).map((r) => r.body as { prompt: string; max_tokens: number }).filter((body) => step(body.prompt)).map((body) => body.max_tokens);
      const stepOne = (prompt: string) => prompt.startsWith("Come up with a series of tasks:");
      const stepThree = (prompt: string) => !stepOne(prompt) && !prompt.endsWith("Is it classification?");

      const summary = await runSelfInstruct({ teacher: teacher(), seeds, settings: { ...settings, target: 2, promptsPerBatch: 1, maxBatches: 3 }, outputDirectory: temporaryDirectory() });
      expect(summary).toMatchObject({ stopReason: "target-reached", retryPending: 0 });
      // Step 1: int(1024 * 0.8) = 819; step 3: int(350 * 0.8) = 280, for each of its two tasks (sent concurrently).
      expect(limits(0, stepOne)).toEqual([1024, 819]);
      expect(limits(0, stepThree).sort()).toEqual([280, 280, 350, 350]);

      // A prompt that overflows whatever the limit: four attempts in all (retries=3), then a failed request.
      stepOneFits = () => false;
      const before = server.requests.length;
      const failed = await runSelfInstruct({ teacher: teacher(), seeds, settings: { ...settings, target: 2, promptsPerBatch: 1, giveUpAfterEmptyBatches: 1, maxBatches: 3 }, outputDirectory: temporaryDirectory() });
      expect(limits(before, stepOne)).toEqual([1024, 819, 655, 524]);
      expect(failed.counts["instructions.request-failed"]).toBe(1);
    } finally {
      await server.close();
    }
  });
});
