import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors/index.js";
import { alpacaFormat, vicunaV11Format } from "../../src/prompts/index.js";
import { readTrainingDataset, type TrainingExample } from "../../src/train/dataset.js";
import { prepareTrainingData } from "../../src/train/prepare-data.js";
import { allocateBatch, fillBatch, RowSchedule } from "../../src/train/batches.js";
import { sharedPath } from "../support/shared-data.js";
import { charTokenizer } from "./support/char-tokenizer.js";

const dir = mkdtempSync(join(tmpdir(), "camelid-train-data-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe("reading training data", () => {
  it("Alpaca JSON keeps the record (for Stanford's input template) and reports bad rows with file:line", () => {
    const path = write("alpaca.json", `[\n  {"instruction": "Add", "input": "1 2", "output": "3"},\n  {"instruction": "No output"},\n  {"instruction": "Hi", "output": "Hello"}\n]\n`);
    const dataset = readTrainingDataset(path);
    expect(dataset.format).toBe("alpaca");
    expect(dataset.examples).toHaveLength(2);
    expect(dataset.examples[0]).toMatchObject({ line: 2, alpaca: { instruction: "Add", input: "1 2", output: "3" } });
    expect(dataset.examples[0].messages).toEqual([{ role: "user", content: "Add\n\n1 2" }, { role: "assistant", content: "3" }]);
    expect(dataset.problems).toEqual([{ file: path, line: 3, message: expect.stringContaining("output") }]);
    expect(() => readTrainingDataset(path, { strict: true })).toThrow(/alpaca.json:3/);
  });

  it("ShareGPT multi-turn and OpenAI messages JSONL; a conversation without a reply is a problem", () => {
    const sharegpt = write("sg.jsonl", `${JSON.stringify({ id: "a", conversations: [{ from: "human", value: "Hi" }, { from: "gpt", value: "Yo" }, { from: "human", value: "Bye" }, { from: "gpt", value: "Ciao" }] })}\n{"conversations": [{"from": "alien", "value": "?"}]}\n`);
    const read = readTrainingDataset(sharegpt);
    expect(read.examples[0].messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
    expect(read.problems[0]).toMatchObject({ line: 2, message: expect.stringContaining('unknown role "alien"') });
    const openai = write("oa.jsonl", `${JSON.stringify({ messages: [{ role: "system", content: "S" }, { role: "user", content: "Q" }, { role: "assistant", content: "A" }] })}\n${JSON.stringify({ messages: [{ role: "user", content: "Q" }] })}\nnot json\n`);
    const messages = readTrainingDataset(openai);
    expect(messages.format).toBe("openai");
    expect(messages.examples[0].messages[0]).toEqual({ role: "system", content: "S" });
    expect(messages.problems.map((p) => p.line)).toEqual([2, 3]);
    expect(messages.problems[0].message).toContain("no assistant reply");
  });

  it("reads the shared Alpaca and ShareGPT sets", () => {
    expect(readTrainingDataset(sharedPath("data", "alpaca", "alpaca_data_cleaned_1000.json")).examples.length).toBe(1000);
    const sharegpt = readTrainingDataset(sharedPath("data", "sharegpt", "dummy_conversation.json"));
    expect(sharegpt.format).toBe("sharegpt");
    expect(sharegpt.examples.length + sharegpt.problems.length).toBe(500);
  });

  it("rejects files it cannot train on with a clear message", () => {
    expect(() => readTrainingDataset(join(dir, "missing.json"))).toThrow(/cannot read .*missing.json/);
    expect(() => readTrainingDataset(write("dpo.json", `[{"prompt": "a", "chosen": "b", "rejected": "c"}]`))).toThrow(/"dpo" rows cannot be trained on/);
    expect(() => readTrainingDataset(write("empty.json", `[]`))).toThrow(InvalidArgumentError);
  });
});

const example = (line: number, user: string, reply: string): TrainingExample => ({ file: "mem.json", line, messages: [{ role: "user", content: user }, { role: "assistant", content: reply }] });

describe("preparing rows", () => {
  const tokenizer = charTokenizer();
  const base = { maxLength: 512, truncation: "drop" as const, packing: false, validationFraction: 0, seed: 1 };

  it("one row per sample; T is the longest row's positions; batches pad with masked zeros", () => {
    const data = prepareTrainingData([example(1, "a", "bc"), example(2, "dd", "e")], alpacaFormat, tokenizer, base);
    expect(data.train).toHaveLength(2);
    const lengths = data.train.map((row) => row.tokens.length);
    expect(data.sequenceLength).toBe(Math.max(...lengths) - 1);
    const batch = allocateBatch(2, data.sequenceLength);
    const counted = fillBatch(batch, data.train);
    expect(counted).toBe(3 + 2); // "bc</s>" and "e</s>": targets that are reply tokens
    const row = data.train[0];
    expect(batch.targets[0]).toBe(row.tokens[1]);
    expect(batch.lossMask[lengths[0] - 2]).toBe(1); // the last target, EOS
    if (lengths[0] - 1 < data.sequenceLength) expect(batch.lossMask[lengths[0] - 1]).toBe(0);
  });

  it("drop policy reports over-long samples with file:line; truncate keeps the head", () => {
    const long = example(7, "x".repeat(200), "short");
    const dropped = prepareTrainingData([long, example(8, "q", "a")], alpacaFormat, tokenizer, { ...base, maxLength: 160 });
    expect(dropped.problems).toEqual([{ file: "mem.json", line: 7, message: expect.stringMatching(/longer than the maximum length 160/) }]);
    expect(dropped.train).toHaveLength(1);
    const truncated = prepareTrainingData([long, example(8, "q", "a")], alpacaFormat, tokenizer, { ...base, maxLength: 160, truncation: "truncate" });
    // the reply of the long sample is cut off entirely: reported, not trained with zero loss
    expect(truncated.problems[0].message).toMatch(/no assistant token is left/);
    const sample = example(9, "q", "a long answer that gets cut");
    const full = prepareTrainingData([sample], alpacaFormat, tokenizer, base).train[0];
    const tail = prepareTrainingData([sample], alpacaFormat, tokenizer, { ...base, maxLength: full.tokens.length - 5, truncation: "truncate" });
    expect(tail.stats.truncated).toBe(1);
    expect([...tail.train[0].tokens]).toEqual([...full.tokens.slice(0, -5)]);
    expect(tokenizer.decode([...tail.train[0].tokens.slice(-3)])).toBe("ets"); // "...gets cut</s>" minus its last 5 tokens " ", "c", "u", "t", "</s>"
  });

  it("packing makes full rows of maxLength+1 tokens (stride maxLength)", () => {
    const samples = Array.from({ length: 6 }, (_, i) => example(i + 1, `question ${i}`, `answer ${i}`));
    const unpacked = prepareTrainingData(samples, vicunaV11Format, tokenizer, base);
    const streamLength = unpacked.train.reduce((sum, row) => sum + row.tokens.length, 0);
    const data = prepareTrainingData(samples, vicunaV11Format, tokenizer, { ...base, packing: true, maxLength: 256 });
    expect(data.sequenceLength).toBe(256);
    expect(data.train).toHaveLength(Math.ceil((streamLength - 1) / 256));
    for (const row of data.train.slice(0, -1)) expect(row.tokens).toHaveLength(257);
    // rows overlap by one token: the last token of a row is the first input of the next
    expect(data.train[1].tokens[0]).toBe(data.train[0].tokens[256]);
  });

  it("validation split is seeded and disjoint", () => {
    const samples = Array.from({ length: 20 }, (_, i) => example(i + 1, `q${i}`, `a${i}`));
    const first = prepareTrainingData(samples, alpacaFormat, tokenizer, { ...base, validationFraction: 0.2, seed: 3 });
    const again = prepareTrainingData(samples, alpacaFormat, tokenizer, { ...base, validationFraction: 0.2, seed: 3 });
    const other = prepareTrainingData(samples, alpacaFormat, tokenizer, { ...base, validationFraction: 0.2, seed: 4 });
    expect(first.validation).toHaveLength(4);
    expect(first.train).toHaveLength(16);
    const key = (rows: typeof first.train) => rows.map((row) => tokenizer.decode([...row.tokens])).sort();
    expect(key(again.validation)).toEqual(key(first.validation));
    expect(key(other.validation)).not.toEqual(key(first.validation));
    expect(key(first.train).filter((text) => key(first.validation).includes(text))).toEqual([]);
    // rounded: 5% of 3 conversations holds out none, and never all of them
    expect(prepareTrainingData(samples.slice(0, 3), alpacaFormat, tokenizer, { ...base, validationFraction: 0.05 }).validation).toHaveLength(0);
    expect(prepareTrainingData(samples.slice(0, 2), alpacaFormat, tokenizer, { ...base, validationFraction: 0.5 }).train).toHaveLength(1);
  });

  it("a boundary-spanning token: left out by default, or trained on the per-segment tokens with --on-mismatch segments", () => {
    const merging = charTokenizer({ merges: [":I"] });
    const sample = example(5, "Who?", "I am.");
    expect(() => prepareTrainingData([sample], alpacaFormat, merging, base)).toThrow(/mem.json:5: segment-by-segment tokens differ/);
    const kept = prepareTrainingData([sample, example(6, "x", "y")], alpacaFormat, merging, { ...base, onMismatch: "segments" });
    expect(kept.stats.used).toBe(2);
    expect(kept.problems).toEqual([{ file: "mem.json", line: 5, message: expect.stringMatching(/differ .*; trained on the segment-by-segment tokens/) }]);
    const row = kept.train.find((r) => merging.decode([...r.tokens]).includes("I am."))!;
    // ":" and "I" stay two tokens, "I am.</s>" is exactly the trainable part
    const trainableText = merging.decode([...row.tokens].filter((_, i) => row.trainable[i]));
    expect(trainableText).toBe("I am.</s>");
    expect([...row.tokens]).not.toContain(50);
  });

  it("no usable sample is an error naming the first problem", () => {
    expect(() => prepareTrainingData([example(3, "hi", "</s> injected")], vicunaV11Format, tokenizer, base)).toThrow(/no usable training sample with prompt format "vicuna-v1.1"; first problem: mem.json:3: segment-by-segment/);
    expect(() => prepareTrainingData([example(1, "a", "b")], alpacaFormat, tokenizer, { ...base, maxLength: 1 })).toThrow(/max length/);
  });

  it("the row schedule is a pure function of (seed, index): a permutation per epoch", () => {
    const schedule = new RowSchedule(5, 9);
    const epoch0 = [0, 1, 2, 3, 4].map((k) => schedule.rowAt(k));
    const epoch1 = [5, 6, 7, 8, 9].map((k) => schedule.rowAt(k));
    expect([...epoch0].sort()).toEqual([0, 1, 2, 3, 4]);
    expect([...epoch1].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(new RowSchedule(5, 9).rowAt(7)).toBe(epoch1[2]);
  });
});
