import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NoUsableRowsError } from "../../src/datagen/formats/data-file-errors.js";
import { vicunaV11Format } from "../../src/prompts/index.js";
import { toPreferencePairs } from "../../src/server/arena/arena-exports.js";
import type { BattleTurn, VotedBattle } from "../../src/server/arena/arena-store.js";
import { dataProblemsJsonl, preparePreferenceData, readPreferencePairs, tokenizePreferencePairs, type PreferenceExample, type TokenizedPreferencePair, type TrainingRow } from "../../src/train/index.js";
import { sharedPath } from "../support/shared-data.js";
import { useStories260KVocabulary } from "./support/gguf-pieces.js";

const dir = mkdtempSync(join(tmpdir(), "camelid-preference-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const writeRows = (name: string, rows: unknown[]) => {
  const path = join(dir, name);
  writeFileSync(path, rows.map((row) => `${JSON.stringify(row)}\n`).join(""));
  return path;
};

function answer(text: string, version = 0): BattleTurn["answers"]["a"] {
  return { text, status: "done", finishReason: "stop", tokens: 3, version, versionCount: version + 1 };
}
function battle(id: string, winner: VotedBattle["winner"], turns: [string, string, string][], systemPrompt: string | null = null): VotedBattle {
  return {
    id,
    models: { a: "model-a", b: "model-b" },
    winner,
    client: "test",
    votedAt: 1_700_000_000_000,
    category: null,
    systemPrompt,
    turns: turns.map(([userMessage, a, b], turn) => ({ turn, userMessage, answers: { a: answer(a), b: answer(b) }, createdAt: 0 })),
    compared: turns.map((_, turn) => ({ turn, a: 0, b: 0 })),
  };
}

describe("preference rows in each layout, read into one PreferenceExample", () => {
  it("LLaMA-Factory's dpo_en_demo.json: 300 pairs, multi-turn prompts end with the user's turn", () => {
    const path = sharedPath("data", "llama-factory", "dpo_en_demo.json");
    const read = readPreferencePairs(path);
    expect(read.format).toBe("llama-factory");
    expect(read.problems).toEqual([]);
    expect(read.pairs).toHaveLength(300);
    const first = read.pairs[0];
    expect(first).toMatchObject({ file: path, line: 2, format: "llama-factory" });
    expect(first.prompt).toEqual([{ role: "user", content: "Hi! I'd like to create a new language game simulating the first person perspective of a character named Angela." }]);
    expect(first.chosen).toMatch(/^That sounds like a fun and engaging idea!/);
    const source = JSON.parse(readFileSync(path, "utf8")) as { conversations: { from: string; value: string }[]; chosen: { value: string }; rejected: { value: string } }[];
    const longest = source.reduce((best, row, i) => (row.conversations.length > source[best].conversations.length ? i : best), 0);
    const pair = read.pairs[longest];
    expect(pair.prompt.map((message) => message.content)).toEqual(source[longest].conversations.map((message) => message.value));
    expect(pair.prompt.map((message) => message.role)).toEqual(source[longest].conversations.map((message) => (message.from === "human" ? "user" : "assistant")));
    expect(pair.rejected).toBe(source[longest].rejected.value);
    // every row's line is where its object opens in the file
    const lines = readFileSync(path, "utf8").split("\n");
    for (const each of read.pairs.slice(0, 20)) expect(lines[each.line - 1].trim()).toBe("{");
  });

  it("trl: plain strings, message lists with a prompt, and the implicit prompt (shared head of chosen/rejected)", () => {
    const path = writeRows("trl.jsonl", [
      { prompt: "The sky is", chosen: " blue.", rejected: " green.", margin: 2 },
      {
        prompt: [{ role: "system", content: "Be brief." }, { role: "user", content: "Colour of the sky?" }],
        chosen: [{ role: "assistant", content: "Blue." }],
        rejected: [{ role: "assistant", content: "Green." }],
      },
      {
        chosen: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello." }, { role: "user", content: "Name?" }, { role: "assistant", content: "Camelid." }],
        rejected: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello." }, { role: "user", content: "Name?" }, { role: "assistant", content: "No." }],
      },
    ]);
    const read = readPreferencePairs(path);
    expect(read.format).toBe("trl");
    expect(read.problems).toEqual([]);
    const strip = ({ prompt, chosen, rejected, margin, line }: PreferenceExample) => ({ line, prompt, chosen, rejected, margin });
    expect(read.pairs.map(strip)).toEqual([
      { line: 1, prompt: [{ role: "user", content: "The sky is" }], chosen: " blue.", rejected: " green.", margin: 2 },
      { line: 2, prompt: [{ role: "system", content: "Be brief." }, { role: "user", content: "Colour of the sky?" }], chosen: "Blue.", rejected: "Green.", margin: undefined },
      {
        line: 3,
        prompt: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello." }, { role: "user", content: "Name?" }],
        chosen: "Camelid.",
        rejected: "No.",
        margin: undefined,
      },
    ]);
  });

  it("camelid's arena export (toPreferencePairs' rows): system, history with the winner's answers, decisive votes only", () => {
    const rows = toPreferencePairs([
      battle("b1", "model_b", [["Say hi", "hey", "Hello there!"]]),
      battle("b2", "tie", [["Tie?", "x", "y"]]),
      battle("b3", "model_a", [["Hi", "Hello.", "Yo."], ["Name?", "I am Camelid.", "dunno"]], "Be kind."),
    ]);
    const path = writeRows("arena.jsonl", rows);
    const read = readPreferencePairs(path);
    expect(read.format).toBe("arena");
    expect(read.pairs.map(({ line, prompt, chosen, rejected }) => ({ line, prompt, chosen, rejected }))).toEqual([
      { line: 1, prompt: [{ role: "user", content: "Say hi" }], chosen: "Hello there!", rejected: "hey" },
      {
        line: 2,
        prompt: [{ role: "system", content: "Be kind." }, { role: "user", content: "Hi" }, { role: "assistant", content: "Hello." }, { role: "user", content: "Name?" }],
        chosen: "I am Camelid.",
        rejected: "dunno",
      },
    ]);
  });
});

describe("bad preference rows: each a problem with file:line, never a crash", () => {
  it("empty, identical, missing field, wrong answer shape, prompt not ending with the user, bad JSON, invalid UTF-8", () => {
    const lines = [
      JSON.stringify({ prompt: "ok", chosen: "Yes.", rejected: "No." }),
      JSON.stringify({ prompt: "empty chosen", chosen: "  ", rejected: "No." }),
      JSON.stringify({ prompt: "empty rejected", chosen: "Yes.", rejected: "" }),
      JSON.stringify({ prompt: "same", chosen: "Same.", rejected: "Same." }),
      JSON.stringify({ prompt: "no rejected", chosen: "Yes." }),
      JSON.stringify({ prompt: "two answers", chosen: [{ role: "assistant", content: "a" }, { role: "assistant", content: "b" }], rejected: "No." }),
      JSON.stringify({ prompt: [{ role: "user", content: "q" }, { role: "assistant", content: "a" }], chosen: "Yes.", rejected: "No." }),
      '{"prompt": "broken", "chosen": "Yes",',
      JSON.stringify({ prompt: "bad bytes here", chosen: "Yes.", rejected: "No." }),
      JSON.stringify({ prompt: "last ok", chosen: "Fine.", rejected: "Bad." }),
    ];
    const path = join(dir, "bad.jsonl");
    const text = Buffer.from(`${lines.join("\n")}\n`, "utf8");
    const badAt = text.indexOf("bad bytes");
    text[badAt + 3] = 0xff;
    writeFileSync(path, text);
    const read = readPreferencePairs(path);
    expect(read.pairs.map((pair) => pair.line)).toEqual([1, 10]);
    const byLine = Object.fromEntries(read.problems.map((problem) => [problem.line, problem.message]));
    expect(read.problems.every((problem) => problem.file === path)).toBe(true);
    expect(Object.keys(byLine).map(Number)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(byLine[2]).toBe("the chosen answer is empty");
    expect(byLine[3]).toBe("the rejected answer is empty");
    expect(byLine[4]).toBe("the chosen and rejected answers are identical");
    expect(byLine[5]).toBe("rejected: missing field");
    expect(byLine[6]).toMatch(/^chosen: expected one assistant message, got assistant, assistant/);
    expect(byLine[7]).toMatch(/the prompt must end with a user turn \(it ends with an assistant turn\)/);
    expect(byLine[8]).toMatch(/^not valid JSON/);
    expect(byLine[9]).toMatch(new RegExp(`^invalid UTF-8 at byte ${badAt + 3} \\(line 9\\)`));
  });

  it("LLaMA-Factory rows: a missing rejected and an empty chosen are named by line", () => {
    const path = join(dir, "lf.json");
    writeFileSync(
      path,
      `[\n${[
        { conversations: [{ from: "human", value: "Hi" }], chosen: { from: "gpt", value: "Hello." }, rejected: { from: "gpt", value: "Go away." } },
        { conversations: [{ from: "human", value: "Hi" }], chosen: { from: "gpt", value: "Hello." } },
        { conversations: [{ from: "human", value: "Hi" }], chosen: { from: "gpt", value: "" }, rejected: { from: "gpt", value: "x" } },
        { conversations: [{ from: "human", value: "Hi" }], chosen: { from: "human", value: "Hello." }, rejected: { from: "gpt", value: "x" } },
        { conversations: [{ from: "human", value: "Hi" }, { from: "gpt", value: "Hello." }], chosen: { from: "gpt", value: "a" }, rejected: { from: "gpt", value: "b" } },
      ]
        .map((row) => JSON.stringify(row))
        .join(",\n")}\n]\n`,
    );
    const read = readPreferencePairs(path);
    expect(read.pairs.map((pair) => pair.line)).toEqual([2]);
    expect(read.problems.map(({ line, message }) => [line, message.split(":")[0]])).toEqual([
      [3, "rejected"],
      [4, "the chosen answer is empty"],
      [5, "chosen.from"],
      [6, "the prompt must end with a user turn (it ends with an assistant turn)"],
    ]);
  });

  it("LLaMA-Factory's Alpaca-style ranking rows: instruction and input joined with one newline, history and system kept", () => {
    const path = writeRows("lf-alpaca.jsonl", [
      { instruction: "Translate", input: "chat", chosen: "cat", rejected: "dog" },
      { instruction: "And now?", input: "", chosen: "Yes.", rejected: "No.", system: "Be brief.", history: [["Hi", "Hello."]] },
    ]);
    const read = readPreferencePairs(path);
    expect(read.format).toBe("llama-factory");
    expect(read.pairs.map((pair) => pair.prompt)).toEqual([
      [{ role: "user", content: "Translate\nchat" }],
      [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }, { role: "assistant", content: "Hello." }, { role: "user", content: "And now?" }],
    ]);
  });

  it("a file with no usable pair is a NoUsableRowsError naming the first problem", () => {
    const path = writeRows("none.jsonl", [{ prompt: "a", chosen: "x", rejected: "x" }, { prompt: "b", chosen: "", rejected: "y" }]);
    expect(() => readPreferencePairs(path)).toThrow(NoUsableRowsError);
    expect(() => readPreferencePairs(path)).toThrow(/none of its 2 preference row\(s\) is usable; first: .*none\.jsonl:1: the chosen and rejected answers are identical/);
    const notPreferences = writeRows("sft.jsonl", [{ instruction: "a", output: "b" }]);
    expect(() => readPreferencePairs(notPreferences)).toThrow(NoUsableRowsError);
  });
});

describe("tokenized pairs with stories260K's tokenizer and the Vicuna v1.1 format", () => {
  const stories = useStories260KVocabulary();
  /** The text of each run of trainable tokens. */
  const trainableRuns = (row: TrainingRow) => {
    const runs: number[][] = [];
    row.tokens.forEach((id, i) => {
      if (row.trainable[i] && !row.trainable[i - 1]) runs.push([]);
      if (row.trainable[i]) runs.at(-1)!.push(id);
    });
    return runs.map((ids) => stories.decode(ids));
  };
  /** The pair's side as the whole rendered text tokenizes, BOS in front: what the segment tokens must equal. */
  const wholeTokens = (pair: PreferenceExample, answer: string) => [1, ...stories.tokenizer.tokenizeWhole(vicunaV11Format.render([...pair.prompt, { role: "assistant", content: answer }], { addGenerationPrompt: false }).text)];

  it("the masks cover exactly each answer and its </s>; both sequences share the prompt's tokens", () => {
    const path = writeRows("masks.jsonl", [
      { prompt: [{ role: "system", content: "Be kind." }, { role: "user", content: "Hi" }, { role: "assistant", content: "Hello." }, { role: "user", content: "Name?" }], chosen: [{ role: "assistant", content: "I am Camelid." }], rejected: [{ role: "assistant", content: "No idea." }] },
      { prompt: "Tell me a story.", chosen: "Once upon a time there was a cat.", rejected: "No." },
    ]);
    const { pairs } = readPreferencePairs(path);
    const prepared = tokenizePreferencePairs(pairs, vicunaV11Format, stories.tokenizer, { maxLength: 512 });
    expect(prepared.problems).toEqual([]);
    expect(prepared.stats).toEqual({ pairs: 2, used: 2, truncated: 0 });
    for (const { pair, chosen, rejected, promptLength } of prepared.pairs) {
      // one trainable run per side (the earlier assistant turn is context), exactly the answer and its EOS
      expect(trainableRuns(chosen)).toEqual([` ${pair.chosen}</s>`]);
      expect(trainableRuns(rejected)).toEqual([` ${pair.rejected}</s>`]);
      expect([...chosen.trainable.subarray(promptLength)].every((flag) => flag === 1)).toBe(true);
      expect([...chosen.trainable.subarray(0, promptLength)].every((flag) => flag === 0)).toBe(true);
      expect([...chosen.tokens.subarray(0, promptLength)]).toEqual([...rejected.tokens.subarray(0, promptLength)]);
      expect([...chosen.tokens]).toEqual(wholeTokens(pair, pair.chosen));
      expect([...rejected.tokens]).toEqual(wholeTokens(pair, pair.rejected));
    }
  });

  it("LLaMA-Factory's demo pairs tokenize (segments equal the whole text), masks on the final answers only", () => {
    const all = readPreferencePairs(sharedPath("data", "llama-factory", "dpo_en_demo.json")).pairs;
    // the longest conversations (three earlier replies or more, all to be masked) and every fifth pair, to stay fast
    const pairs = all.filter((pair, i) => pair.prompt.length >= 7 || i % 5 === 0);
    expect(pairs.filter((pair) => pair.prompt.length >= 7).length).toBeGreaterThan(10);
    const prepared = tokenizePreferencePairs(pairs, vicunaV11Format, stories.tokenizer, { maxLength: 16384 });
    expect(prepared.problems).toEqual([]);
    expect(prepared.stats).toEqual({ pairs: pairs.length, used: pairs.length, truncated: 0 });
    for (const { pair, chosen, rejected } of prepared.pairs) {
      expect(trainableRuns(chosen)).toEqual([` ${pair.chosen}</s>`]);
      expect(trainableRuns(rejected)).toEqual([` ${pair.rejected}</s>`]);
    }
  });

  it("a pair longer than --max-length is reported (drop), or cut when truncation says so; data-problems.jsonl names it", () => {
    const path = writeRows("long.jsonl", [
      { prompt: "Hi", chosen: "Hello.", rejected: "Go." },
      { prompt: "Hi", chosen: "Once upon a time there was a cat who liked to sleep in the sun all day.", rejected: "No." },
    ]);
    const { pairs } = readPreferencePairs(path);
    const lengths = tokenizePreferencePairs(pairs, vicunaV11Format, stories.tokenizer, { maxLength: 4096 }).pairs.map(({ chosen, rejected }) => Math.max(chosen.tokens.length, rejected.tokens.length));
    expect(lengths[1]).toBeGreaterThan(lengths[0]);
    const maxLength = lengths[0];
    const dropped = tokenizePreferencePairs(pairs, vicunaV11Format, stories.tokenizer, { maxLength });
    expect(dropped.pairs.map(({ pair }) => pair.line)).toEqual([1]);
    expect(dropped.problems).toHaveLength(1);
    expect(dropped.problems[0]).toMatchObject({ file: path, line: 2 });
    expect(dropped.problems[0].message).toBe(`${lengths[1]} tokens is longer than the maximum length ${maxLength} (truncation policy "drop")`);
    const jsonl = join(dir, "data-problems.jsonl");
    writeFileSync(jsonl, dataProblemsJsonl(dropped.problems));
    expect(readFileSync(jsonl, "utf8").trim().split("\n").map((line) => JSON.parse(line))).toEqual(dropped.problems);

    const cut = tokenizePreferencePairs(pairs, vicunaV11Format, stories.tokenizer, { maxLength, truncation: "truncate" });
    expect(cut.problems).toEqual([]);
    expect(cut.stats.truncated).toBe(1);
    const long = cut.pairs[1];
    expect(long.chosen.tokens.length).toBe(maxLength);
    expect(long.chosen.trainable.subarray(long.promptLength).every((flag) => flag === 1)).toBe(true);
  });

  it("preparePreferenceData: read, tokenize and split in one call; problems of both stages in line order for data-problems.jsonl", () => {
    const long = "Once upon a time there was a cat who liked to sleep in the sun all day long, every day.";
    const path = writeRows("mixed.jsonl", [
      { prompt: "Hi", chosen: "Hello.", rejected: "Go." },
      { prompt: "Hi", chosen: long, rejected: "No." },
      { prompt: "Same", chosen: "x", rejected: "x" },
      { prompt: "Name?", chosen: "Camelid.", rejected: "Bob." },
      { prompt: "Colour?", chosen: "Blue.", rejected: "Red." },
      { prompt: "Size?", chosen: "Big.", rejected: "Small." },
    ]);
    const options = { maxLength: 140, validationFraction: 0.25, seed: 7 };
    const prepared = preparePreferenceData(path, vicunaV11Format, stories.tokenizer, options);
    expect(prepared.format).toBe("trl");
    expect(prepared.problems.map(({ line, message }) => [line, message.replace(/^\d+ tokens/, "N tokens")])).toEqual([
      [2, 'N tokens is longer than the maximum length 140 (truncation policy "drop")'],
      [3, "the chosen and rejected answers are identical"],
    ]);
    expect(prepared.stats).toEqual({ rows: 6, used: 4, truncated: 0 });
    expect(prepared.validation).toHaveLength(1);
    const lines = (list: TokenizedPreferencePair[]) => list.map(({ pair }) => pair.line);
    expect([...lines(prepared.train), ...lines(prepared.validation)].sort()).toEqual([1, 4, 5, 6]);
    expect(lines(preparePreferenceData(path, vicunaV11Format, stories.tokenizer, options).validation)).toEqual(lines(prepared.validation));
    expect(() => preparePreferenceData(path, vicunaV11Format, stories.tokenizer, { ...options, maxLength: 8 })).toThrow(NoUsableRowsError);
  });

  it("zero usable pairs after tokenization is a NoUsableRowsError", () => {
    const { pairs } = readPreferencePairs(writeRows("all-long.jsonl", [{ prompt: "A question that is long enough", chosen: "An answer.", rejected: "Another." }]));
    expect(() => tokenizePreferencePairs(pairs, vicunaV11Format, stories.tokenizer, { maxLength: 8 })).toThrow(NoUsableRowsError);
    expect(() => tokenizePreferencePairs(pairs, vicunaV11Format, stories.tokenizer, { maxLength: 8 })).toThrow(/all-long\.jsonl:1: \d+ tokens is longer than the maximum length 8/);
  });
});
