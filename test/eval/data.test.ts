import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors/index.js";
import { loadAnswerDirectory, loadAnswerFile } from "../../src/eval/data/answers.js";
import { fillTemplate, judgePromptName, loadJudgePrompts, selectJudgePrompt } from "../../src/eval/data/judge-prompts.js";
import { readJsonl } from "../../src/eval/data/jsonl.js";
import { loadQuestions } from "../../src/eval/data/questions.js";
import { loadVicunaReviewSetup, reviewerFor } from "../../src/eval/data/vicuna-review-prompts.js";
import { vicunaReviewMessages } from "../../src/eval/judge/judge-messages.js";
import { singleJudgmentRowSchema } from "../../src/eval/judge/judgment-rows.js";
import { sharedPath } from "../support/shared-data.js";
import { temporaryDirectory } from "./fixtures.js";

let directory = temporaryDirectory();
afterEach(() => {
  directory.remove();
  directory = temporaryDirectory();
});

describe("question, answer and prompt files", () => {
  it("reads all three question sets", () => {
    const mtBench = loadQuestions(sharedPath("eval", "mt_bench", "question.jsonl"));
    expect(new Set(mtBench.map((q) => q.category))).toEqual(new Set(["writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities"]));
    expect(mtBench.every((q) => q.turns.length === 2)).toBe(true);
    const vicunaBench = loadQuestions(sharedPath("eval", "vicuna_bench", "question.jsonl"));
    expect(vicunaBench).toHaveLength(80);
    const blog = loadQuestions(sharedPath("eval", "vicuna_blog", "question.jsonl"));
    expect(blog[0]).toEqual({ questionId: 1, category: "generic", turns: ["How can I improve my time management skills?"] });
  });

  it("names models by file and reads both answer shapes", () => {
    const blog = loadAnswerDirectory(sharedPath("eval", "vicuna_blog", "answer"));
    expect([...blog.keys()]).toEqual(["alpaca-13b", "bard", "gpt35", "llama-13b", "vicuna-13b-20230322-new-hp-fp16", "vicuna-13b", "vicuna-7b-20230322-fp16"]);
    expect(blog.get("llama-13b")!.get("1")).toMatchObject({ modelId: "llama-13b:v1", answerId: "J3UA6eGXGyFeUGqGpP3g34" });
    const references = loadAnswerFile(sharedPath("eval", "mt_bench", "reference_answer", "gpt-4.jsonl"));
    expect(references.answers.size).toBe(30);
    expect(references.answers.get("101")!.turns).toHaveLength(2);
  });

  it("selects FastChat's judge prompt names and fills templates without reading braces in answers", () => {
    const prompts = loadJudgePrompts(sharedPath("eval", "judge_prompts.jsonl"));
    expect(prompts.size).toBe(8);
    expect([judgePromptName("single", "writing", false), judgePromptName("single", "coding", true), judgePromptName("pairwise", "reasoning", false), judgePromptName("pairwise", "stem", true)]).toEqual([
      "single-v1",
      "single-math-v1-multi-turn",
      "pair-math-v1",
      "pair-v2-multi-turn",
    ]);
    const filled = fillTemplate(prompts.get("single-v1")!.promptTemplate, { question: "Write C", answer: "int main() { return {x}; }" });
    expect(filled).toContain("int main() { return {x}; }");
    expect(() => fillTemplate("{question} {answer}", { question: "q" }, "single-v1")).toThrow(/single-v1 needs "\{answer\}"/);
  });

  it("fills templates as Python's str.format: {{ and }} are literal braces, a lone brace or a missing field is an error", () => {
    expect(fillTemplate("{{\"verdict\": {{x}}}} {question} }}{{", { question: "{q}" })).toBe('{"verdict": {x}} {q} }{');
    expect(() => fillTemplate("a } b", {}, "pair-x")).toThrow(/pair-x has a single "\}"/);
    expect(() => fillTemplate("a { b", {}, "pair-x")).toThrow(/pair-x has a single "\{"/);
    expect(() => fillTemplate("{0}", {}, "pair-x")).toThrow(/only named fields/);
  });

  it("refuses a judge prompt whose output_format it cannot read, naming the formats it can", () => {
    const prompts = loadJudgePrompts(sharedPath("eval", "judge_prompts.jsonl"));
    const odd = new Map(prompts);
    odd.set("pair-v2", { ...prompts.get("pair-v2")!, outputFormat: "[[winner]]" });
    expect(() => selectJudgePrompt(odd, "pairwise", "writing", false)).toThrow(/output_format "\[\[winner\]\]".*"\[\[A\]\]" or "\[\[rating_a,rating_b\]\]"/);
    odd.set("single-v1", { ...prompts.get("single-v1")!, outputFormat: "[[A]]" });
    expect(() => selectJudgePrompt(odd, "single", "writing", false)).toThrow(/single judges read "\[\[rating\]\]"/);
  });

  it("builds the original Vicuna review prompt with the right reviewer per category", () => {
    const setup = loadVicunaReviewSetup(sharedPath("eval", "vicuna_blog", "prompt.jsonl"), sharedPath("eval", "vicuna_blog", "reviewer.jsonl"));
    expect(reviewerFor(setup, "coding").reviewer.reviewerId).toBe("gpt-4-0328-coding");
    expect(reviewerFor(setup, "math").reviewer.reviewerId).toBe("gpt-4-0328-math");
    expect(reviewerFor(setup, "fermi").reviewer.reviewerId).toBe("gpt-4-0328-default");
    // The reviewer_id eval_gpt_review.py writes, as in the published review file (1 general, 2 coding, 3 math).
    expect(["fermi", "coding", "math"].map((category) => reviewerFor(setup, category).index)).toEqual([1, 2, 3]);
    const reordered = { ...setup, reviewers: [setup.reviewers[2], setup.reviewers[0], setup.reviewers[1]] };
    expect(reviewerFor(reordered, "fermi").reviewer.reviewerId).toBe("gpt-4-0328-math"); // gen_prompt falls back to the first reviewer
    const { prompt } = reviewerFor(setup, "generic");
    const { messages } = vicunaReviewMessages(prompt, { questionId: 1, category: "generic", turns: ["Q?"] }, { questionId: 1, modelId: "a", turns: ["one"] }, { questionId: 1, modelId: "b", turns: ["two"] });
    expect(messages[0]).toEqual({ role: "system", content: "You are a helpful and precise assistant for checking the quality of the answer." });
    expect(messages[1].content).toMatch(/^\[Question\]\nQ\?\n\n\[The Start of Assistant 1's Answer\]\none\n\n\[The End of Assistant 1's Answer\]\n\n\[The Start of Assistant 2's Answer\]\ntwo\n/);
    expect(messages[1].content).toContain("Please first output a single line containing only two values");
  });
});

describe("JSONL edges", () => {
  it("names the file, line and field of a bad row", () => {
    const path = join(directory.path, "bad.jsonl");
    writeFileSync(path, '{"question_id": 1, "category": "x", "turns": ["a"]}\n{"question_id": 2, "category": "x", "turns": "not a list"}\n');
    expect(() => loadQuestions(path)).toThrow(InvalidArgumentError);
    expect(() => loadQuestions(path)).toThrow(/bad.jsonl:2/);
    writeFileSync(path, '{"question_id": 1, "category": "x", "turns": ["a"]}\n{"question_id": 1, "category": "x", "turns": ["b"]}\n');
    expect(() => loadQuestions(path)).toThrow(/duplicate question_id 1/);
    writeFileSync(path, '{"question_id": 1\n{"question_id": 2}\n');
    expect(() => readJsonl(path, singleJudgmentRowSchema)).toThrow(/bad.jsonl:1: not valid JSON/);
    expect(() => loadQuestions(join(directory.path, "missing.jsonl"))).toThrow(/file not found/);
  });
});
