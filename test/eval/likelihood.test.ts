import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UnsupportedFeatureError, InvalidArgumentError } from "../../src/errors/index.js";
import { evaluateMultipleChoice, loadMultipleChoiceItems } from "../../src/eval/likelihood/multiple-choice.js";
import { computePerplexity } from "../../src/eval/likelihood/perplexity.js";
import type { LanguageModel, LogLikelihoodRequest } from "../../src/spec/index.js";
import { scriptedModel } from "../support/scripted-model.js";
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
