// Model-dependent: the real stories260K GGUF through the local provider (llama.cpp).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/eval.js";
import { describeError } from "../../src/cli/main.js";
import { captureIo } from "../support/capture-io.js";
import { sharedPath, stories260KPath } from "../support/shared-data.js";
import { temporaryDirectory } from "./fixtures.js";

const directory = temporaryDirectory();
afterAll(() => directory.remove());

async function evalCli(argv: string[]) {
  const capture = captureIo();
  let code: number;
  try {
    code = await run(argv, capture.io);
  } catch (error) {
    capture.io.stderr(`camelid eval: ${describeError(error)}\n`);
    code = 1;
  }
  return { code, stdout: capture.stdout(), stderr: capture.stderr() };
}

describe("stories260K as a judge", () => {
  it("produces no readable verdict, and the report says so", async () => {
    const questions = join(directory.path, "questions.jsonl");
    writeFileSync(
      questions,
      [
        { question_id: 1, category: "generic", turns: ["How can I improve my time management skills?"] },
      ].map((q) => JSON.stringify(q)).join("\n"),
    );
    const answers = join(directory.path, "answers");
    mkdirSync(answers);
    for (const [model, text] of [["careful", "Make a list of priorities and keep a calendar."], ["terse", "Sleep."]]) {
      writeFileSync(join(answers, `${model}.jsonl`), [1].map((id) => JSON.stringify({ question_id: id, model_id: model, choices: [{ index: 0, turns: [text] }] })).join("\n"));
    }
    const out = join(directory.path, "single.jsonl");
    const judged = await evalCli([
      "judge", "--mode", "single", "--questions", questions, "--answers", answers, "--out", out,
      "--judge-prompts", sharedPath("eval", "judge_prompts.jsonl"), "--judge-model", stories260KPath(), "--max-tokens", "32",
    ]);
    expect(judged.stderr).not.toMatch(/camelid eval:/);
    expect(judged.code).toBe(0);
    expect(judged.stdout).toMatch(/2 written/);
    expect(judged.stdout).toMatch(/2 without a readable verdict, 0 judge calls failed/);
    expect(judged.stdout).toMatch(/no judgment held a readable verdict/);

    const shown = await evalCli(["show", "--judgments", out, "--output-format", "markdown"]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/\*\*Warning:\*\* no rating could be read from any of the 2 judgments/);
    expect(shown.stdout).toContain("| careful | – | – | 0 | 1 | 0 |");
  });
});

describe("stories260K log-likelihood benchmarks", () => {
  it("computes perplexity with llama.cpp chunking on TinyStories text", async () => {
    const result = await evalCli(["perplexity", stories260KPath(), sharedPath("data", "tinystories", "tinystories_sample.cs336.txt"), "--ctx-size", "128", "--chunks", "4", "--json"]);
    expect(result.stderr).not.toMatch(/camelid eval:/);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ chunks: 4, contextSize: 128 });
    // Every chunk scores its last 63 tokens (± a token where the halves re-tokenize differently).
    expect(Math.abs(report.scoredTokens - 4 * 63)).toBeLessThanOrEqual(report.retokenizationMismatches);
    // A model trained on TinyStories: far better than its 512-token uniform guess, far from perfect.
    expect(report.perplexity).toBeGreaterThan(2);
    expect(report.perplexity).toBeLessThan(30);
  });

  it("prefers the TinyStories continuation in a multiple-choice item", async () => {
    const benchmark = join(directory.path, "mc.jsonl");
    writeFileSync(
      benchmark,
      [
        { context: "Once upon a time, there was a little girl named", choices: ["Lily.", "photosynthesis quantum."], answer: 0 },
        { context: "She loved to play with her", choices: ["toys.", "mortgage derivatives."], answer: 0 },
      ].map((r) => JSON.stringify(r)).join("\n"),
    );
    const result = await evalCli(["mc", "--benchmark", benchmark, "--model", stories260KPath(), "--json"]);
    expect(result.stderr).not.toMatch(/camelid eval:/);
    const report = JSON.parse(result.stdout);
    expect(report.items).toBe(2);
    expect(report.accuracy).toBe(1);
    expect(report.perItem[0].logprobs[0]).toBeGreaterThan(report.perItem[0].logprobs[1]);
  });
});
