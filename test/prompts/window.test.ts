import { describe, expect, it } from "vitest";
import { ContextLengthExceededError, InvalidArgumentError } from "../../src/errors/index.js";
import { applyWindowStrategy, splitTurns } from "../../src/prompts/index.js";
import type { ChatMessage, WindowStrategy } from "../../src/spec/index.js";

/** A stand-in tokenizer: 4 tokens of scaffolding per message plus one per character. */
const countTokens = (messages: ChatMessage[]) => messages.reduce((sum, message) => sum + 4 + message.content.length, 0);

const system: ChatMessage = { role: "system", content: "sys" }; // 7 tokens
function conversation(turns: number, withSystem = true): ChatMessage[] {
  const messages: ChatMessage[] = withSystem ? [system] : [];
  for (let turn = 1; turn <= turns; turn++) {
    messages.push({ role: "user", content: `question ${turn}` }); // 14 tokens (turn < 10)
    if (turn < turns) messages.push({ role: "assistant", content: `answer ${turn}` }); // 12 tokens
  }
  return messages;
}

describe("keep-all", () => {
  it("keeps everything that fits and reports nothing dropped", async () => {
    const messages = conversation(3);
    const result = await applyWindowStrategy(messages, { type: "keep-all" }, { countTokens, maxPromptTokens: 1000 });
    expect(result.messages).toEqual(messages);
    expect(result.report).toEqual({ strategy: "keep-all", droppedMessages: 0, keptMessages: 6 });
    expect(result.promptTokens).toBe(countTokens(messages));
  });

  it("is an error naming the size when too long", async () => {
    const messages = conversation(3); // 7 + 3*14 + 2*12 = 73
    const attempt = applyWindowStrategy(messages, { type: "keep-all" }, { countTokens, maxPromptTokens: 50 });
    await expect(attempt).rejects.toBeInstanceOf(ContextLengthExceededError);
    await expect(attempt).rejects.toMatchObject({ promptTokens: 73, contextSize: 50 });
    await expect(attempt).rejects.toThrow(/73 prompt tokens but at most 50 fit/);
  });
});

describe("last-turns", () => {
  it("keeps the system prompt and the last N turns, reporting the dropped messages", async () => {
    const messages = conversation(4);
    const result = await applyWindowStrategy(messages, { type: "last-turns", turns: 2 }, { countTokens, maxPromptTokens: 1000 });
    expect(result.messages).toEqual([system, ...messages.slice(5)]);
    expect(result.messages.map((message) => message.content)).toEqual(["sys", "question 3", "answer 3", "question 4"]);
    expect(result.report).toEqual({ strategy: "last-turns", droppedMessages: 4, keptMessages: 4 });
  });

  it("keeps everything when there are fewer turns", async () => {
    const messages = conversation(2);
    const result = await applyWindowStrategy(messages, { type: "last-turns", turns: 5 }, { countTokens, maxPromptTokens: 1000 });
    expect(result.messages).toEqual(messages);
    expect(result.report.droppedMessages).toBe(0);
  });

  it("is an error when the kept turns are still too long, or turns is not a positive integer", async () => {
    await expect(applyWindowStrategy(conversation(4), { type: "last-turns", turns: 2 }, { countTokens, maxPromptTokens: 20 })).rejects.toThrow(
      ContextLengthExceededError,
    );
    for (const turns of [0, -1, 1.5, Number.NaN]) {
      await expect(applyWindowStrategy(conversation(2), { type: "last-turns", turns }, { countTokens, maxPromptTokens: 100 })).rejects.toThrow(
        InvalidArgumentError,
      );
    }
  });
});

describe("token-budget", () => {
  it("drops the fewest oldest whole turns that make it fit, keeping the system prompt", async () => {
    const messages = conversation(6); // turns: 5 x (14 + 12) + 14, system 7 → 151
    for (let budget = 21; budget <= 160; budget++) {
      const result = await applyWindowStrategy(messages, { type: "token-budget" }, { countTokens, maxPromptTokens: budget });
      // Brute force: the longest suffix of whole turns that fits.
      const { pinned, turns } = splitTurns(messages);
      let expected: ChatMessage[] | undefined;
      for (let drop = 0; drop < turns.length && !expected; drop++) {
        const kept = [...pinned, ...turns.slice(drop).flat()];
        if (countTokens(kept) <= budget) expected = kept;
      }
      expect(result.messages).toEqual(expected);
      expect(result.messages[0]).toBe(system);
      expect(result.messages[1].role).toBe("user");
      expect(result.messages.at(-1)).toEqual(messages.at(-1));
      expect(result.promptTokens).toBeLessThanOrEqual(budget);
      expect(result.report).toEqual({ strategy: "token-budget", droppedMessages: messages.length - result.messages.length, keptMessages: result.messages.length });
    }
  });

  it("is an error when the system prompt and last user message alone do not fit", async () => {
    const attempt = applyWindowStrategy(conversation(6), { type: "token-budget" }, { countTokens, maxPromptTokens: 20 });
    await expect(attempt).rejects.toBeInstanceOf(ContextLengthExceededError);
    await expect(attempt).rejects.toThrow(/only the system prompt and the last user turn the prompt is 21 tokens but at most 20 fit/);
  });

  it("accepts an async counter, the strategy's own budget, and conversations without a system prompt", async () => {
    const messages = conversation(3, false); // 14 + 12 + 14 + 12 + 14 = 66
    let calls = 0;
    const asyncCount = async (kept: ChatMessage[]) => {
      calls++;
      return countTokens(kept);
    };
    const strategy: WindowStrategy = { type: "token-budget", maxPromptTokens: 40 };
    const result = await applyWindowStrategy(messages, strategy, { countTokens: asyncCount, maxPromptTokens: 10_000 });
    expect(result.messages.map((message) => message.content)).toEqual(["question 2", "answer 2", "question 3"]);
    expect(result.report.droppedMessages).toBe(2);
    expect(calls).toBeLessThanOrEqual(4);
  });

  it("counts few times on a long history (binary search)", async () => {
    const messages = conversation(200);
    let calls = 0;
    const result = await applyWindowStrategy(messages, { type: "token-budget" }, {
      countTokens: (kept) => {
        calls++;
        return countTokens(kept);
      },
      maxPromptTokens: 500,
    });
    expect(result.promptTokens).toBeLessThanOrEqual(500);
    expect(calls).toBeLessThanOrEqual(12);
  });
});

describe("bad input", () => {
  it("names what is wrong", async () => {
    await expect(applyWindowStrategy([], { type: "keep-all" }, { countTokens, maxPromptTokens: 10 })).rejects.toThrow(/messages must be a non-empty array/);
    await expect(applyWindowStrategy(conversation(1), { type: "keep-all" }, { countTokens, maxPromptTokens: 0 })).rejects.toThrow(/maxPromptTokens/);
    await expect(
      applyWindowStrategy(conversation(1), { type: "sliding" } as unknown as WindowStrategy, { countTokens, maxPromptTokens: 10 }),
    ).rejects.toThrow(/unknown window strategy "sliding"/);
    await expect(applyWindowStrategy(conversation(1), { type: "keep-all" }, { countTokens: () => Number.NaN, maxPromptTokens: 10 })).rejects.toThrow(
      /countTokens returned NaN/,
    );
  });
});
