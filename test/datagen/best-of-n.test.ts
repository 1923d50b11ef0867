import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/data.js";
import { bestAndWorst, defaultBestOfNSettings, runBestOfN, type BestOfNSettings } from "../../src/datagen/best-of-n/best-of-n.js";
import { JudgeScorer } from "../../src/datagen/best-of-n/judge-scorer.js";
import type { DistillPrompt } from "../../src/datagen/distill/distill.js";
import { loadJudgePrompts } from "../../src/eval/data/judge-prompts.js";
import { UpstreamError } from "../../src/errors/index.js";
import type { CallOptions, LanguageModel } from "../../src/spec/index.js";
import { readPreferencePairs } from "../../src/train/preference-rows.js";
import { captureIo } from "../support/capture-io.js";
import { chatCompletionBody, errorBody, jsonReply, startFakeOpenAIServer } from "../support/fake-openai-server.js";
import { scriptedModel } from "../support/scripted-model.js";
import { sharedPath } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";

const temporaryDirectory = temporaryDirectories("camelid-best-of-n-");
const readJsonl = (path: string) => readFileSync(path, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
const judgePromptsPath = sharedPath("eval", "judge_prompts.jsonl");
const singleV1 = loadJudgePrompts(judgePromptsPath).get("single-v1")!;

/** The teacher's answer names its prompt and seed, so the judge (and the test) can tell answers apart. */
const lastUser = (options: CallOptions) => options.messages!.filter((m) => m.role === "user").at(-1)!.content;
const seedTeacher = () => scriptedModel({ modelId: "teacher", reply: (options) => `answer to ${lastUser(options)} with seed ${options.seed}` });
/** The judge grades answer "seed s" with ratings[s] ("-" for a judgment without a rating). */
const ratingJudge = (ratings: Record<number, number | "-">) =>
  scriptedModel({
    modelId: "judge",
    reply: (options) => {
      const seed = Number(/with seed (\d+)/.exec(lastUser(options))![1]);
      const rating = ratings[seed] ?? 5;
      return rating === "-" ? "I cannot decide." : `The answer is fine. Rating: [[${rating}]]`;
    },
  });
const prompts = (count: number): DistillPrompt[] => Array.from({ length: count }, (_, i) => ({ id: `p${i}`, prompt: `question ${i}` }));
const settings = (overrides: Partial<BestOfNSettings> = {}): BestOfNSettings => ({ ...defaultBestOfNSettings, n: 4, seed: 10, sampling: { temperature: 1, maxTokens: 64 }, ...overrides });

describe("camelid data best-of-n (rejection sampling, LLaMA-2 §3.2.3)", () => {
  it("asks for K answers with seeds seed+k, grades each with FastChat's single-v1 prompt and keeps the best", async () => {
    const teacher = seedTeacher();
    const judge = ratingJudge({ 10: 3, 11: 8, 12: 6, 13: 2 });
    const output = temporaryDirectory();
    const summary = await runBestOfN({ model: teacher, scorer: new JudgeScorer(judge, singleV1), prompts: prompts(1), settings: settings(), outputDirectory: output, concurrency: 1 });
    expect(summary.counts).toEqual({ done: 1 });
    expect(teacher.calls.map((call) => call.seed).sort()).toEqual([10, 11, 12, 13]);
    expect(teacher.calls.every((call) => call.temperature === 1 && lastUser(call) === "question 0")).toBe(true);
    // the judge sees FastChat's single-v1 prompt filled with the question and one answer, at temperature 0
    expect(judge.calls).toHaveLength(4);
    const graded = judge.calls.find((call) => lastUser(call).includes("seed 11"))!;
    expect(graded.temperature).toBe(0);
    expect(graded.messages![0]).toEqual({ role: "system", content: singleV1.systemPrompt });
    expect(lastUser(graded)).toBe(singleV1.promptTemplate.replace("{question}", "question 0").replace("{answer}", "answer to question 0 with seed 11"));
    const [best] = readJsonl(join(output, "best.jsonl"));
    expect(best).toMatchObject({
      id: "p0",
      conversations: [{ from: "human", value: "question 0" }, { from: "gpt", value: "answer to question 0 with seed 11" }],
      best_of_n: { n: 4, index: 1, seed: 11, score: 8, scored: 4, scorer: "judge:judge/single-v1" },
    });
    expect(readJsonl(join(output, "samples.jsonl"))[0].candidates.map((c: { score: number }) => c.score)).toEqual([3, 8, 6, 2]);
  });

  it("--pairs writes best/worst as trl prompt/chosen/rejected that readPreferencePairs reads; ties go to the first sampled", async () => {
    const output = temporaryDirectory();
    // p0: 7, 9, 9, 1 → best the first 9 (seed 11), worst seed 13; p1: 5, 2, 5, 2 → best seed 10, worst seed 11
    const judge = scriptedModel({
      reply: (options) => {
        const text = lastUser(options);
        const seed = Number(/with seed (\d+)/.exec(text)![1]);
        if (text.includes("question 1")) return `Rating: [[${seed % 2 === 0 ? 5 : 2}]]`;
        return `[[${({ 10: 7, 11: 9, 12: 9, 13: 1 } as Record<number, number>)[seed]}]]`;
      },
    });
    const summary = await runBestOfN({ model: seedTeacher(), scorer: new JudgeScorer(judge, singleV1), prompts: prompts(2), settings: settings({ pairs: true }), outputDirectory: output, concurrency: 2 });
    expect(summary.counts).toEqual({ done: 2 });
    const bestRows = readJsonl(join(output, "best.jsonl"));
    expect(bestRows.map((row) => row.best_of_n.seed)).toEqual([11, 10]);
    const read = readPreferencePairs(join(output, "pairs.jsonl"));
    expect(read.problems).toEqual([]);
    expect(read.format).toBe("trl");
    expect(read.pairs.map((pair) => [pair.prompt, pair.chosen, pair.rejected])).toEqual([
      [[{ role: "user", content: "question 0" }], "answer to question 0 with seed 11", "answer to question 0 with seed 13"],
      [[{ role: "user", content: "question 1" }], "answer to question 1 with seed 10", "answer to question 1 with seed 11"],
    ]);
    // all tied: best and worst are the same answer, so no pair can be made of them
    expect(bestAndWorst([{ index: 0, seed: 0, text: "a", score: 2 }, { index: 1, seed: 1, text: "b", score: 2 }])).toMatchObject({ best: { index: 0 }, worst: { index: 0 }, scored: 2 });
  });

  it("answers the judge could not score are counted and excluded; a prompt with fewer than 2 scored answers has no pair", async () => {
    const output = temporaryDirectory();
    // p0: only seed 12 rated → best, no pair; p1 (same seeds): the same; every answer unrated for p2
    const judge = scriptedModel({
      reply: (options) => {
        const text = lastUser(options);
        if (text.includes("question 2")) return "no rating here";
        return text.includes("with seed 12") ? "Rating: [[4]]" : "Rating: none";
      },
    });
    const summary = await runBestOfN({ model: seedTeacher(), scorer: new JudgeScorer(judge, singleV1), prompts: prompts(3), settings: settings({ pairs: true }), outputDirectory: output, concurrency: 1 });
    expect(summary.counts).toEqual({ "no-pair": 2, unscored: 1 });
    expect(readJsonl(join(output, "best.jsonl")).map((row) => [row.id, row.best_of_n.seed, row.best_of_n.scored])).toEqual([["p0", 12, 1], ["p1", 12, 1]]);
    expect(readFileSync(join(output, "pairs.jsonl"), "utf8")).toBe("");
    const samples = readJsonl(join(output, "samples.jsonl"));
    expect(samples[2].candidates.map((c: { excluded: string }) => c.excluded)).toEqual(["unscored", "unscored", "unscored", "unscored"]);
    expect(samples[2].candidates[0].reason).toMatch(/no "\[\[rating\]\]"/);
  });

  it("a judge call that fails after its retries fails the prompt (errors.jsonl); the next run retries it", async () => {
    const base = ratingJudge({ 10: 3, 11: 8, 12: 6, 13: 2 });
    let failing = true;
    const flaky: LanguageModel = { ...base, async doGenerate(options) {
      if (failing && lastUser(options).includes("answer to question 1 with seed 12")) throw new UpstreamError("judge overloaded", 503);
      return base.doGenerate(options);
    } };
    const output = temporaryDirectory();
    const scorer = new JudgeScorer(flaky, singleV1, { call: { retries: 0 } });
    const first = await runBestOfN({ model: seedTeacher(), scorer, prompts: prompts(2), settings: settings(), outputDirectory: output, concurrency: 1 });
    expect(first).toMatchObject({ failed: 1, counts: { done: 1, "request-failed": 1 } });
    expect(readJsonl(join(output, "errors.jsonl"))).toEqual([{ index: 1, error: expect.stringMatching(/judge overloaded/) }]);
    failing = false;
    const second = await runBestOfN({ model: seedTeacher(), scorer, prompts: prompts(2), settings: settings(), outputDirectory: output, concurrency: 1 });
    expect(second).toMatchObject({ failed: 0, retried: 1, counts: { done: 2 } });
    expect(readJsonl(join(output, "best.jsonl")).map((row) => row.id)).toEqual(["p0", "p1"]);
  });

  it("an aborted run resumes to byte-identical files; a changed prompt or judge prompt is refused", async () => {
    const judge = () => new JudgeScorer(ratingJudge({ 10: 3, 11: 8, 12: 6, 13: 2 }), singleV1);
    const reference = temporaryDirectory();
    await runBestOfN({ model: seedTeacher(), scorer: judge(), prompts: prompts(4), settings: settings({ pairs: true }), outputDirectory: reference, concurrency: 1 });

    const killed = temporaryDirectory();
    const controller = new AbortController();
    const base = seedTeacher();
    // stopped at the 7th request (p1's third answer): p0 is committed, p1 abandoned mid-way
    const stopping: LanguageModel = { ...base, async doGenerate(options) {
      if (base.calls.length === 6) {
        controller.abort(new Error("killed"));
        throw controller.signal.reason;
      }
      return base.doGenerate(options);
    } };
    await expect(runBestOfN({ model: stopping, scorer: judge(), prompts: prompts(4), settings: settings({ pairs: true }), outputDirectory: killed, concurrency: 1, signal: controller.signal })).rejects.toThrow();
    expect(readJsonl(join(killed, "best.jsonl")).map((row) => row.id)).toEqual(["p0"]);

    const changed = prompts(4);
    changed[0] = { ...changed[0], prompt: "another question" };
    await expect(runBestOfN({ model: seedTeacher(), scorer: judge(), prompts: changed, settings: settings({ pairs: true }), outputDirectory: killed, concurrency: 1 })).rejects.toThrow(/prompts \(--prompts\) changed/);
    const otherJudgePrompt = { ...singleV1, promptTemplate: `${singleV1.promptTemplate}\nBe strict.` };
    await expect(runBestOfN({ model: seedTeacher(), scorer: new JudgeScorer(ratingJudge({}), otherJudgePrompt), prompts: prompts(4), settings: settings({ pairs: true }), outputDirectory: killed, concurrency: 1 })).rejects.toThrow(/scorer/);

    const resumedTeacher = seedTeacher();
    const summary = await runBestOfN({ model: resumedTeacher, scorer: judge(), prompts: prompts(4), settings: settings({ pairs: true }), outputDirectory: killed, concurrency: 1 });
    expect(summary.resumed).toBe(true);
    expect(resumedTeacher.calls).toHaveLength(12); // p1..p3, four answers each
    for (const file of ["best.jsonl", "pairs.jsonl", "samples.jsonl"]) expect(readFileSync(join(killed, file), "utf8")).toBe(readFileSync(join(reference, file), "utf8"));
  });

  it("the CLI samples from a remote teacher, judges with a remote judge, and exits 1 when every request failed", async () => {
    const server = await startFakeOpenAIServer();
    try {
      let failing = false;
      server.route("POST", "/v1/chat/completions", (request) => {
        const body = request.body as { model: string; seed: number; messages: { content: string }[] };
        if (body.model === "judge") return jsonReply(chatCompletionBody({ content: `Rating: [[${body.messages.at(-1)!.content.includes("seed 1") ? 9 : 4}]]` }));
        if (failing) return jsonReply(errorBody("overloaded", "server_error"), 500);
        return jsonReply(chatCompletionBody({ content: `reply with seed ${body.seed}` }));
      });
      const directory = temporaryDirectory();
      const input = join(directory, "prompts.jsonl");
      writeFileSync(input, `${JSON.stringify({ instruction: "Say hi" })}\n${JSON.stringify({ conversations: [{ from: "human", value: "Say bye" }] })}\n`);
      const remote = ["--base-url", server.baseURL, "--remote-model", "teacher", "--judge-base-url", server.baseURL, "--judge-remote-model", "judge", "--judge-prompts", judgePromptsPath];
      const ok = captureIo();
      const out = join(directory, "out");
      expect(await run(["best-of-n", "--prompts", input, "--out", out, "-n", "3", "--pairs", "--json", ...remote], ok.io)).toBe(0);
      const report = JSON.parse(ok.stdout());
      expect(report).toMatchObject({ counts: { done: 2 }, answers: { sampled: 6, scored: 6 }, temperature: 1 });
      expect(readJsonl(join(out, "best.jsonl")).map((row) => row.conversations[1].value)).toEqual(["reply with seed 1", "reply with seed 1"]);
      expect(readPreferencePairs(join(out, "pairs.jsonl")).pairs.map((pair) => [pair.chosen, pair.rejected])).toEqual([["reply with seed 1", "reply with seed 0"], ["reply with seed 1", "reply with seed 0"]]);

      failing = true;
      const failed = captureIo();
      expect(await run(["best-of-n", "--prompts", input, "--out", join(directory, "failed"), "--retries", "0", ...remote], failed.io)).toBe(1);
      expect(failed.stdout()).toMatch(/^kept the best of 4 answers for 0 of 2 prompts.*; 2 failed \(errors\.jsonl\)/);
      await expect(run(["best-of-n", "--prompts", input, "--out", join(directory, "pairwise"), "--judge-prompt", "pair-v2", ...remote], captureIo().io)).rejects.toThrow(/needs a single-answer "\[\[rating\]\]" prompt/);
    } finally {
      await server.close();
    }
  });
});
