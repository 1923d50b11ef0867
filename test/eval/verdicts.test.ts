import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  combineSwappedVerdicts,
  JUDGE_ERROR_OUTPUT,
  model1Score,
  parsePairwiseJudgment,
  parsePairwiseRatings,
  parsePairwiseVerdict,
  parseSingleRating,
  parseVicunaScores,
  TIE_DELTA,
} from "../../src/eval/verdicts/index.js";
import { sharedPath } from "../support/shared-data.js";

describe("single-answer ratings", () => {
  it("reads [[rating]] first, then the [rating] fallback", () => {
    expect(parseSingleRating("The answer is fine. Rating: [[7]]")).toEqual({ kind: "score", score: 7, method: "double-bracket" });
    expect(parseSingleRating("Rating: [[8.5]] and later [[3]]")).toMatchObject({ score: 8.5 });
    expect(parseSingleRating("See [2] for details. Rating: [[4]]")).toMatchObject({ score: 4, method: "double-bracket" });
    expect(parseSingleRating("Rating: [6]")).toEqual({ kind: "score", score: 6, method: "single-bracket" });
  });

  it("counts missing, out-of-range and failed judgments as no score", () => {
    expect(parseSingleRating("I think this is a good answer, 9/10.")).toMatchObject({ kind: "no-score" });
    // FastChat keeps any number it finds; --strict-verdicts refuses numbers outside 1-10.
    expect(parseSingleRating("Rating: [[0]]")).toMatchObject({ kind: "score", score: 0 });
    expect(parseSingleRating("Rating: [[15]]")).toMatchObject({ kind: "score", score: 15 });
    expect(parseSingleRating("Rating: [[0]]", "strict")).toMatchObject({ kind: "no-score", reason: expect.stringMatching(/outside 1-10/) });
    expect(parseSingleRating("Rating: [[15]]", "strict")).toMatchObject({ kind: "no-score" });
    expect(parseSingleRating("Rating: [[seven]]")).toMatchObject({ kind: "no-score" });
    expect(parseSingleRating(JUDGE_ERROR_OUTPUT)).toMatchObject({ kind: "error" });
  });
});

describe("pairwise verdicts and the position-swap rules", () => {
  it("reads [[A]], [[B]], [[C]] and rejects missing or ambiguous ones", () => {
    expect(parsePairwiseVerdict("... so my verdict is [[A]]")).toEqual({ verdict: "A" });
    expect(parsePairwiseVerdict("[[B]]")).toEqual({ verdict: "B" });
    expect(parsePairwiseVerdict("It is a tie: [[C]]")).toEqual({ verdict: "tie" });
    expect(parsePairwiseVerdict("Assistant A is better.")).toMatchObject({ verdict: "error", reason: expect.stringMatching(/no "\[\[A\]\]"/) });
    // FastChat takes the first of A, B, C that occurs anywhere; --strict-verdicts calls that ambiguous.
    expect(parsePairwiseVerdict("[[A]] if A is better, [[B]] if B")).toEqual({ verdict: "A" });
    expect(parsePairwiseVerdict("not [[C]], rather [[B]]")).toEqual({ verdict: "B" });
    expect(parsePairwiseVerdict("[[A]] if A is better, [[B]] if B", "strict")).toMatchObject({ verdict: "error", reason: expect.stringMatching(/ambiguous/) });
    expect(parsePairwiseVerdict("[A]")).toMatchObject({ verdict: "error" });
    expect(parsePairwiseVerdict(JUDGE_ERROR_OUTPUT)).toMatchObject({ verdict: "error", reason: "the judge call failed" });
  });

  it("turns agreement into a verdict and disagreement into an inconsistent tie", () => {
    // Game 1: model 1 is A. Game 2: model 2 is A.
    expect(combineSwappedVerdicts("A", "B")).toBe("model_1");
    expect(combineSwappedVerdicts("B", "A")).toBe("model_2");
    expect(combineSwappedVerdicts("tie", "tie")).toBe("tie");
    expect(combineSwappedVerdicts("A", "A")).toBe("inconsistent"); // always the first position
    expect(combineSwappedVerdicts("B", "B")).toBe("inconsistent");
    expect(combineSwappedVerdicts("A", "tie")).toBe("inconsistent");
    expect(combineSwappedVerdicts("error", "B")).toBe("error");
    expect(model1Score("inconsistent")).toBe(0.5);
    expect(model1Score("model_2")).toBe(0);
    expect(model1Score("error")).toBeUndefined();
  });
});

describe("FastChat's [[rating_a,rating_b]] pair format", () => {
  it("reads the first [[a,b]], else [a,b], and ties grades within TIE_DELTA", () => {
    expect(TIE_DELTA).toBe(0.1);
    expect(parsePairwiseRatings("A: [[8, 6]] then [[1,9]]")).toEqual({ verdict: "A", ratings: [8, 6] });
    expect(parsePairwiseRatings("scores [3,9.5]")).toEqual({ verdict: "B", ratings: [3, 9.5] });
    expect(parsePairwiseRatings("[[8.1,8]]").verdict).toBe("tie"); // |8.1 - 8| <= 0.1, as in Python
    expect(parsePairwiseRatings("[[8.2,8]]").verdict).toBe("A");
    expect(parsePairwiseRatings("[[8,  6]]").verdict).toBe("error"); // \\s? allows one space only
    expect(parsePairwiseRatings("$ERROR$")).toMatchObject({ verdict: "error", reason: "the judge call failed" });
    expect(parsePairwiseJudgment("[[A]] [[7,9]]", "[[A]]").verdict).toBe("A");
    expect(parsePairwiseJudgment("[[A]] [[7,9]]", "[[rating_a,rating_b]]").verdict).toBe("B");
  });
});

describe("Vicuna review scores", () => {
  it('reads the "s1 s2" first line, with commas', () => {
    expect(parseVicunaScores("9 8\nAssistant 1 was more detailed.")).toEqual({ kind: "scores", scores: [9, 8], method: "first-line" });
    expect(parseVicunaScores("7.5, 6\nbecause")).toMatchObject({ scores: [7.5, 6] });
  });

  it("falls back to score lines and a Python tuple, ignoring numbers inside the working", () => {
    const lines = "First, let's solve it.\nAssistant 1:\n3x + 10 = 5x\nAssistant 2:\nx = 6.\n\nScores:\nAssistant 1: 2 (incorrect steps)\nAssistant 2: 1 (no steps)\n";
    expect(parseVicunaScores(lines)).toEqual({ kind: "scores", scores: [2, 1], method: "assistant-lines" });
    expect(parseVicunaScores("Let (x1, y1) = (2, -2).\nThe output tuple is (10, 1).")).toEqual({ kind: "scores", scores: [10, 1], method: "tuple" });
  });

  it("reports reviews without scores", () => {
    expect(parseVicunaScores("Both answers are good.")).toMatchObject({ kind: "no-score" });
    expect(parseVicunaScores("Once upon a time, there was a little girl")).toMatchObject({ kind: "no-score" });
    expect(parseVicunaScores(JUDGE_ERROR_OUTPUT)).toMatchObject({ kind: "error" });
  });

  it("recovers every score of the published GPT-4 review file from its text", () => {
    const rows = readFileSync(sharedPath("eval", "vicuna_blog", "review", "review_llama_alpaca-13b.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { text: string; score: [number, number] });
    const methods: Record<string, number> = {};
    for (const row of rows) {
      const parsed = parseVicunaScores(row.text);
      expect(parsed.kind).toBe("scores");
      if (parsed.kind !== "scores") continue;
      expect(parsed.scores).toEqual(row.score); // the published (hand-fixed) scores
      methods[parsed.method] = (methods[parsed.method] ?? 0) + 1;
    }
    expect(methods).toEqual({ "first-line": 77, "assistant-lines": 2, tuple: 1 });
  });
});
