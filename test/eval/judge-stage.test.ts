import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadJudgePrompts } from "../../src/eval/data/judge-prompts.js";
import { pairwiseJudgmentRowSchema, singleJudgmentRowSchema } from "../../src/eval/judge/judgment-rows.js";
import { runJudge } from "../../src/eval/judge/run-judge.js";
import { summarizePairwiseJudgments } from "../../src/eval/report/pairwise-results.js";
import { summarizeSingleJudgments } from "../../src/eval/report/single-results.js";
import { AuthenticationError, ConfigError, ConnectionError, InvalidArgumentError } from "../../src/errors/index.js";
import type { CallOptions } from "../../src/spec/index.js";
import { scriptedModel } from "../support/scripted-model.js";
import { sharedPath } from "../support/shared-data.js";
import { references, temporaryDirectory, twoModelAnswers, twoTurnQuestions, userPrompt } from "./fixtures.js";

const judgePrompts = loadJudgePrompts(sharedPath("eval", "judge_prompts.jsonl"));
const noWait = { retryDelayMs: 0, sleep: async () => {} };
let directory = temporaryDirectory();
afterEach(() => {
  directory.remove();
  directory = temporaryDirectory();
});

const readRows = <T>(path: string, parse: (value: unknown) => T) =>
  readFileSync(path, "utf8").trim().split("\n").map((line) => parse(JSON.parse(line)));

/** Grades the assistant's answer in the prompt: "good" → 8, "weak" → 3, multi-turn gets no verdict. */
function gradingJudge(options: CallOptions): string {
  const prompt = userPrompt(options);
  if (prompt.includes("### User:")) return "The second turn is fine, I would say seven out of ten."; // malformed: no [[rating]]
  const answer = /\[The Start of Assistant's Answer\]\n([\s\S]*?)\n\[The End/.exec(prompt)?.[1] ?? "";
  return answer.includes("good") ? "Helpful and correct. Rating: [[8]]" : "Wrong. Rating: [3]";
}

describe("single-answer judging", () => {
  it("picks FastChat's prompt per category and turn, passes references, and counts missing scores", async () => {
    const judge = scriptedModel({ modelId: "judge-x", reply: gradingJudge });
    const outputPath = join(directory.path, "single.jsonl");
    const summary = await runJudge({ judge, questions: twoTurnQuestions, answers: twoModelAnswers(), mode: { kind: "single" }, judgePrompts, references, outputPath, call: noWait });
    expect(summary).toMatchObject({ total: 8, written: 8, resumed: 0, judgeErrors: 0, noVerdict: 4 });
    const rows = readRows(outputPath, (v) => singleJudgmentRowSchema.parse(v));
    const promptOf = (model: string, question: number, turn: number) => rows.find((r) => r.model === model && r.question_id === question && r.turn === turn)!;
    expect(promptOf("alpha", 81, 1).judge).toEqual(["judge-x", "single-v1"]);
    expect(promptOf("alpha", 111, 1).judge[1]).toBe("single-math-v1");
    expect(promptOf("alpha", 81, 2).judge[1]).toBe("single-v1-multi-turn");
    expect(promptOf("alpha", 111, 2).judge[1]).toBe("single-math-v1-multi-turn");
    expect(promptOf("alpha", 111, 1).user_prompt).toContain("[The Start of Reference Answer]\n4\n");
    expect(promptOf("beta", 111, 2).user_prompt).toContain("### Reference answer:\n6");
    expect(promptOf("alpha", 81, 1).score).toBe(8);
    expect(promptOf("beta", 81, 1).score).toBe(3); // the [rating] fallback
    expect(promptOf("beta", 81, 2)).toMatchObject({ score: -1, no_score_reason: expect.stringMatching(/no "\[\[rating\]\]"/) });
    expect(judge.calls.every((call) => call.temperature === 0)).toBe(true);
    expect(judge.calls[0].messages?.[0]).toEqual({ role: "system", content: "You are a helpful assistant." });

    const results = summarizeSingleJudgments(rows);
    expect(results.models.map((m) => [m.model, m.overall.mean, m.byTurn[1].mean, m.byTurn[2].mean, m.noScore])).toEqual([
      ["alpha", 8, 8, null, 2],
      ["beta", 3, 3, null, 2],
    ]);
  });

  it("refuses to grade a reference category without a reference answer", async () => {
    const judge = scriptedModel({ reply: gradingJudge });
    await expect(
      runJudge({ judge, questions: twoTurnQuestions, answers: twoModelAnswers(), mode: { kind: "single" }, judgePrompts, outputPath: join(directory.path, "x.jsonl") }),
    ).rejects.toThrow(/question 111 \(math\).*reference/);
  });

  it("resumes after a kill without losing or duplicating items, and retries $ERROR$ rows", async () => {
    const outputPath = join(directory.path, "single.jsonl");
    let failing = true;
    const flaky = scriptedModel({
      reply: (options) => {
        if (failing && userPrompt(options).includes("weak 5") && !userPrompt(options).includes("###")) throw new ConnectionError("connection reset");
        return gradingJudge(options);
      },
    });
    const first = await runJudge({ judge: flaky, questions: twoTurnQuestions, answers: twoModelAnswers(), mode: { kind: "single" }, judgePrompts, references, outputPath, call: { ...noWait, retries: 2 } });
    expect(first).toMatchObject({ written: 8, judgeErrors: 1 });
    const errorRow = readRows(outputPath, (v) => singleJudgmentRowSchema.parse(v)).find((r) => r.judgment === "$ERROR$")!;
    expect(errorRow).toMatchObject({ model: "beta", question_id: 111, turn: 1, score: -1, error: "connection reset" });
    expect(flaky.calls.filter((c) => userPrompt(c).includes("weak 5") && !userPrompt(c).includes("###")).length).toBe(3); // 1 try + 2 retries

    // Simulate a kill mid-write: drop the last two rows and leave a torn line.
    const lines = readFileSync(outputPath, "utf8").trim().split("\n");
    writeFileSync(outputPath, `${lines.slice(0, 6).join("\n")}\n{"question_id": 81, "mod`);
    failing = false;
    const callsBefore = flaky.calls.length;
    const second = await runJudge({ judge: flaky, questions: twoTurnQuestions, answers: twoModelAnswers(), mode: { kind: "single" }, judgePrompts, references, outputPath, call: noWait });
    const errorWasKept = lines.slice(0, 6).some((line) => line.includes("$ERROR$"));
    expect(second.written).toBe(2 + (errorWasKept ? 1 : 0));
    expect(flaky.calls.length - callsBefore).toBe(second.written);
    const third = await runJudge({ judge: flaky, questions: twoTurnQuestions, answers: twoModelAnswers(), mode: { kind: "single" }, judgePrompts, references, outputPath, call: noWait });
    expect(third).toMatchObject({ written: 0, resumed: 8 });
    const finalRows = readRows(outputPath, (v) => singleJudgmentRowSchema.parse(v)); // the torn line is gone
    const results = summarizeSingleJudgments(finalRows);
    expect(results.judgeErrors).toBe(0);
    expect(results.models.find((m) => m.model === "beta")!.overall.scored).toBe(2);
  });

  it("resumes only from the same inputs: a changed judge prompt, reference, question or answer is refused by name", async () => {
    const outputPath = join(directory.path, "single.jsonl");
    const judge = scriptedModel({ reply: gradingJudge });
    const base = { judge, questions: twoTurnQuestions, answers: twoModelAnswers(), mode: { kind: "single" as const }, judgePrompts, references, outputPath, call: noWait };
    await runJudge(base);
    const rows = readRows(outputPath, (v) => singleJudgmentRowSchema.parse(v));
    expect(Object.keys(rows[0].input_sha256!).sort()).toEqual(["answer", "judge_prompt", "question"]);
    expect(Object.keys(rows.find((r) => r.question_id === 111)!.input_sha256!).sort()).toEqual(["answer", "judge_prompt", "question", "reference"]);
    // Unchanged inputs: everything is skipped.
    expect(await runJudge(base)).toMatchObject({ written: 0, resumed: 8 });

    const single = judgePrompts.get("single-v1")!;
    const editedPrompts = new Map([...judgePrompts, ["single-v1", { ...single, promptTemplate: single.promptTemplate.replace("Please act as", "Act as") }]]);
    await expect(runJudge({ ...base, judgePrompts: editedPrompts })).rejects.toThrow(ConfigError);
    await expect(runJudge({ ...base, judgePrompts: editedPrompts })).rejects.toThrow(/holds rows made from input that changed since they were written: judge prompt "single-v1" \(--judge-prompts\) \(sha256 [0-9a-f]{12} → [0-9a-f]{12}, 2 rows\)\. Restore the original input to resume, or start over with a new --out/);
    const editedReferences = new Map([["111", { ...references.get("111")!, turns: ["4", "six"] }]]);
    await expect(runJudge({ ...base, references: editedReferences })).rejects.toThrow(/the reference answer to question 111 \(--reference\) \(sha256 [0-9a-f]{12} → [0-9a-f]{12}, 4 rows\)/);
    const editedQuestions = [{ ...twoTurnQuestions[0], turns: ["Write a haiku about alpacas.", twoTurnQuestions[0].turns[1]] }, twoTurnQuestions[1]];
    await expect(runJudge({ ...base, questions: editedQuestions })).rejects.toThrow(/question 81 \(--questions\) \(sha256 [0-9a-f]{12} → [0-9a-f]{12}, 4 rows\)/);
    const editedAnswers = twoModelAnswers();
    editedAnswers.get("beta")!.get("81")!.turns = ["weak, edited"];
    await expect(runJudge({ ...base, answers: editedAnswers })).rejects.toThrow(/the answer of beta to question 81 \(--answers\)/);
    // Nothing was written by the refused runs.
    expect(readRows(outputPath, (v) => singleJudgmentRowSchema.parse(v))).toHaveLength(8);
  });

  it("stops the run on an authentication error instead of writing $ERROR$ rows", async () => {
    const judge = scriptedModel({ reply: () => { throw new AuthenticationError("invalid API key"); } });
    await expect(
      runJudge({ judge, questions: twoTurnQuestions, answers: twoModelAnswers(), mode: { kind: "single" }, judgePrompts, references, outputPath: join(directory.path, "a.jsonl"), call: noWait }),
    ).rejects.toBeInstanceOf(AuthenticationError);
  });

  it("--repeat K reports the median and spread over runs", async () => {
    let call = 0;
    const scores = [6, 8, 7];
    const outputPath = join(directory.path, "repeat.jsonl");
    const questions = [{ questionId: 1, category: "writing", turns: ["q"] }];
    const answers = new Map([["m", new Map([["1", { questionId: 1, modelId: "m", turns: ["a"] }]])]]);
    // 1 question × 1 model × 3 repeats; repeat r gets scores[r] (calls are sequential).
    const judgeOnce = scriptedModel({ reply: () => `Rating: [[${scores[call++ % 3]}]]` });
    const summary = await runJudge({ judge: judgeOnce, questions, answers, mode: { kind: "single" }, judgePrompts, outputPath, repeat: 3, call: noWait });
    expect(summary.written).toBe(3);
    const result = summarizeSingleJudgments(readRows(outputPath, (v) => singleJudgmentRowSchema.parse(v))).models[0];
    expect(result.overall.mean).toBe(7); // median of 6, 8, 7 for the one item
    expect(result.spread).toMatchObject({ repeats: 3, median: 7, min: 6, max: 8 });
    expect(result.spread!.standardDeviation).toBeCloseTo(1, 12);
  });
});

describe("pairwise judging", () => {
  /** Picks the answer containing "good" in whichever position it is shown. */
  function fairJudge(options: CallOptions): string {
    const prompt = userPrompt(options);
    const a = /Assistant A(?:'s Answer\]|:)\n([\s\S]*?)\n/.exec(prompt)?.[1] ?? "";
    return a.includes("good") ? "A is better. [[A]]" : "B is better. [[B]]";
  }

  it("refuses to resume pairwise judging when the pair prompt changed", async () => {
    const outputPath = join(directory.path, "pair.jsonl");
    const base = { judge: scriptedModel({ reply: fairJudge }), questions: twoTurnQuestions, answers: twoModelAnswers(), mode: { kind: "pairwise-all" as const }, judgePrompts, references, outputPath, call: noWait };
    await runJudge(base);
    expect(Object.keys(readRows(outputPath, (v) => pairwiseJudgmentRowSchema.parse(v))[0].input_sha256!).sort()).toEqual(["answer_1", "answer_2", "judge_prompt", "question"]);
    const pair = judgePrompts.get("pair-v2")!;
    const edited = new Map([...judgePrompts, ["pair-v2", { ...pair, systemPrompt: `${pair.systemPrompt} Be brief.` }]]);
    await expect(runJudge({ ...base, judgePrompts: edited })).rejects.toThrow(/judge prompt "pair-v2" \(--judge-prompts\)/);
  });

  it("judges both orders and turns agreement into a winner", async () => {
    const judge = scriptedModel({ reply: fairJudge });
    const outputPath = join(directory.path, "pair.jsonl");
    const summary = await runJudge({ judge, questions: twoTurnQuestions, answers: twoModelAnswers(), mode: { kind: "pairwise-all" }, judgePrompts, references, outputPath, call: noWait });
    expect(summary).toMatchObject({ total: 4, written: 4, noVerdict: 0 });
    expect(judge.calls).toHaveLength(8);
    const rows = readRows(outputPath, (v) => pairwiseJudgmentRowSchema.parse(v));
    expect(rows.every((r) => r.g1_winner === "model_1" && r.g2_winner === "model_1")).toBe(true);
    expect(rows.find((r) => r.question_id === 111 && r.turn === 1)!.judge[1]).toBe("pair-math-v1");
    expect(rows.find((r) => r.question_id === 81 && r.turn === 2)!.judge[1]).toBe("pair-v2-multi-turn");
    expect(rows[0].g1_user_prompt.indexOf("good haiku")).toBeLessThan(rows[0].g1_user_prompt.indexOf("weak"));
    expect(rows[0].g2_user_prompt.indexOf("weak")).toBeLessThan(rows[0].g2_user_prompt.indexOf("good haiku"));
    const results = summarizePairwiseJudgments(rows);
    const alpha = results.models.find((m) => m.model === "alpha")!;
    expect(alpha).toMatchObject({ win: 4, loss: 0, tie: 0, inconsistent: 0, winRate: 1, adjustedWinRate: 1 });
    expect(results.diagnostics).toMatchObject({ positionConsistency: 1, firstPositionWinRate: 0.5, longerAnswerWinRate: 1 });
  });

  it("scores a judge that always prefers the first position as inconsistent ties", async () => {
    const judge = scriptedModel({ reply: () => "The first one. [[A]]" });
    const outputPath = join(directory.path, "biased.jsonl");
    await runJudge({ judge, questions: twoTurnQuestions, answers: twoModelAnswers(), mode: { kind: "pairwise-baseline", baseline: "beta" }, judgePrompts, references, outputPath, call: noWait });
    const results = summarizePairwiseJudgments(readRows(outputPath, (v) => pairwiseJudgmentRowSchema.parse(v)));
    expect(results.models[0]).toMatchObject({ model: "alpha", win: 0, loss: 0, inconsistent: 4, adjustedWinRate: 0.5, winRate: 0 });
    expect(results.diagnostics).toMatchObject({ positionConsistency: 0, firstPositionWinRate: 1 });
  });

  it("reads verdicts by FastChat's rules by default: the first of [[A]], [[B]], [[C]] wins, any grade counts", async () => {
    const pairJudge = scriptedModel({ reply: () => "Either [[B]] or [[A]]" });
    const pairs = await runJudge({ judge: pairJudge, questions: [twoTurnQuestions[0]], answers: twoModelAnswers(), mode: { kind: "pairwise-all" }, judgePrompts, outputPath: join(directory.path, "fastchat-pair.jsonl"), call: noWait });
    expect(pairs).toMatchObject({ noVerdict: 0, verdictRules: "fastchat" });
    const pairRows = readRows(join(directory.path, "fastchat-pair.jsonl"), (v) => pairwiseJudgmentRowSchema.parse(v));
    expect(pairRows.map((r) => [r.g1_winner, r.g2_winner])).toEqual([["model_1", "model_2"], ["model_1", "model_2"]]);
    const gradeJudge = scriptedModel({ reply: () => "Rating: [[0]]" });
    await runJudge({ judge: gradeJudge, questions: [twoTurnQuestions[0]], answers: twoModelAnswers(), mode: { kind: "single" }, judgePrompts, outputPath: join(directory.path, "fastchat-single.jsonl"), call: noWait });
    const results = summarizeSingleJudgments(readRows(join(directory.path, "fastchat-single.jsonl"), (v) => singleJudgmentRowSchema.parse(v)));
    expect(results.models.map((m) => [m.model, m.overall.mean, m.overall.scored])).toEqual([["alpha", 0, 2], ["beta", 0, 2]]);
  });

  it("records missing, ambiguous (--strict-verdicts) and failed verdicts as errors, excluded and counted", async () => {
    const replies = ["[[A]]", "no idea", "[[A]] or [[B]]", "[[C]]"];
    let call = 0;
    const judge = scriptedModel({ reply: () => replies[call++ % replies.length] });
    const outputPath = join(directory.path, "errors.jsonl");
    const questions = [twoTurnQuestions[0]];
    const summary = await runJudge({ judge, questions: [{ ...questions[0], turns: [questions[0].turns[0]] }], answers: twoModelAnswers(), mode: { kind: "pairwise-all" }, judgePrompts, outputPath, repeat: 2, call: noWait, verdictRules: "strict" });
    expect(summary).toMatchObject({ written: 2, noVerdict: 2, verdictRules: "strict" });
    const rows = readRows(outputPath, (v) => pairwiseJudgmentRowSchema.parse(v));
    expect(rows.map((r) => [r.g1_winner, r.g2_winner])).toEqual([
      ["model_1", "error"],
      ["error", "tie"],
    ]);
    expect(rows[1].g1_error_reason).toMatch(/ambiguous/);
    const results = summarizePairwiseJudgments(rows);
    expect(results.models.find((m) => m.model === "alpha")).toMatchObject({ error: 2, win: 0, adjustedWinRate: null });
    expect(results.diagnostics).toMatchObject({ pairsWithBothVerdicts: 0, decisiveGames: 1, firstPositionWins: 1 });
  });

  it("honours a judge prompt's [[rating_a,rating_b]] output format: grades within TIE_DELTA 0.1 tie", async () => {
    // FastChat's pair format with grades: the "good" answer gets 9, the other 4; Q111 gets near-equal grades.
    const rated = new Map([...judgePrompts].map(([name, prompt]) => [name, prompt.type === "pairwise" ? { ...prompt, outputFormat: "[[rating_a,rating_b]]" } : prompt]));
    const judge = scriptedModel({
      reply: (options) => {
        const prompt = userPrompt(options);
        if (prompt.includes("What is 2+2?")) return "Close call. [[7.05, 7]]";
        const a = /Assistant A(?:'s Answer\]|:)\n([\s\S]*?)\n/.exec(prompt)?.[1] ?? "";
        return a.includes("good") ? "A is better: [9, 4]" : "B is better: [[4,9]]";
      },
    });
    const outputPath = join(directory.path, "rated.jsonl");
    await runJudge({ judge, questions: twoTurnQuestions, answers: twoModelAnswers(), mode: { kind: "pairwise-all" }, judgePrompts: rated, references, outputPath, call: noWait });
    const rows = readRows(outputPath, (v) => pairwiseJudgmentRowSchema.parse(v));
    const row = (question: number, turn: number) => rows.find((r) => r.question_id === question && r.turn === turn)!;
    expect(row(81, 1)).toMatchObject({ g1_winner: "model_1", g2_winner: "model_1", g1_ratings: [9, 4], g2_ratings: [4, 9] });
    expect(row(111, 1)).toMatchObject({ g1_winner: "tie", g2_winner: "tie", g1_ratings: [7.05, 7] });
    // The letter verdicts in the same judgments are not what this format reads.
    const letters = scriptedModel({ reply: () => "[[A]]" });
    const summary = await runJudge({ judge: letters, questions: twoTurnQuestions, answers: twoModelAnswers(), mode: { kind: "pairwise-all" }, judgePrompts: rated, references, outputPath: join(directory.path, "letters.jsonl"), call: noWait });
    expect(summary.noVerdict).toBe(4);
  });

  it("names an unknown baseline", async () => {
    await expect(
      runJudge({ judge: scriptedModel(), questions: twoTurnQuestions, answers: twoModelAnswers(), mode: { kind: "pairwise-baseline", baseline: "gpt-4" }, judgePrompts, references, outputPath: join(directory.path, "b.jsonl") }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
