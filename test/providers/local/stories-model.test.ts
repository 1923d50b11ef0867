// Model-dependent tests on ../shared/models/stories260K.gguf (a real 260K-parameter LLaMA).
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ContextLengthExceededError, InvalidArgumentError } from "../../../src/errors/index.js";
import { createLocalModel, loadedModelCount, type LocalLanguageModel } from "../../../src/providers/local/index.js";
import type { CallOptions, StreamPart } from "../../../src/spec/index.js";
import { prefillInChunks } from "../../../src/providers/local/choice-runner.js";
import type { Token } from "../../../src/providers/local/llama-runtime.js";
import { tokenizeSegments } from "../../../src/providers/local/prompt-tokens.js";
import { sharedPath, stories260KPath } from "../../support/shared-data.js";
import { waitUntil } from "../../support/wait-for.js";

/**
 * llama-server's greedy continuation published in ../shared/README.md (BOS added, as the tokenizer asks).
 * The quote is wrapped over lines in the markdown source (a line break there is a space) and writes the
 * model's newline as `\n`.
 */
function readmeGreedyText(): string {
  const readme = readFileSync(sharedPath("README.md"), "utf8");
  const match = /with llama\.cpp's own `llama-server`[^`]*gives: `([^`]+)`/.exec(readme);
  if (!match) throw new Error("../shared/README.md no longer has the greedy reference text");
  return match[1].replaceAll("\n", " ").replaceAll("\\n", "\n");
}

async function collect(stream: ReadableStream<StreamPart>): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return parts;
    parts.push(value);
  }
}

const PROMPT = "Once upon a time";
let model: LocalLanguageModel;

beforeAll(async () => {
  model = createLocalModel({ modelPath: stories260KPath(), contextSize: 256, sequences: 4 });
  await model.load();
});
afterAll(async () => {
  await model?.dispose();
});

describe("stories260K greedy reference", () => {
  it("reproduces llama-server's published greedy text byte for byte (BOS added by default)", async () => {
    const rendered = await model.renderPrompt({ prompt: PROMPT });
    expect(rendered.tokens).toEqual([1, 403, 407, 261, 378]);
    expect(rendered.format.source).toBe("raw");
    const reference = readmeGreedyText();
    const result = await model.doGenerate({ prompt: PROMPT, maxTokens: 80, temperature: 0 });
    expect(result.prompt?.tokens).toEqual([1, 403, 407, 261, 378]);
    expect((PROMPT + result.choices[0].text).slice(0, reference.length)).toBe(reference);
    expect(result.choices[0]).toMatchObject({ finishReason: "length", completionTokens: 80 });
    expect(result.usage).toEqual({ promptTokens: 5, completionTokens: 80, totalTokens: 85 });
  });

  it("continues differently without BOS, as the README says", async () => {
    const result = await model.doGenerate({ prompt: PROMPT, maxTokens: 32, temperature: 0, addBos: false });
    expect(result.prompt?.tokens).toEqual([403, 407, 261, 378]);
    expect(result.choices[0].text).toMatch(/^, there was a little girl named Lily\. She loved to play with her toys and her friends/);
  });

  it("streams the same text as doGenerate, with timings", async () => {
    const { stream } = await model.doStream({ prompt: PROMPT, maxTokens: 40, temperature: 0 });
    const parts = await collect(stream);
    expect(parts[0].type).toBe("stream-start");
    const text = parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join("");
    expect(PROMPT + text).toBe(readmeGreedyText().slice(0, (PROMPT + text).length));
    const finish = parts.at(-1);
    expect(finish?.type).toBe("finish");
    if (finish?.type !== "finish") return;
    expect(finish.timings.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(finish.timings.tokensPerSecond).toBeGreaterThan(0);
  });
});

describe("sampling", () => {
  const sampled: CallOptions = { prompt: PROMPT, maxTokens: 30, temperature: 1.5, topK: 0, topP: 1, minP: 0 };

  it("is deterministic for a fixed seed and varies with the seed", async () => {
    const a = await model.doGenerate({ ...sampled, seed: 42 });
    const b = await model.doGenerate({ ...sampled, seed: 42 });
    const c = await model.doGenerate({ ...sampled, seed: 43 });
    expect(b.choices[0].text).toBe(a.choices[0].text);
    expect(c.choices[0].text).not.toBe(a.choices[0].text);
  });

  it("runs n choices in parallel; choice i uses seed+i", async () => {
    const result = await model.doGenerate({ ...sampled, seed: 100, n: 3 });
    expect(result.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(result.usage.completionTokens).toBe(result.choices.reduce((sum, c) => sum + c.completionTokens, 0));
    const single = await model.doGenerate({ ...sampled, seed: 102 });
    expect(result.choices[2].text).toBe(single.choices[0].text);
    expect(new Set(result.choices.map((c) => c.text)).size).toBeGreaterThan(1);
  });

  it("applies the repeat penalty", async () => {
    const plain = await model.doGenerate({ prompt: PROMPT, maxTokens: 60, temperature: 0 });
    const penalized = await model.doGenerate({ prompt: PROMPT, maxTokens: 60, temperature: 0, repeatPenalty: 1.5, repeatLastN: 64 });
    expect(penalized.choices[0].text).not.toBe(plain.choices[0].text);
  });
});

describe("stop strings and limits", () => {
  it("stops at a string spanning several tokens, trims it, and never streams its beginning", async () => {
    // Greedy text: ", there was a little girl named Lily." ("girl named" is several tokens).
    const { stream } = await model.doStream({ prompt: PROMPT, maxTokens: 40, temperature: 0, addBos: false, stop: ["irl nam"] });
    const parts = await collect(stream);
    const deltas = parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : []));
    expect(deltas.join("")).toBe(", there was a little g");
    const end = parts.find((p) => p.type === "choice-finish");
    expect(end).toMatchObject({ finishReason: "stop", stopReason: "irl nam" });
  });

  it("rejects a prompt that does not fit the context", async () => {
    const long = "Once upon a time there was a cat. ".repeat(40);
    await expect(model.doGenerate({ prompt: long, maxTokens: 5 })).rejects.toBeInstanceOf(ContextLengthExceededError);
  });

  it("caps maxTokens by the room left in the context and reports length", async () => {
    const prompt = "Once upon a time there was a cat. ".repeat(20);
    const promptTokens = (await model.renderPrompt({ prompt })).tokens!.length;
    expect(promptTokens).toBeLessThan(256);
    const result = await model.doGenerate({ prompt, maxTokens: 1000, temperature: 0 });
    expect(result.choices[0]).toMatchObject({ finishReason: "length", completionTokens: 256 - promptTokens });
  });
});

describe("abort and concurrency", () => {
  it("aborts a stream mid-way with finishReason abort and frees the sequence", async () => {
    const controller = new AbortController();
    const { stream } = await model.doStream({ prompt: PROMPT, maxTokens: 200, temperature: 0, abortSignal: controller.signal });
    const reader = stream.getReader();
    const parts: StreamPart[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      if (value.type === "text-delta") controller.abort();
    }
    const finish = parts.at(-1);
    expect(finish).toMatchObject({ type: "finish", finishReason: "abort" });
    if (finish?.type === "finish") expect(finish.usage.completionTokens).toBeLessThan(200);
    const after = await model.doGenerate({ prompt: PROMPT, maxTokens: 5, temperature: 0 });
    expect(after.choices[0].finishReason).toBe("length");
  });

  it("stops generating and frees the sequence when the consumer cancels the stream", async () => {
    const state = await model.load();
    const all = await Promise.all([0, 1, 2, 3].map(() => state.slots.acquire()));
    for (const sequence of all) {
      await sequence.clearHistory();
      state.slots.release(sequence);
    }
    const { stream } = await model.doStream({ prompt: PROMPT, maxTokens: 200, temperature: 0 });
    const reader = stream.getReader();
    for (;;) {
      const { value } = await reader.read();
      if (value?.type === "text-delta") break;
    }
    expect(state.slots.size).toBe(3);
    await reader.cancel();
    await waitUntil(() => state.slots.size === 4, { what: "the cancelled sequence to be freed", intervalMs: 5 });
    // The cancelled sequence holds the prompt and a few tokens, not the 200 it was asked for.
    const sequences = await Promise.all([0, 1, 2, 3].map(() => state.slots.acquire()));
    const longest = Math.max(...sequences.map((sequence) => sequence.nextTokenIndex));
    for (const sequence of sequences) state.slots.release(sequence);
    expect(longest).toBeLessThan(5 + 100);
  });

  it("evaluates a long prompt batch by batch: same text, and an abort lands between batches", async () => {
    const small = createLocalModel({ modelPath: stories260KPath(), contextSize: 256, sequences: 1, batchSize: 16 });
    try {
      const prompt = "Once upon a time there was a cat named Tom. ".repeat(12);
      const reference = await model.doGenerate({ prompt, maxTokens: 20, temperature: 0 });
      const chunked = await small.doGenerate({ prompt, maxTokens: 20, temperature: 0 });
      expect(chunked.usage.promptTokens).toBeGreaterThan(100);
      expect(chunked.choices[0].text).toBe(reference.choices[0].text);

      // An abort that arrives while the prompt is evaluated stops it at the next batch boundary
      // (here: raised right after the second batch), short of the whole prompt.
      const state = await small.load();
      const sequence = await state.slots.acquire();
      await sequence.clearHistory();
      const controller = new AbortController();
      let batches = 0;
      const watched = {
        context: sequence.context,
        evaluateWithoutGeneratingNewTokens: async (tokens: Token[]) => {
          await sequence.evaluateWithoutGeneratingNewTokens(tokens);
          if (++batches === 2) controller.abort();
        },
      };
      const promptTokens = chunked.prompt!.tokens as Token[];
      const rest = await prefillInChunks(watched, promptTokens, controller.signal);
      expect(sequence.nextTokenIndex).toBe(32);
      expect(rest).toEqual(promptTokens.slice(32));
      state.slots.release(sequence);
    } finally {
      await small.dispose();
    }
  });

  it("decodes concurrent streams together on one context, each as it would alone", async () => {
    const prompts = ["Once upon a time", "The little dog", "Tom and Lily were"];
    const alone = [];
    for (const prompt of prompts) alone.push((await model.doGenerate({ prompt, maxTokens: 40, temperature: 0 })).choices[0].text);
    const firstTokenAt: number[] = [];
    const endedAt: number[] = [];
    const together = await Promise.all(
      prompts.map(async (prompt, index) => {
        const { stream } = await model.doStream({ prompt, maxTokens: 40, temperature: 0 });
        let text = "";
        for (const part of await collectWithTimes(stream, index)) if (part.type === "text-delta") text += part.delta;
        return text;
      }),
    );
    async function collectWithTimes(stream: ReadableStream<StreamPart>, index: number) {
      const reader = stream.getReader();
      const parts: StreamPart[] = [];
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (value.type === "text-delta") firstTokenAt[index] ??= performance.now();
        parts.push(value);
      }
      endedAt[index] = performance.now();
      return parts;
    }
    expect(together).toEqual(alone);
    // All three were generating at the same time: each started before any finished.
    expect(Math.max(...firstTokenAt)).toBeLessThan(Math.min(...endedAt));
  });

  it("lets a new request join while another is generating (continuous batching)", async () => {
    const { stream } = await model.doStream({ prompt: PROMPT, maxTokens: 200, temperature: 0 });
    const deltaTimes: number[] = [];
    let tenth!: () => void;
    const tenDeltas = new Promise<void>((resolve) => (tenth = resolve));
    const first = (async () => {
      const reader = stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        if (value.type === "text-delta" && deltaTimes.push(performance.now()) === 10) tenth();
      }
    })();
    await tenDeltas;
    const joinedAt = performance.now();
    const joined = await model.doGenerate({ prompt: "The little dog", maxTokens: 10, temperature: 0 });
    const joinedDone = performance.now();
    await first;
    expect(joined.choices[0].completionTokens).toBe(10);
    // The second request started and finished while the first was still producing tokens.
    expect(deltaTimes.some((time) => time > joinedAt && time < joinedDone)).toBe(true);
    expect(deltaTimes.at(-1)!).toBeGreaterThan(joinedDone);
  });

  it("lets a request on a previously used sequence join running generations (its state reset does not wait for the batch)", async () => {
    const trio = createLocalModel({ modelPath: stories260KPath(), contextSize: 256, sequences: 3 });
    try {
      // Use every sequence once, so the late request must reset old state before evaluating.
      await Promise.all(["The cat", "A big dog", "One sunny"].map((prompt) => trio.doGenerate({ prompt, maxTokens: 4, temperature: 0 })));
      const deltaTimes: number[][] = [[], []];
      let tenth!: () => void;
      const tenDeltas = new Promise<void>((resolve) => (tenth = resolve));
      // Two generations at once keep llama.cpp's dispatcher busy without a gap between tokens.
      const running = [0, 1].map(async (index) => {
        const { stream } = await trio.doStream({ prompt: PROMPT, maxTokens: 200, temperature: 0.8, seed: index });
        const reader = stream.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          if (value.type === "text-delta" && deltaTimes[index].push(performance.now()) === 10 && index === 0) tenth();
        }
      });
      await tenDeltas;
      const joined = await trio.doGenerate({ prompt: "Zebras", maxTokens: 5, temperature: 0 });
      const joinedDone = performance.now();
      await Promise.all(running);
      expect(joined.choices[0].completionTokens).toBe(5);
      // Before the fix the late request's reset waited until both running generations had ended.
      expect(Math.max(deltaTimes[0].at(-1)!, deltaTimes[1].at(-1)!)).toBeGreaterThan(joinedDone);
      expect(deltaTimes[0].length + deltaTimes[1].length).toBeGreaterThan(100);
    } finally {
      await trio.dispose();
    }
  });

  it("serves more choices than sequences by queueing them", async () => {
    const result = await model.doGenerate({ prompt: PROMPT, maxTokens: 5, temperature: 1, seed: 9, n: 6 });
    expect(result.choices.map((c) => c.completionTokens)).toEqual([5, 5, 5, 5, 5, 5]);
  });

  it("queues a request while every sequence is busy, and an abort while queued ends it at once", async () => {
    const single = createLocalModel({ modelPath: stories260KPath(), contextSize: 256, sequences: 1 });
    try {
      const busy = single.doGenerate({ prompt: PROMPT, maxTokens: 150, temperature: 0 });
      const controller = new AbortController();
      const queued = single.doGenerate({ prompt: PROMPT, maxTokens: 10, abortSignal: controller.signal });
      setTimeout(() => controller.abort(), 5);
      const result = await queued;
      expect(result.choices[0]).toMatchObject({ finishReason: "abort", completionTokens: 0 });
      expect((await busy).choices[0].completionTokens).toBe(150);
      // Same file, same settings: one loaded model shared by both LanguageModels.
      expect(loadedModelCount()).toBe(1);
    } finally {
      await single.dispose();
    }
    // Reference-counted: disposing one LanguageModel leaves the shared weights to the other.
    expect(loadedModelCount()).toBe(1);
    expect((await model.doGenerate({ prompt: PROMPT, maxTokens: 3, temperature: 0 })).choices[0].completionTokens).toBe(3);
  });
});

describe("logprobs and log-likelihood", () => {
  it("returns natural-log probabilities of the raw distribution", async () => {
    const result = await model.doGenerate({ prompt: PROMPT, maxTokens: 12, temperature: 0, topLogprobs: 5 });
    const logprobs = result.choices[0].logprobs!;
    expect(logprobs).toHaveLength(12);
    for (const entry of logprobs) {
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.topLogprobs).toHaveLength(5);
      // Greedy: the chosen token is the most likely one.
      expect(entry.topLogprobs![0].logprob).toBeCloseTo(entry.logprob, 9);
      const mass = entry.topLogprobs!.reduce((sum, top) => sum + Math.exp(top.logprob), 0);
      expect(mass).toBeLessThanOrEqual(1 + 1e-9);
      expect(mass).toBeGreaterThan(0.3);
    }
    expect(logprobs.map((entry) => entry.token).join("")).toBe(result.choices[0].text);
    // The same numbers from the log-likelihood path (prefill logits, not sampling).
    const [scored] = await model.logLikelihood([{ context: PROMPT, continuation: result.choices[0].text }]);
    expect(scored.isGreedy).toBe(true);
    expect(scored.tokenCount).toBe(12);
    expect(scored.logprob).toBeCloseTo(logprobs.reduce((sum, entry) => sum + entry.logprob, 0), 3);
  });

  it("samples with logprobs deterministically for a seed, one entry per token", async () => {
    const options: CallOptions = { prompt: PROMPT, maxTokens: 15, temperature: 1.2, topK: 0, topP: 1, minP: 0, seed: 7, logprobs: true };
    const a = await model.doGenerate(options);
    const b = await model.doGenerate(options);
    const c = await model.doGenerate({ ...options, seed: 8 });
    expect(b.choices[0].text).toBe(a.choices[0].text);
    expect(c.choices[0].text).not.toBe(a.choices[0].text);
    expect(a.choices[0].logprobs).toHaveLength(a.choices[0].completionTokens);
    expect(a.choices[0].logprobs!.map((entry) => entry.token).join("")).toBe(a.choices[0].text);
    for (const entry of a.choices[0].logprobs!) expect(entry.logprob).toBeLessThanOrEqual(0);
  });

  it("scores token ids exactly as the text path does, and names bad ids", async () => {
    const context = await model.tokenize("Once upon a time", { addBos: true });
    const whole = await model.tokenize("Once upon a time, there was", { addBos: true });
    expect(whole.slice(0, context.length)).toEqual(context);
    const [byTokens] = await model.logLikelihoodTokens([{ contextTokens: context, continuationTokens: whole.slice(context.length) }]);
    const [byText] = await model.logLikelihood([{ context: "Once upon a time", continuation: ", there was" }]);
    expect(byTokens.tokenCount).toBe(byText.tokenCount);
    expect(byTokens.logprob).toBeCloseTo(byText.logprob, 4);
    await expect(model.logLikelihoodTokens([{ contextTokens: [1, 99999], continuationTokens: [5] }])).rejects.toThrow(/requests\[0\]/);
    await expect(model.logLikelihoodTokens([{ contextTokens: [], continuationTokens: [5] }])).rejects.toThrow(/at least one token/);
  });

  it("scores an unlikely continuation lower and not greedy", async () => {
    const [likely, unlikely] = await model.logLikelihood([
      { context: PROMPT, continuation: ", there was a little girl" },
      { context: PROMPT, continuation: " zebra quantum rocket" },
    ]);
    expect(unlikely.logprob).toBeLessThan(likely.logprob);
    expect(unlikely.isGreedy).toBe(false);
  });
});

describe("JSON output and UTF-8", () => {
  it("follows a JSON schema through the grammar", async () => {
    const schema = {
      type: "object",
      properties: { mood: { enum: ["happy", "sad"] }, friends: { type: "array", items: { enum: ["Lily", "Tom"] }, maxItems: 3 } },
      required: ["mood", "friends"],
      additionalProperties: false,
    };
    const result = await model.doGenerate({ prompt: PROMPT, maxTokens: 120, temperature: 0.7, seed: 5, responseFormat: { type: "json", schema } });
    const parsed = z
      .object({ mood: z.enum(["happy", "sad"]), friends: z.array(z.enum(["Lily", "Tom"])).max(3) })
      .strict()
      .parse(JSON.parse(result.choices[0].text));
    expect(parsed.mood).toMatch(/happy|sad/);
    expect(result.choices[0].finishReason).toBe("stop");
    expect(result.choices[0].text.endsWith("}")).toBe(true);
  });

  it("streams Korean and emoji made of byte-fallback tokens as whole characters", async () => {
    const text = "안녕 세계 😀";
    const tokens = await model.tokenize(text, { addBos: false });
    expect(tokens.length).toBeGreaterThan([...text].length); // split into byte tokens
    const { stream } = await model.doStream({
      prompt: PROMPT,
      maxTokens: 60,
      temperature: 0,
      responseFormat: { type: "json", schema: { type: "object", properties: { greeting: { const: text } }, required: ["greeting"] } },
    });
    const deltas = (await collect(stream)).flatMap((p) => (p.type === "text-delta" ? [p.delta] : []));
    expect(deltas.some((delta) => delta.includes("\uFFFD"))).toBe(false);
    for (const delta of deltas) expect(Buffer.from(delta, "utf8").toString("utf8")).toBe(delta);
    expect(JSON.parse(deltas.join(""))).toEqual({ greeting: text });
  });

  it("rejects a schema llama.cpp grammars cannot express, naming the option", async () => {
    const error = await model
      .doGenerate({ prompt: PROMPT, maxTokens: 5, responseFormat: { type: "json", schema: { type: "object", properties: { a: { type: "weird" } } } } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).parameter).toBe("responseFormat.schema");
  });
});

describe("tokens, messages and description", () => {
  it("tokenizes and detokenizes, rejecting ids outside the vocabulary", async () => {
    const tokens = await model.tokenize(PROMPT);
    expect(tokens).toEqual([1, 403, 407, 261, 378]);
    expect(await model.detokenize(tokens)).toBe(PROMPT);
    await expect(model.detokenize([1, 99999])).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("tokenizes format markup with special tokens and message content without", async () => {
    const state = await model.load();
    const segments = [
      { text: "<s>", special: true, trainable: false },
      { text: "[INST] ", special: false, trainable: false },
      { text: "say </s> now", special: false, trainable: false },
      { text: " [/INST]", special: false, trainable: false },
    ];
    const tokens = tokenizeSegments(state.model, segments);
    // The markup "<s>" becomes BOS; "</s>" typed by a user stays characters, never the EOS token.
    expect(tokens[0]).toBe(1);
    expect(tokens.slice(1)).not.toContain(2);
    // Adjacent text segments are tokenized as one run, with the dummy-prefix space llama.cpp puts
    // after a special token: the same tokens as llama.cpp's own whole-text tokenization.
    expect(tokens.slice(1)).toEqual(state.model.tokenize("[INST] say </s> now [/INST]", false));
    expect(tokens).toEqual(state.model.tokenize("<s>[INST] say ", true).concat(state.model.tokenize("</s> now [/INST]", false, "trimLeadingSpace")));
  });

  it("renders messages with a reported prompt format, explicit or chosen", async () => {
    const messages = [{ role: "user" as const, content: "Tell me a story" }];
    const fallback = await model.renderPrompt({ messages });
    expect(fallback.format.source).toBe("heuristic");
    const alpaca = await model.renderPrompt({ messages, promptFormat: "alpaca" });
    expect(alpaca.format).toMatchObject({ name: "alpaca", source: "explicit" });
    expect(alpaca.text).toContain("### Instruction:\nTell me a story");
    expect(alpaca.tokens?.[0]).toBe(1);
    const result = await model.doGenerate({ messages, promptFormat: "alpaca", maxTokens: 8, temperature: 0 });
    expect(result.prompt?.text).toBe(alpaca.text);
    expect((await model.describe()).contextSize).toBe(256);
  });

  it("warns about settings it cannot honour", async () => {
    const json = await model.doGenerate({
      prompt: PROMPT,
      maxTokens: 30,
      temperature: 0,
      responseFormat: { type: "json", schema: { type: "string", pattern: "^[a-z]+$" } },
    });
    expect(json.warnings.map((w) => w.setting)).toContain("responseFormat.schema.pattern");
    const result = await model.doGenerate({ prompt: PROMPT, maxTokens: 2, promptFormat: "alpaca", providerOptions: { local: { nonsense: 1 } } });
    expect(result.warnings.map((w) => w.setting)).toEqual(expect.arrayContaining(["promptFormat", "providerOptions.local.nonsense"]));
  });
});

describe("dispose", () => {
  it("frees the weights with the last reference and refuses later calls", async () => {
    await model.dispose();
    expect(loadedModelCount()).toBe(0);
    await expect(model.doGenerate({ prompt: PROMPT, maxTokens: 1 })).rejects.toThrow(/disposed/);
  });
});
