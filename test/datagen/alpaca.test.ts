import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAlpacaCompletion } from "../../src/datagen/alpaca/parse.js";
import { withoutRepeatedLead } from "../../src/datagen/self-instruct/alpaca-generation.js";
import { encodeAlpacaPrompt } from "../../src/datagen/alpaca/prompt.js";
import { loadSeedTasks, parseSeedTasks } from "../../src/datagen/alpaca/seed-tasks.js";
import { InstructionFilter, topIndices } from "../../src/datagen/filter/instruction-filter.js";
import { InstructionRuleChecker } from "../../src/datagen/filter/rules.js";
import { numpyMean } from "../../src/text/python-compat.js";
import { sharedPath } from "../support/shared-data.js";

describe("Alpaca prompt", () => {
  it("formats three seed tasks exactly like encode_prompt", async () => {
    const template = readFileSync(sharedPath("data", "alpaca", "prompt.txt"), "utf8");
    const seeds = await loadSeedTasks(sharedPath("data", "alpaca", "seed_tasks.jsonl"));
    expect(seeds).toHaveLength(175);
    const prompt = encodeAlpacaPrompt(template, [
      { instruction: "  Name  three\ncolors:", input: "", output: "Red, green, blue." },
      { instruction: "Fix the grammar.", input: "He go home.", output: "He goes home." },
      seeds[0],
    ]);
    expect(prompt.startsWith(`${template}\n###\n1. Instruction: Name three colors\n1. Input:\n<noinput>\n1. Output:\nRed, green, blue.\n###\n2. Instruction: Fix the grammar.\n2. Input:\nHe go home.\n`)).toBe(true);
    expect(prompt.endsWith(`3. Output:\n${seeds[0].output}\n###\n4. Instruction:`)).toBe(true);
  });

  it("reports a malformed seed file with its line number", () => {
    expect(() => parseSeedTasks('{"instruction":"a","instances":[{"input":"","output":"b"}]}\n{"instruction": 3}\n', "seeds.jsonl")).toThrow(/seeds\.jsonl:2: instruction/);
    expect(() => parseSeedTasks("not json\n", "seeds.jsonl")).toThrow(/seeds\.jsonl:1: not valid JSON/);
  });
});

describe("Alpaca completion parsing", () => {
  const completion = [
    " Give three tips for saving money.\n4. Input:\n<noinput>\n4. Output:\n1. Cook at home. 2. Track spending. 3. Avoid impulse buys.\n",
    "###\n5. Instruction: Translate the sentence into French.\n5. Input:\nI like apples.\n5. Output:\nJ'aime les pommes.\n",
    "###\n6. Instruction: This piece forgot its input field.\n6. Output:\nOops.\n",
    "###\n7. Instruction: Summarize the paragraph in one sentence.\n7. Input:\nThe meeting was long",
  ].join("");

  it("splits on ###, parses numbered fields, maps <noinput> to empty input, drops the piece cut off by length", () => {
    const pieces = parseAlpacaCompletion(completion, 3, "length");
    expect(pieces.map((p) => p.problem)).toEqual([undefined, undefined, "malformed", "truncated"]);
    expect(pieces[0].example).toEqual({ instruction: "Give three tips for saving money.", input: "", output: "1. Cook at home. 2. Track spending. 3. Avoid impulse buys." });
    expect(pieces[1].example).toEqual({ instruction: "Translate the sentence into French.", input: "I like apples.", output: "J'aime les pommes." });
  });

  it("keeps the last piece when the completion stopped normally (it is then parsed, and here malformed)", () => {
    const pieces = parseAlpacaCompletion(completion, 3, "stop");
    expect(pieces[3].problem).toBe("malformed");
  });

  it("a chat teacher's reply that repeats '4. Instruction:' (after a preamble) parses like a completion", () => {
    const chat = "Sure! Here are more tasks:\n\n4. Instruction: Give three tips for saving money.\n4. Input:\n<noinput>\n4. Output:\nCook at home.\n###\n5. Instruction: Name a color.\n5. Input:\n<noinput>\n5. Output:\nRed.";
    const pieces = parseAlpacaCompletion(withoutRepeatedLead(chat, 3), 3, "stop");
    expect(pieces.map((p) => p.example?.instruction)).toEqual(["Give three tips for saving money.", "Name a color."]);
    expect(withoutRepeatedLead(" Already a continuation.\n4. Input:\nx", 3)).toBe(" Already a continuation.\n4. Input:\nx");
  });

  it("finds nothing in text that is not a numbered list (a tiny model's story)", () => {
    const pieces = parseAlpacaCompletion(" Once upon a time, there was a little girl named Lily.", 3, "length");
    expect(pieces.every((p) => p.problem !== undefined)).toBe(true);
  });
});

describe("Alpaca rule filters, in Alpaca's order", () => {
  const checker = new InstructionRuleChecker();
  const reasonOf = (text: string) => checker.check(text)?.reason;

  it("rejects each rule with its reason and keeps a good instruction", () => {
    expect(reasonOf("Say hi now")).toBe("too-short"); // 3 words: ≤ 3
    expect(reasonOf("Say hi now please")).toBeUndefined();
    expect(reasonOf(Array.from({ length: 151 }, () => "word").join(" "))).toBe("too-long");
    expect(reasonOf(Array.from({ length: 150 }, () => "word").join(" "))).toBeUndefined();
    expect(reasonOf("Describe the IMAGE in detail.")).toBe("blacklisted-word");
    expect(reasonOf("Tell me how to go to the station.")).toBe("blacklisted-word");
    expect(reasonOf("Explain what an imaginary number is.")).toBeUndefined(); // whole words only
    expect(reasonOf("Summarize the profile of this person.")).toBeUndefined(); // "file" inside a word
    expect(reasonOf("Write a program that sorts numbers.")).toBe("forbidden-prefix");
    expect(reasonOf("write a program that sorts numbers.")).toBeUndefined(); // case-sensitive, like startswith
    expect(reasonOf('"Quote" the following sentence back.')).toBe("starts-with-punctuation");
    expect(reasonOf("¿Cómo estás hoy, amigo mío?")).toBe("starts-with-non-ascii");
    // Order: a short instruction with a blacklisted word is "too-short", as Alpaca checks length first.
    expect(reasonOf("Draw a cat")).toBe("too-short");
    expect(checker.check("Plot the points given below.")?.detail).toBe('contains "plot"');
  });
});

describe("instruction filter (rules + ROUGE-L against seeds and kept rows)", () => {
  it("rejects near-duplicates of seeds and of rows kept earlier in the same run, and annotates kept rows", () => {
    const filter = new InstructionFilter(["Give three tips for staying healthy.", "What are the three primary colors?"]);
    const first = filter.consider("Give three tips for staying healthy and happy.");
    expect(first).toMatchObject({ kept: false, rejection: { reason: "too-similar" } });
    const kept = filter.consider("Explain how photosynthesis works in plants.");
    expect(kept.kept).toBe(true);
    if (!kept.kept) throw new Error("unreachable");
    expect(Object.keys(kept.details!.most_similar_instructions)).toHaveLength(2);
    expect(kept.details!.avg_similarity_score).toBeGreaterThanOrEqual(0);
    const again = filter.consider("Explain how photosynthesis works in green plants.");
    expect(again).toMatchObject({ kept: false, rejection: { reason: "too-similar" } });
    if (again.kept) throw new Error("unreachable");
    expect(again.rejection.detail).toContain("Explain how photosynthesis works in plants.");
    expect(filter.poolSize).toBe(3);
  });

  it("gives the same decisions with the exhaustive reference pool on real data", () => {
    const records = JSON.parse(readFileSync(sharedPath("data", "alpaca", "alpaca_data_cleaned_1000.json"), "utf8")) as { instruction: string }[];
    const seeds = records.slice(0, 100).map((r) => r.instruction);
    const candidates = records.slice(100, 400).map((r) => r.instruction).concat(seeds.slice(0, 20));
    const fast = new InstructionFilter(seeds, { details: "none" });
    const reference = new InstructionFilter(seeds, { pool: "exhaustive", details: "none" });
    const fastDecisions = candidates.map((c) => { const d = fast.consider(c); return d.kept ? "kept" : d.rejection.reason; });
    const referenceDecisions = candidates.map((c) => { const d = reference.consider(c); return d.kept ? "kept" : d.rejection.reason; });
    expect(fastDecisions).toEqual(referenceDecisions);
    expect(fastDecisions.filter((d) => d === "too-similar").length).toBeGreaterThanOrEqual(20);
  });

  it("annotates kept rows with the same most-similar instructions and average as the reference scan", () => {
    const records = JSON.parse(readFileSync(sharedPath("data", "alpaca", "alpaca_data_first1727.json"), "utf8")) as { instruction: string }[];
    const seeds = records.slice(0, 150).map((r) => r.instruction);
    const fast = new InstructionFilter(seeds);
    const reference = new InstructionFilter(seeds, { pool: "exhaustive" });
    for (const record of records.slice(150, 230)) expect(fast.consider(record.instruction)).toEqual(reference.consider(record.instruction));
  });
});

describe("most similar instructions", () => {
  it("topIndices equals a full descending sort with later entries first among ties", () => {
    let seed = 5;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
    for (let trial = 0; trial < 200; trial++) {
      const scores = Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 6) / 5);
      const k = Math.floor(random() * 12);
      const sorted = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || b - a).slice(0, k);
      expect(topIndices(scores, k)).toEqual(sorted);
    }
  });
});

describe("numpy mean", () => {
  it("uses pairwise summation (differs from a naive left-to-right sum where numpy's does)", () => {
    expect(numpyMean([1, 2, 3, 4])).toBe(2.5);
    // 1e16 followed by many 1s: a naive sum loses every 1; pairwise (8 accumulators) keeps some.
    const values = [1e16, ...Array.from({ length: 15 }, () => 1)];
    const naive = values.reduce((a, b) => a + b, 0) / values.length;
    // Accumulator 0 = 1e16 + 1 (lost); accumulators 1..7 each = 2; then the tail: res = ((1e16+2)+(2+2))+((2+2)+(2+2)) = 1e16+14.
    expect(numpyMean(values)).toBe((1e16 + 14) / 16);
    expect(numpyMean(values)).not.toBe(naive);
  });
});
