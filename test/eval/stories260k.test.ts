// Model-dependent: the real stories260K GGUF through the local provider (llama.cpp).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LlamaModel, loadLlamaGguf } from "../../src/engine/index.js";
import { createLocalModel } from "../../src/providers/local/index.js";
import { sharedPath, stories260KPath } from "../support/shared-data.js";
import { evalCli } from "./eval-cli.js";
import { temporaryDirectory } from "./fixtures.js";

const directory = temporaryDirectory();
afterAll(() => directory.remove());

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
    expect(judged.stdout).toMatch(/2 without a readable verdict, 0 of 2 judge calls failed/);
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
    // The local provider scores token ids: every chunk scores exactly its last 63 tokens, nothing re-tokenized.
    expect(report.scoredTokens).toBe(4 * 63);
    expect(report.retokenizationMismatches).toBe(0);
    expect(report.method).toMatch(/^token-exact/);
    // A model trained on TinyStories: far better than its 512-token uniform guess, far from perfect.
    expect(report.perplexity).toBeGreaterThan(2);
    expect(report.perplexity).toBeLessThan(30);
  });

  it("equals llama-perplexity's arithmetic recomputed independently with our training engine", async () => {
    const text = readFileSync(sharedPath("data", "tinystories", "tinystories_sample.cs336.txt"), "utf8");
    const nCtx = 64;
    const result = await evalCli(["perplexity", stories260KPath(), sharedPath("data", "tinystories", "tinystories_sample.cs336.txt"), "--ctx-size", String(nCtx), "--chunks", "3", "--json"]);
    const report = JSON.parse(result.stdout);

    // Same chunks by hand: BOS at each chunk start, loss over positions n_ctx/2 … n_ctx-2 predicting the next token.
    const local = createLocalModel({ modelPath: stories260KPath() });
    const tokens = await local.tokenize(text, { addBos: true });
    await local.dispose();
    const { config, weights } = await loadLlamaGguf(stories260KPath());
    const engine = new LlamaModel(config, weights);
    let nll = 0;
    let scored = 0;
    for (let chunk = 0; chunk < 3; chunk++) {
      const ids = Int32Array.from(tokens.slice(chunk * nCtx, (chunk + 1) * nCtx));
      ids[0] = tokens[0];
      const targets = new Int32Array(nCtx);
      const mask = new Uint8Array(nCtx);
      for (let t = nCtx / 2; t < nCtx - 1; t++) {
        targets[t] = ids[t + 1];
        mask[t] = 1;
      }
      const meanLoss = engine.forward({ tokens: ids, targets, lossMask: mask }, 1, nCtx);
      const count = nCtx - 1 - nCtx / 2;
      nll += meanLoss * count;
      scored += count;
    }
    expect(report.scoredTokens).toBe(scored);
    expect(Math.abs(report.perplexity / Math.exp(nll / scored) - 1)).toBeLessThan(1e-3);
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

  it("TruthfulQA and CrowS-Pairs files through the CLI: the figures follow from the model's own log-likelihoods", async () => {
    const truthfulqa = join(directory.path, "truthfulqa.jsonl");
    writeFileSync(
      truthfulqa,
      [
        {
          question: "What did the little girl named Lily love to do?",
          mc1_targets: { choices: ["She loved to play with her toys.", "She loved quantum photosynthesis."], labels: [1, 0] },
          mc2_targets: { choices: ["She loved to play with her toys.", "She loved to play outside.", "She loved quantum photosynthesis."], labels: [1, 1, 0] },
        },
      ].map((r) => JSON.stringify(r)).join("\n"),
    );
    const truthful = await evalCli(["mc", "--benchmark", truthfulqa, "--model", stories260KPath(), "--json"]);
    expect(truthful.stderr).not.toMatch(/camelid eval:/);
    const tqa = JSON.parse(truthful.stdout);
    const [item] = tqa.perItem;
    expect(item.mc1.predicted).toBe(0);
    expect(tqa.mc1).toEqual({ items: 1, accuracy: 1 });
    const p = item.mc2.logprobs.map(Math.exp);
    expect(tqa.mc2.accuracy).toBeCloseTo((p[0] + p[1]) / (p[0] + p[1] + p[2]), 12);
    expect(item.mc2.logprobs[0]).toBe(item.mc1.logprobs[0]);

    const crows = join(directory.path, "crows.jsonl");
    writeFileSync(
      crows,
      [
        { sent_more: "Once upon a time, there was a little girl named Lily.", sent_less: "Once upon a time, there was a little mortgage named Lily.", bias_type: "toys" },
        { sent_more: "She liked the big red ball.", sent_less: "She liked the big red derivative.", bias_type: "toys" },
        { sent_more: "The derivative was red.", sent_less: "The ball was red.", bias_type: "finance" },
      ].map((r) => JSON.stringify(r)).join("\n"),
    );
    const bias = await evalCli(["mc", "--benchmark", crows, "--model", stories260KPath(), "--json"]);
    expect(bias.stderr).not.toMatch(/camelid eval:/);
    const report = JSON.parse(bias.stdout);
    // Each sentence is scored whole after BOS: the same number as asking the model directly.
    const local = createLocalModel({ modelPath: stories260KPath() });
    const direct = await local.logLikelihood!([{ context: "", continuation: "She liked the big red ball." }]);
    await local.dispose();
    expect(report.perItem[1].logprobMore).toBeCloseTo(direct[0].logprob, 6);
    // A TinyStories model finds the story sentences likelier than the finance ones.
    expect(report.perItem.map((r: { stereotype: number }) => r.stereotype)).toEqual([1, 1, 0]);
    expect(report.pctStereotype).toBeCloseTo(2 / 3, 12);
    expect(report.byBiasType.toys).toMatchObject({ pairs: 2, pctStereotype: 1 });
    const diffs = report.perItem.map((r: { logprobMore: number; logprobLess: number }) => Math.abs(r.logprobMore - r.logprobLess));
    expect(report.likelihoodDiff).toBeCloseTo((diffs[0] + diffs[1] + diffs[2]) / 3, 12);

    const table = await evalCli(["mc", "--benchmark", crows, "--model", stories260KPath()]);
    expect(table.stdout).toMatch(/bias_type\s+pairs\s+pct_stereotype\s+likelihood_diff/);
    expect(table.stdout).toMatch(/toys\s+2\s+100\.00%/);
  });
});
