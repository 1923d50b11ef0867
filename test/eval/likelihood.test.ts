import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UnsupportedFeatureError, InvalidArgumentError } from "../../src/errors/index.js";
import { evaluateMultipleChoice, hellaswagPreprocess, loadMultipleChoiceItems } from "../../src/eval/likelihood/multiple-choice.js";
import { computePerplexity } from "../../src/eval/likelihood/perplexity.js";
import type { LanguageModel, LogLikelihoodRequest } from "../../src/spec/index.js";
import { scriptedModel } from "../support/scripted-model.js";
import { evalCli } from "./eval-cli.js";
import { temporaryDirectory } from "./fixtures.js";

let directory = temporaryDirectory();
afterEach(() => {
  directory.remove();
  directory = temporaryDirectory();
});

const BOS = 1;
/** Log-probability the character model gives each character: depends only on the character. */
const charLogprob = (c: string) => -0.1 * ((c.codePointAt(0)! % 7) + 1);

/** A character-level model: one token per character, BOS = 1; log-probabilities from charLogprob. */
function characterModel(requests: LogLikelihoodRequest[] = []): LanguageModel {
  return {
    ...scriptedModel({ modelId: "chars" }),
    async tokenize(text, options) {
      return [...(options?.addBos ? [BOS] : []), ...[...text].map((c) => c.codePointAt(0)!)];
    },
    async detokenize(tokens) {
      return tokens.filter((t) => t !== BOS).map((t) => String.fromCodePoint(t)).join("");
    },
    async logLikelihood(batch) {
      requests.push(...batch);
      return batch.map((r) => ({ logprob: [...r.continuation].reduce((sum, c) => sum + charLogprob(c), 0), tokenCount: [...r.continuation].length, isGreedy: false }));
    },
  };
}

describe("perplexity with llama.cpp chunking", () => {
  it("scores the second half of each n_ctx chunk, with BOS in the chunk's first position", async () => {
    const text = "abcdefghijklmnopqrst"; // 20 characters → 21 tokens with BOS → floor(21 / 8) = 2 chunks
    const requests: LogLikelihoodRequest[] = [];
    const result = await computePerplexity(characterModel(requests), text, { contextSize: 8 });
    // Chunk 0 = tokens 0..7 = [BOS, a..g]: context BOS + "abcd", scored "efg" (positions 5..7).
    // Chunk 1 = tokens 8..15 = [h..o], h replaced by BOS: context BOS + "ijkl", scored "mno".
    expect(requests).toEqual([
      { context: "abcd", continuation: "efg" },
      { context: "ijkl", continuation: "mno" },
    ]);
    const scored = [..."efgmno"];
    const expectedNll = -scored.reduce((sum, c) => sum + charLogprob(c), 0) / scored.length;
    expect(result).toMatchObject({ chunks: 2, contextSize: 8, scoredTokens: 6, textTokens: 21, retokenizationMismatches: 0 });
    expect(result.perplexity).toBeCloseTo(Math.exp(expectedNll), 12);
    expect(result.runningPerplexity[0]).toBeCloseTo(Math.exp(-[..."efg"].reduce((s, c) => s + charLogprob(c), 0) / 3), 12);
    expect(result.method).toMatch(/2 chunks of n_ctx=8 tokens, BOS at each chunk start, last 3 tokens/);
  });

  it("needs 2·n_ctx tokens, as llama-perplexity does, and token log-probabilities", async () => {
    await expect(computePerplexity(characterModel(), "short text", { contextSize: 8 })).rejects.toThrow(/needs at least 2·n_ctx = 16/);
    await expect(computePerplexity(characterModel(), "x".repeat(40), { contextSize: 2 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(computePerplexity(scriptedModel(), "x".repeat(100), { contextSize: 8 })).rejects.toBeInstanceOf(UnsupportedFeatureError);
  });
});

describe("log-likelihood multiple choice", () => {
  it("computes accuracy and length-normalised accuracy", async () => {
    // "a" costs 0.7 nats, "b" 0.1, " " 0.5: two dear characters against sixteen cheap ones.
    const long = "b".repeat(16);
    const items = [
      { id: "short-wins-raw", context: "Q1", choices: ["aa", long], answer: 0 },
      { id: "long-wins-norm", context: "Q2", choices: ["aa", long], answer: 1 },
      { id: "clear", context: "Q3", choices: ["b", "aaaaaaa"], answer: 0 },
    ];
    const short = charLogprob(" ") + 2 * charLogprob("a");
    const longSum = charLogprob(" ") + 16 * charLogprob("b");
    expect(short).toBeGreaterThan(longSum); // raw sum prefers the short choice
    expect(short / 3).toBeLessThan(longSum / 17); // per character prefers the long one
    const requests: LogLikelihoodRequest[] = [];
    const result = await evaluateMultipleChoice(characterModel(requests), items);
    expect(requests[0]).toEqual({ context: "Q1", continuation: " aa" });
    expect(result.perItem.map((r) => [r.predicted, r.predictedNormalized])).toEqual([
      [0, 1],
      [0, 1],
      [0, 0],
    ]);
    expect(result.accuracy).toBeCloseTo(2 / 3, 12);
    expect(result.normalizedAccuracy).toBeCloseTo(2 / 3, 12);
  });

  it("reads HellaSwag, ARC and MMLU rows and names a bad answer", () => {
    const path = join(directory.path, "bench.jsonl");
    writeFileSync(
      path,
      [
        { ctx: "A man sits", endings: ["down.", "up.", "left.", "right."], label: "2" },
        { id: "arc1", question: "Which is a gas?", choices: { text: ["ice", "steam"], label: ["A", "B"] }, answerKey: "B" },
        { question: "2+2?", choices: ["3", "4"], answer: 1 },
        { context: "Sky is", choices: ["blue", "green"], answer: "A" },
      ].map((r) => JSON.stringify(r)).join("\n"),
    );
    expect(loadMultipleChoiceItems(path).map((i) => [i.context, i.answer])).toEqual([
      ["A man sits", 2],
      ["Question: Which is a gas?\nAnswer:", 1],
      ["2+2?\nA. 3\nB. 4\nAnswer:", 1], // the harness's MMLU layout (lettered choices)
      ["Sky is", 0],
    ]);
    writeFileSync(path, JSON.stringify({ context: "x", choices: ["a", "b"], answer: 5 }));
    expect(() => loadMultipleChoiceItems(path)).toThrow(/bench.jsonl:1: the answer does not name one of the 2 choices/);
  });
});

// Issue 13 point 7: multiple choice as lm-evaluation-harness scores and lays it out.
function writeRows(rows: unknown[]): string {
  const path = join(directory.path, "bench.jsonl");
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join("\n"));
  return path;
}

describe("acc_norm as lm-evaluation-harness: lls / len(choice)", () => {
  it("divides by the choice's length, not by the length of \" \" + choice", async () => {
    // " a": -1.2 over 1 character = -1.2; " aaa": -2.6 over 3 = -0.867, so "aaa" wins per character.
    // Dividing by " "+choice instead (2 and 4 characters) would pick "a" (-0.6 against -0.65).
    const requests: LogLikelihoodRequest[] = [];
    const result = await evaluateMultipleChoice(characterModel(requests), [{ id: "q", context: "Q", choices: ["a", "aaa"], answer: 1 }]);
    expect(requests.map((r) => r.continuation)).toEqual([" a", " aaa"]);
    expect(result.perItem[0].logprobs[0]).toBeCloseTo(-1.2, 12);
    expect(result.perItem[0].logprobs[1]).toBeCloseTo(-2.6, 12);
    expect(result.perItem[0].predicted).toBe(0);
    expect(result.perItem[0].predictedNormalized).toBe(1);
    expect(result.normalizedAccuracy).toBe(1);
    expect(result.method).toContain("len(choice)");
  });

  it("counts characters as Python's len does (code points, not UTF-16 units)", async () => {
    // "😀" (-0.7) is one character to Python, two UTF-16 units to JavaScript's .length.
    // Per Python character: " 😀" -1.2 / 1 = -1.2 against " aa" -1.9 / 2 = -0.95, so "aa" wins;
    // per UTF-16 unit the emoji would win (-0.6).
    const result = await evaluateMultipleChoice(characterModel(), [{ id: "q", context: "Q", choices: ["😀", "aa"], answer: 1 }]);
    expect(result.perItem[0].logprobs[0]).toBeCloseTo(-1.2, 12);
    expect(result.perItem[0].predictedNormalized).toBe(1);
  });
});

describe("the harness's prompt layouts", () => {
  it("HellaSwag: preprocess(activity_label + ': ' + ctx_a + ' ' + ctx_b.capitalize()), endings preprocessed", () => {
    const path = writeRows([
      {
        ind: 24,
        activity_label: "Roof shingle removal",
        ctx_a: "A man is sitting on a roof.",
        ctx_b: "he",
        ctx: "A man is sitting on a roof. he",
        endings: ["is using wrap to wrap a pair of skis.", "is ripping level tiles off.", "is holding a rubik's cube.", "starts pulling up roofing on a roof."],
        label: "3",
      },
      {
        ind: 7,
        activity_label: "Health",
        ctx_a: "[header] How to treat a burn [title] Cool the burn.",
        ctx_b: "[step] hold the burn under COOL water.",
        endings: ["[substeps] Run it for 10 minutes.", "Put ice on it. [title] Done.", " x ", "y"],
        label: 0,
      },
    ]);
    const [roof, burn] = loadMultipleChoiceItems(path);
    expect(roof).toMatchObject({ id: "24", context: "Roof shingle removal: A man is sitting on a roof. He", answer: 3, layout: "hellaswag" });
    expect(roof.choices[3]).toBe("starts pulling up roofing on a roof.");
    // By hand: " [title]" → ". ", brackets removed, double spaces halved; capitalize() lowercases the rest.
    expect(burn.context).toBe("Health: How to treat a burn. Cool the burn. hold the burn under cool water.");
    expect(burn.choices).toEqual([" Run it for 10 minutes.", "Put ice on it.. Done.", "x", "y"]);
    expect(hellaswagPreprocess("  a  [x]b  ")).toBe("a b");
  });

  it("MMLU: the subject's description, lettered choices and \" A\"/\" B\" continuations; --layout continuation is mmlu_continuation", async () => {
    const row = { question: " What is 2+2? ", subject: "elementary_mathematics", choices: ["3", "4", "5", "6"], answer: 1 };
    const path = writeRows([row]);
    const [item] = loadMultipleChoiceItems(path);
    expect(item.context).toBe(
      "The following are multiple choice questions (with answers) about elementary mathematics.\n\nWhat is 2+2?\nA. 3\nB. 4\nC. 5\nD. 6\nAnswer:",
    );
    expect(item.choices).toEqual(["A", "B", "C", "D"]);
    expect(item.layout).toBe("mmlu");
    const requests: LogLikelihoodRequest[] = [];
    const result = await evaluateMultipleChoice(characterModel(requests), [item]);
    expect(requests.map((r) => r.continuation)).toEqual([" A", " B", " C", " D"]);
    expect(result.layouts).toEqual({ mmlu: 1 });

    const [continuation] = loadMultipleChoiceItems(path, { layout: "continuation" });
    expect(continuation.context).toBe("The following are questions (with answers) about elementary mathematics.\n\nQuestion: What is 2+2?\nAnswer:");
    expect(continuation.choices).toEqual(["3", "4", "5", "6"]);
    expect(continuation.layout).toBe("mmlu_continuation");
  });

  it("ARC and our own rows are laid out as before; the CLI refuses an unknown layout and documents the flag", async () => {
    const path = writeRows([
      { id: "arc1", question: "Which is a gas?", choices: { text: ["ice", "steam"], label: ["A", "B"] }, answerKey: "B" },
      { context: "Sky is", choices: ["blue", "green"], answer: 0 },
    ]);
    expect(loadMultipleChoiceItems(path).map((i) => [i.context, i.layout])).toEqual([
      ["Question: Which is a gas?\nAnswer:", "arc"],
      ["Sky is", "as given"],
    ]);
    const refused = await evalCli(["mc", "--benchmark", path, "--layout", "few-shot", "--model", "x.gguf"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--layout must be harness or continuation, got "few-shot"/);
    const help = await evalCli(["mc", "--help"]);
    expect(help.stdout).toMatch(/--layout harness .*\(default\)/);
    expect(help.stdout).toMatch(/never parsed/);
  });
});
