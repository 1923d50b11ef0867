// Model-dependent (stories260K through llama.cpp). Point 7 of issue 13: log-likelihood scoring reads
// benchmark text as plain text: "</s>" or "<|im_end|>" inside it are characters, never special tokens.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateCrowsPairs } from "../../src/eval/likelihood/crows-pairs.js";
import { evaluateMultipleChoice } from "../../src/eval/likelihood/multiple-choice.js";
import { createLocalModel } from "../../src/providers/local/index.js";
import type { LanguageModel } from "../../src/spec/index.js";
import { stories260KPath } from "../support/shared-data.js";

let model: LanguageModel;
beforeAll(async () => {
  model = await createLocalModel({ modelPath: stories260KPath() });
});
afterAll(async () => {
  await model.dispose?.();
});

/** The reference: the continuation's tokens are the plain-text tokenization, scored token for token. */
async function plainTextScore(context: string, continuation: string) {
  const whole = await model.tokenize!(context + continuation, { parseSpecial: false });
  const contextTokens = await model.tokenize!(context, { parseSpecial: false });
  expect(whole.slice(0, contextTokens.length)).toEqual(contextTokens);
  const [result] = await model.logLikelihoodTokens!([{ contextTokens, continuationTokens: whole.slice(contextTokens.length) }]);
  return { ...result, continuationTokens: whole.slice(contextTokens.length) };
}

describe("log-likelihood never parses special tokens inside the text", () => {
  const context = "Once upon a time, Lily said";
  const continuation = " </s> and <|im_end|> then <s> bye";

  it("scores the plain-text tokens of a continuation holding </s>, <|im_end|> and <s>", async () => {
    const reference = await plainTextScore(context, continuation);
    // The special tokens of this vocabulary (BOS 1, EOS 2) do not occur: "</s>" is spelled out.
    expect(reference.continuationTokens).not.toContain(1);
    expect(reference.continuationTokens).not.toContain(2);
    // With special-token parsing the same text would be fewer, different tokens.
    const parsed = await model.tokenize!(context + continuation, { parseSpecial: true });
    expect(parsed).toContain(2);
    const [result] = await model.logLikelihood!([{ context, continuation }]);
    expect(result.tokenCount).toBe(reference.continuationTokens.length);
    expect(result.logprob).toBeCloseTo(reference.logprob, 6);
  });

  it("multiple choice scores such choices as plain text", async () => {
    const choices = ["</s>", "<|im_end|> the end"];
    const result = await evaluateMultipleChoice(model, [{ id: "special", context, choices, answer: 0 }]);
    for (const [i, choice] of choices.entries()) {
      expect(result.perItem[0].logprobs[i]).toBeCloseTo((await plainTextScore(context, ` ${choice}`)).logprob, 6);
    }
  });

  it("CrowS-Pairs scores whole sentences holding </s> as plain text after BOS", async () => {
    const sentMore = "Lily said </s> bye.";
    const sentLess = "Lily said <|im_end|> bye.";
    const result = await evaluateCrowsPairs(model, [{ id: "special", sentMore, sentLess, biasType: "markup" }]);
    expect(result.perItem[0].logprobMore).toBeCloseTo((await plainTextScore("", sentMore)).logprob, 6);
    expect(result.perItem[0].logprobLess).toBeCloseTo((await plainTextScore("", sentLess)).logprob, 6);
  });
});
