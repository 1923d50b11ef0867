import { describe, expect, it } from "vitest";
import { tokenizeRuns } from "../../src/prompts/tokenized-prompt.js";
import type { PromptSegment } from "../../src/prompts/index.js";

describe("tokenizeRuns", () => {
  it("asks for every run at once (each is a round trip through llama-server) and joins the answers in order", async () => {
    const asked: { text: string; special: boolean; answer: (tokens: number[]) => void }[] = [];
    const tokenizer = {
      bos: null,
      addBos: false,
      tokenize: (text: string, special: boolean) => new Promise<number[]>((answer) => asked.push({ text, special, answer })),
    };
    const segments: PromptSegment[] = [
      { text: "<|im_start|>", special: true, trainable: false },
      { text: "user\nhi", special: false, trainable: false },
      { text: "<|im_end|>", special: true, trainable: false },
      { text: "", special: false, trainable: false },
    ];
    const tokens = tokenizeRuns(tokenizer, segments);
    // All three runs were asked for before any answered.
    expect(asked.map(({ text, special }) => [text, special])).toEqual([
      ["<|im_start|>", true],
      ["user\nhi", false],
      ["<|im_end|>", true],
    ]);
    asked[2].answer([3]);
    asked[0].answer([1]);
    asked[1].answer([20, 21]);
    expect(await tokens).toEqual([1, 20, 21, 3]);
  });
});
