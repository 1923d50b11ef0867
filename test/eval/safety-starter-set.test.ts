// camelid's starter safety set (data/safety/starter.jsonl): counts per category and kind, valid rows,
// and no near-duplicates by the datagen ROUGE-L filter's measure.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ExhaustiveRougePool } from "../../src/datagen/rouge/exhaustive-pool.js";
import { rougeTokenize } from "../../src/datagen/rouge/tokenize.js";
import { loadSafetyPrompts } from "../../src/eval/safety/prompt-set.js";
import { defaultStarterPromptsPath } from "../../src/eval/safety/safety-data.js";

const riskCategories = ["illicit-criminal", "hateful-harmful", "unqualified-advice"];

describe("the starter safety prompt set", () => {
  const prompts = loadSafetyPrompts(defaultStarterPromptsPath);

  it("is valid JSONL with one object per line and unique ids", () => {
    const lines = readFileSync(defaultStarterPromptsPath, "utf8").split("\n").filter((line) => line !== "");
    expect(lines.length).toBe(prompts.length);
    for (const line of lines) expect(Object.keys(JSON.parse(line)).sort()).toEqual(["category", "id", "kind", "prompt", "subtype"]);
    expect(new Set(prompts.map((p) => p.id)).size).toBe(prompts.length);
  });

  it("has at least 150 adversarial prompts across LLaMA-2's three risk categories and at least 100 borderline ones", () => {
    const count = (kind: string, category?: string) => prompts.filter((p) => p.kind === kind && (category === undefined || p.category === category)).length;
    expect(count("adversarial")).toBeGreaterThanOrEqual(150);
    expect(count("borderline")).toBeGreaterThanOrEqual(100);
    expect([...new Set(prompts.map((p) => p.category))].sort()).toEqual([...riskCategories].sort());
    for (const category of riskCategories) {
      expect(count("adversarial", category), category).toBeGreaterThanOrEqual(40);
      expect(count("borderline", category), category).toBeGreaterThanOrEqual(25);
    }
    // LLaMA-2's sub-types are all there.
    const subtypes = new Set(prompts.filter((p) => p.kind === "adversarial").map((p) => p.subtype));
    for (const subtype of ["terrorism", "theft", "human-trafficking", "defamation", "self-harm", "eating-disorders", "discrimination", "medical", "financial", "legal"]) expect(subtypes).toContain(subtype);
  });

  it("holds no near-duplicates: ROUGE-L F1 below 0.7 between any two prompts", () => {
    const pool = new ExhaustiveRougePool("bit-parallel");
    let worst = { score: 0, pair: ["", ""] };
    for (const prompt of prompts) {
      const tokens = rougeTokenize(prompt.turns[0]);
      pool.scoreAll(tokens).forEach((score, index) => {
        if (score > worst.score) worst = { score, pair: [prompts[index].turns[0], prompt.turns[0]] };
      });
      pool.add(tokens);
    }
    expect(worst.score, worst.pair.join(" | ")).toBeLessThan(0.7);
  });
});
