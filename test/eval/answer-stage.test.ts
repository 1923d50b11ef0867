import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { generateAnswers } from "../../src/eval/answer/generate-answers.js";
import { temperatureForCategory } from "../../src/eval/answer/temperatures.js";
import { loadAnswerFile } from "../../src/eval/data/answers.js";
import { loadQuestions, type Question } from "../../src/eval/data/questions.js";
import { AuthenticationError, ConfigError, UpstreamError } from "../../src/errors/index.js";
import type { ProgressUpdate } from "../../src/progress/progress.js";
import { formatProgress } from "../../src/progress/progress.js";
import { scriptedModel } from "../support/scripted-model.js";
import { sharedPath } from "../support/shared-data.js";
import { temporaryDirectory } from "./fixtures.js";

let directory = temporaryDirectory();
afterEach(() => {
  directory.remove();
  directory = temporaryDirectory();
});

describe("answer generation", () => {
  it("uses MT-bench's per-category temperatures", () => {
    expect(["writing", "roleplay", "extraction", "math", "coding", "reasoning", "stem", "humanities"].map((c) => temperatureForCategory(c))).toEqual([0.7, 0.7, 0, 0, 0, 0, 0.1, 0.1]);
    expect(temperatureForCategory("fermi")).toBe(0.7);
    expect(temperatureForCategory("math", 0.3)).toBe(0.3);
  });

  it("answers both MT-bench turns with the conversation carried over, records the prompt format, and resumes", async () => {
    const questions = loadQuestions(sharedPath("eval", "mt_bench", "question.jsonl"));
    expect(questions).toHaveLength(80);
    const picked = [questions.find((q) => q.category === "writing")!, questions.find((q) => q.category === "math")!, questions.find((q) => q.category === "stem")!];
    const model = scriptedModel({ modelId: "tiny" });
    const outputPath = join(directory.path, "tiny.jsonl");
    const updates: ProgressUpdate[] = [];
    const summary = await generateAnswers({ model, questions: picked.slice(0, 2), outputPath, concurrency: 2, onProgress: (u) => updates.push(u) });
    expect(summary).toMatchObject({ total: 2, written: 2, resumed: 0, truncatedTurns: 0 });
    expect(summary.promptFormats).toEqual([{ name: "scripted", source: "heuristic", reason: "test double" }]);
    expect(updates.map((u) => u.done)).toEqual([1, 2]);
    expect(formatProgress(updates[0])).toMatch(/^answer 1\/2 \(50\.0%\), elapsed \d+s, ETA \d+s$/);

    const byQuestion = new Map(model.calls.map((call) => [call.messages![0].content, call]));
    expect(model.calls).toHaveLength(4);
    expect(model.calls.every((call) => call.maxTokens === 1024)).toBe(true);
    const writingTurn2 = model.calls.find((call) => call.messages!.length === 3 && call.messages![0].content === picked[0].turns[0])!;
    expect(writingTurn2.temperature).toBe(0.7);
    expect(writingTurn2.messages![1]).toEqual({ role: "assistant", content: `echo: ${picked[0].turns[0]}` });
    expect(byQuestion.get(picked[1].turns[0])!.temperature).toBe(0);

    const { model: name, answers } = loadAnswerFile(outputPath);
    expect(name).toBe("tiny");
    expect(answers.get(String(picked[1].questionId))).toMatchObject({ modelId: "tiny", turns: [`echo: ${picked[1].turns[0]}`, `echo: ${picked[1].turns[1]}`], promptFormat: "scripted" });

    // A killed run left a torn line; the rerun answers only what is missing.
    writeFileSync(outputPath, `${readFileSync(outputPath, "utf8")}{"question_id": ${picked[2].questionId}, "answer`);
    const second = await generateAnswers({ model, questions: picked, outputPath });
    expect(second).toMatchObject({ total: 3, written: 1, resumed: 2 });
    expect(model.calls.at(-1)!.temperature).toBe(0.1);
    expect(loadAnswerFile(outputPath).answers.size).toBe(3);
  });

  it("resumes only from the same questions: one whose text changed under its id is refused by name", async () => {
    const questions: Question[] = [
      { questionId: 1, category: "writing", turns: ["Write a poem.", "Shorter."] },
      { questionId: 2, category: "math", turns: ["2+2?"] },
    ];
    const model = scriptedModel();
    const outputPath = join(directory.path, "m.jsonl");
    await generateAnswers({ model, questions, outputPath });
    expect(Object.keys(JSON.parse(readFileSync(outputPath, "utf8").split("\n")[0]).input_sha256)).toEqual(["question"]);
    // Unchanged questions are skipped; a new one is answered.
    const third = { questionId: 3, category: "stem", turns: ["Why is the sky blue?"] };
    expect(await generateAnswers({ model, questions: [...questions, third], outputPath })).toMatchObject({ written: 1, resumed: 2 });

    const before = readFileSync(outputPath, "utf8");
    const edited = [questions[0], { ...questions[1], turns: ["3+3?"] }, third];
    const refused = generateAnswers({ model, questions: edited, outputPath });
    await expect(refused).rejects.toThrow(ConfigError);
    await expect(generateAnswers({ model, questions: edited, outputPath })).rejects.toThrow(
      new RegExp(`eval answer: .*m\\.jsonl holds rows made from input that changed since they were written: question 2 \\(--questions\\) \\(sha256 [0-9a-f]{12} → [0-9a-f]{12}\\)\\. Restore the original input to resume, or start over with a new --out`),
    );
    // A changed category changes the temperature, so it counts as a change too.
    await expect(generateAnswers({ model, questions: [{ ...questions[0], category: "stem" }], outputPath })).rejects.toThrow(/question 1 \(--questions\)/);
    expect(readFileSync(outputPath, "utf8")).toBe(before);
  });

  it("counts failed questions without writing a row, answers them on the next run, and stops on a bad key", async () => {
    let failing = true;
    const model = scriptedModel({
      reply: (options) => {
        if (failing && options.messages!.at(-1)!.content === "Second?") throw new UpstreamError("service unavailable", 503);
        return "fine";
      },
    });
    const questions: Question[] = [1, 2, 3].map((id) => ({ questionId: id, category: "generic", turns: [id === 2 ? "Two?" : `Q${id}?`, id === 2 ? "Second?" : "More?"] }));
    const outputPath = join(directory.path, "m.jsonl");
    const first = await generateAnswers({ model, questions, outputPath, concurrency: 2 });
    expect(first).toMatchObject({ written: 2, resumed: 0, failed: [{ questionId: 2, error: "service unavailable" }] });
    expect(loadAnswerFile(outputPath).answers.has("2")).toBe(false);
    failing = false;
    const second = await generateAnswers({ model, questions, outputPath });
    expect(second).toMatchObject({ written: 1, resumed: 2, failed: [] });
    expect(loadAnswerFile(outputPath).answers.get("2")!.turns).toEqual(["fine", "fine"]);

    // A turn that ended in an error is a failed question too, never a stored (empty) answer.
    const broken = { ...model, doGenerate: async (options: Parameters<typeof model.doGenerate>[0]) => {
      const result = await model.doGenerate(options);
      return { ...result, choices: result.choices.map((c) => ({ ...c, text: "", finishReason: "error" as const })) };
    } };
    const brokenRun = await generateAnswers({ model: broken, questions: [questions[0]], outputPath: join(directory.path, "broken.jsonl") });
    expect(brokenRun).toMatchObject({ written: 0, failed: [{ questionId: 1, error: 'turn 1 ended with finish reason "error"' }] });

    const locked = scriptedModel({ reply: () => { throw new AuthenticationError("invalid API key"); } });
    await expect(generateAnswers({ model: locked, questions, outputPath: join(directory.path, "locked.jsonl") })).rejects.toBeInstanceOf(AuthenticationError);
  });

  it("counts answers cut short by the token limit", async () => {
    const model = scriptedModel();
    const truncating = { ...model, doGenerate: async (options: Parameters<typeof model.doGenerate>[0]) => {
      const result = await model.doGenerate(options);
      return { ...result, choices: result.choices.map((c) => ({ ...c, finishReason: "length" as const })) };
    } };
    const summary = await generateAnswers({ model: truncating, questions: [{ questionId: 1, category: "generic", turns: ["a", "b"] }], outputPath: join(directory.path, "t.jsonl"), maxTokens: 8 });
    expect(summary.truncatedTurns).toBe(2);
    expect(JSON.parse(readFileSync(join(directory.path, "t.jsonl"), "utf8")).finish_reasons).toEqual(["length", "length"]);
  });
});
