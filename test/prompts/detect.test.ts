import { describe, expect, it } from "vitest";
import { InvalidArgumentError, UnsupportedFeatureError } from "../../src/errors/index.js";
import { CANONICAL_EXCHANGE, getPromptFormat, promptFormatNames, rankPromptFormats, type PromptFormat } from "../../src/prompts/index.js";
import type { LanguageModel, LogLikelihoodRequest, LogLikelihoodResult } from "../../src/spec/index.js";

/**
 * A fake model "fine-tuned" on one format: it finds the reply likely (-0.2 nats/token) only when the
 * context is exactly that format's generation prompt, and unlikely (-2.5) after anything else.
 * Tokens are whitespace-separated words, so formats that add a leading space score the same count.
 */
function modelTunedOn(formatName: string) {
  const tuned = getPromptFormat(formatName).render(CANONICAL_EXCHANGE.slice(0, -1)).text;
  const requests: LogLikelihoodRequest[][] = [];
  const model: Pick<LanguageModel, "logLikelihood"> = {
    async logLikelihood(batch) {
      requests.push(batch);
      return batch.map(({ context, continuation }): LogLikelihoodResult => {
        const tokenCount = continuation.trim().split(/\s+/).length;
        const perToken = context === tuned ? -0.2 : -2.5;
        return { logprob: perToken * tokenCount, tokenCount, isGreedy: context === tuned };
      });
    },
  };
  return { model, requests };
}

describe("rankPromptFormats (ping/pong template detection)", () => {
  for (const name of promptFormatNames()) {
    it(`ranks ${name} first for a model tuned on ${name}`, async () => {
      const { model, requests } = modelTunedOn(name);
      const { ranking, skipped } = await rankPromptFormats(model);
      expect(skipped).toEqual([]);
      expect(ranking).toHaveLength(7);
      expect(ranking[0]).toMatchObject({ name, meanLogprob: -0.2, isGreedy: true });
      expect(ranking.slice(1).every((score) => score.meanLogprob === -2.5)).toBe(true);
      expect(requests).toHaveLength(1); // one batched call
    });
  }

  it("scores the reply exactly as each format lays it out after the generation prompt", async () => {
    const { model, requests } = modelTunedOn("chatml");
    const { ranking } = await rankPromptFormats(model);
    const continuations = Object.fromEntries(requests[0].map((request, index) => [promptFormatNames()[index], request.continuation]));
    expect(continuations).toEqual({
      alpaca: "Pong.",
      "vicuna-v0": " Pong.",
      "vicuna-v1.1": " Pong.",
      koala: " Pong.",
      "llama-2-chat": " Pong.",
      chatml: "Pong.",
      "llama-3": "Pong.",
    });
    const llama2 = ranking.find((score) => score.name === "llama-2-chat");
    expect(llama2?.context).toBe(
      "<s>[INST] Hello! [/INST] Hello! How can I help you today? </s><s>[INST] Reply with one word: ping or pong? [/INST]",
    );
  });

  it("uses the mean per token, so a longer tokenization does not lose by length alone", async () => {
    const model: Pick<LanguageModel, "logLikelihood"> = {
      async logLikelihood(batch) {
        // First candidate: 10 tokens at -0.5 each (total -5); second: 2 tokens at -1 each (total -2).
        return batch.map((_, index) => (index === 0 ? { logprob: -5, tokenCount: 10, isGreedy: false } : { logprob: -2, tokenCount: 2, isGreedy: false }));
      },
    };
    const formats = [getPromptFormat("alpaca"), getPromptFormat("chatml")];
    const { ranking } = await rankPromptFormats(model, { formats });
    expect(ranking.map((score) => [score.name, score.meanLogprob])).toEqual([
      ["alpaca", -0.5],
      ["chatml", -1],
    ]);
  });

  it("skips formats that cannot render the exchange, saying why", async () => {
    const broken: PromptFormat = {
      ...getPromptFormat("chatml"),
      name: "broken",
      render() {
        throw new Error("cannot render");
      },
    };
    const { model } = modelTunedOn("alpaca");
    const { ranking, skipped } = await rankPromptFormats(model, { formats: [broken, getPromptFormat("alpaca")] });
    expect(ranking.map((score) => score.name)).toEqual(["alpaca"]);
    expect(skipped).toEqual([{ name: "broken", reason: "cannot render" }]);
  });

  it("needs a model that can score text and an exchange ending with the reply", async () => {
    await expect(rankPromptFormats({})).rejects.toBeInstanceOf(UnsupportedFeatureError);
    const { model } = modelTunedOn("alpaca");
    await expect(rankPromptFormats(model, { exchange: [{ role: "user", content: "ping" }] })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("rejects a model that answers the wrong number of results", async () => {
    const model: Pick<LanguageModel, "logLikelihood"> = { logLikelihood: async () => [] };
    await expect(rankPromptFormats(model)).rejects.toThrow(/answered 0 results for 7 requests/);
  });
});
