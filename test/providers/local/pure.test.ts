import { describe, expect, it } from "vitest";
import { AbortError, InvalidArgumentError } from "../../../src/errors/index.js";
import { logNormalizer, sampleToken } from "../../../src/providers/local/logit-sampler.js";
import { SeededRandom } from "../../../src/random/seeded-random.js";
import { parseLocalModelOptions } from "../../../src/providers/local/options.js";
import { resolveSampling, validateCallOptions } from "../../../src/providers/local/sampling.js";
import { SlotPool } from "../../../src/providers/local/sequence-pool.js";
import { StopStringMatcher } from "../../../src/providers/local/stop-matcher.js";
import { buildTokenBytesTable, decodeTokenBytes, IncrementalTokenDecoder } from "../../../src/providers/local/token-bytes.js";

describe("StopStringMatcher", () => {
  it("finds a stop split across pushes, holds back a pending prefix and trims the stop", () => {
    const matcher = new StopStringMatcher(["\nUser:"]);
    expect(matcher.push("Hello")).toEqual({ text: "Hello" });
    expect(matcher.push(" there\nUs")).toEqual({ text: " there" }); // "\nUs" could start the stop
    expect(matcher.push("er: more")).toEqual({ text: "", stop: "\nUser:" });
  });

  it("releases held-back text when the match fails or the stream ends", () => {
    const matcher = new StopStringMatcher(["###"]);
    expect(matcher.push("a#")).toEqual({ text: "a" });
    expect(matcher.push("#b")).toEqual({ text: "##b" });
    expect(matcher.push("c#")).toEqual({ text: "c" });
    expect(matcher.flush()).toBe("#");
  });

  it("reports the earliest of several stops and ignores empty ones", () => {
    const matcher = new StopStringMatcher(["", "cat", "the c"]);
    expect(matcher.push("see the cat")).toEqual({ text: "see ", stop: "the c" });
  });
});

describe("SlotPool", () => {
  it("hands out slots, queues when empty, and an abort takes a waiter out of the queue", async () => {
    const pool = new SlotPool(["a"]);
    const first = await pool.acquire();
    const controller = new AbortController();
    const waiting = pool.acquire(controller.signal);
    const second = pool.acquire();
    expect(pool.waiting).toBe(2);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    expect(pool.waiting).toBe(1);
    pool.release(first);
    await expect(second).resolves.toBe("a");
  });

  it("hands out the lowest free slot first, so busy sequences keep consecutive ids", async () => {
    const pool = new SlotPool(["s0", "s1", "s2", "s3"]);
    const taken = [await pool.acquire(), await pool.acquire(), await pool.acquire()];
    expect(taken).toEqual(["s0", "s1", "s2"]);
    pool.release("s1");
    pool.release("s0");
    expect(await pool.acquire()).toBe("s0");
    expect(await pool.acquire()).toBe("s1");
    expect(await pool.acquire()).toBe("s3");
    expect(pool.indexOf("s2")).toBe(2);
    expect(() => pool.indexOf("other")).toThrow(/does not belong/);
  });

  it("rejects at once for an already aborted signal and after close", async () => {
    const pool = new SlotPool<number>([]);
    const controller = new AbortController();
    controller.abort();
    await expect(pool.acquire(controller.signal)).rejects.toBeInstanceOf(AbortError);
    const pending = pool.acquire();
    pool.close();
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    await expect(pool.acquire()).rejects.toBeInstanceOf(AbortError);
  });
});

describe("token bytes", () => {
  it("decodes SentencePiece pieces, byte fallback and control tokens", () => {
    const table = buildTokenBytesTable({
      model: "llama",
      tokens: ["<unk>", "<s>", "</s>", "<0xEC>", "<0x95>", "<0x88>", "\u2581hi"],
      tokenTypes: [2, 3, 3, 6, 6, 6, 1],
    });
    expect(decodeTokenBytes(table, [1, 6, 3, 4, 5, 2])).toBe(" hi안");
    const decoder = new IncrementalTokenDecoder(table);
    expect([3, 4, 5].map((token) => decoder.push(token))).toEqual(["", "", "안"]);
  });

  it("decodes GPT-2 byte-level pieces", () => {
    // "Ġ" is the space byte; "ì" "ķ" "Ī" are the bytes of 안 (0xEC 0x95 0x88) in GPT-2's byte alphabet.
    const table = buildTokenBytesTable({ model: "gpt2", tokens: ["Ġhi", "ì", "ķĪ"], tokenTypes: [1, 1, 1] });
    const decoder = new IncrementalTokenDecoder(table);
    expect([decoder.push(0), decoder.push(1), decoder.push(2)]).toEqual([" hi", "", "안"]);
  });
});

describe("sampling", () => {
  const entries = [
    { token: 0, logit: 2 },
    { token: 1, logit: 1 },
    { token: 2, logit: 0 },
  ];

  it("computes a log normalizer whose probabilities sum to 1", () => {
    const normalizer = logNormalizer(entries);
    const total = entries.reduce((sum, e) => sum + Math.exp(e.logit - normalizer), 0);
    expect(total).toBeCloseTo(1, 12);
  });

  it("is greedy at temperature 0, deterministic for a seed, and applies the repeat penalty", () => {
    const settings = resolveSampling({ prompt: "", temperature: 0 }, 0, 1);
    expect(sampleToken(entries, settings, [], new SeededRandom(1))).toBe(0);
    const penalized = { ...settings, repeatPenalty: 100, repeatLastN: 8 };
    expect(sampleToken(entries, penalized, [0], new SeededRandom(1))).toBe(1);
    const hot = resolveSampling({ prompt: "", temperature: 2, topK: 0, topP: 1, minP: 0 }, 0, 7);
    const draw = (seed: number) => Array.from({ length: 50 }, ((random) => () => sampleToken(entries, hot, [], random))(new SeededRandom(seed)));
    expect(draw(7)).toEqual(draw(7));
    expect(new Set(draw(7)).size).toBeGreaterThan(1);
  });

  it("gives choice i the seed base+i", () => {
    expect(resolveSampling({ prompt: "" }, 2, 40).seed).toBe(42);
  });

  it("rejects bad options with the option's name", () => {
    const bad = (options: object, parameter: string) => {
      try {
        validateCallOptions({ prompt: "x", ...options });
        throw new Error("accepted");
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect((error as InvalidArgumentError).parameter).toBe(parameter);
      }
    };
    bad({ temperature: -1 }, "temperature");
    bad({ topP: 0 }, "topP");
    bad({ n: 0 }, "n");
    bad({ maxTokens: 1.5 }, "maxTokens");
    bad({ topLogprobs: 21 }, "topLogprobs");
    bad({ seed: -3 }, "seed");
    bad({ messages: [] }, "prompt");
    expect(() => parseLocalModelOptions({ modelPath: "" })).toThrow(/modelPath/);
    expect(() => parseLocalModelOptions({ modelPath: "m.gguf", sequences: 0 })).toThrow(/sequences/);
    expect(() => parseLocalModelOptions({ modelPath: "m.gguf", bogus: 1 })).toThrow(InvalidArgumentError);
  });
});
