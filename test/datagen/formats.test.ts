import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanConversations, scriptShare, splitByTokens } from "../../src/datagen/formats/clean.js";
import { encodeDataset, readDataset, writeDataset } from "../../src/datagen/formats/dataset-io.js";
import { htmlToMarkdown } from "../../src/datagen/formats/html-to-markdown.js";
import type { Conversation } from "../../src/datagen/formats/records.js";
import { conversationGroup, splitRecords } from "../../src/datagen/formats/split.js";
import { computeStats, distribution, formatStats } from "../../src/datagen/formats/stats.js";
import { sharedPath } from "../support/shared-data.js";

const directory = mkdtempSync(join(tmpdir(), "camelid-formats-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
};

describe("reading datasets", () => {
  it("detects and reads the published sets: Alpaca, ShareGPT, LLaMA-Factory DPO", () => {
    const alpaca = readDataset(sharedPath("data", "alpaca", "alpaca_data_first1727.json"));
    expect(alpaca).toMatchObject({ kind: "conversations", format: "alpaca" });
    expect(alpaca.records).toHaveLength(1727);
    expect(alpaca.problems).toEqual([]);
    const sharegpt = readDataset(sharedPath("data", "sharegpt", "dummy_conversation.json"));
    expect(sharegpt.format).toBe("sharegpt");
    expect(sharegpt.records).toHaveLength(500);
    expect(sharegpt.records[0]).toMatchObject({ id: "identity_0", turns: [{ role: "user", content: "Who are you?" }, { role: "assistant" }, { role: "user" }, { role: "assistant", content: "You too!" }] });
    const dpo = readDataset(sharedPath("data", "llama-factory", "dpo_en_demo.json"));
    expect(dpo.kind).toBe("preferences");
    expect(dpo.records.length).toBeGreaterThan(100);
  });

  it("reports malformed rows with file and line, skips them by default and fails with strict", () => {
    const path = write("bad.json", `[\n  {"instruction": "a", "output": "b"},\n  {"instruction": 5, "output": "b"},\n  {"instruction": "c", "output": "d", "input": "e"},\n  {broken\n]\n`);
    const dataset = readDataset(path, { format: "alpaca" });
    expect(dataset.records).toHaveLength(2);
    expect(dataset.problems.map((p) => `${p.file}:${p.line}`)).toEqual([`${path}:3`, `${path}:5`]);
    expect(dataset.problems[0].message).toMatch(/instruction/);
    expect(() => readDataset(path, { format: "alpaca", strict: true })).toThrow(/2 malformed rows; first: .*bad\.json:3/);
    const jsonl = write("bad.jsonl", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]}\nnot json\n{"messages":[{"role":"narrator","content":"x"}]}\n`);
    expect(readDataset(jsonl).problems.map((p) => [p.line, p.message.slice(0, 20)])).toEqual([[2, "not valid JSON (Unex"], [3, "messages.0.role: uns"]]);
  });
});

describe("converting", () => {
  it("round-trips ShareGPT through OpenAI messages unchanged, and Alpaca through ShareGPT", () => {
    const sharegpt = readDataset(sharedPath("data", "sharegpt", "dummy_conversation.json"));
    const openaiPath = join(directory, "messages.jsonl");
    expect(writeDataset(openaiPath, sharegpt, "openai").written).toBe(500);
    const back = readDataset(openaiPath);
    expect(back.format).toBe("openai");
    expect(back.records.map((r) => r.turns)).toEqual(sharegpt.records.map((r) => r.turns));

    const alpacaPath = write("alpaca.json", JSON.stringify([{ instruction: "Add the numbers.", input: "2 and 3", output: "5" }, { instruction: "Say hi.", input: "", output: "Hi!", category: "greeting" }]));
    const alpaca = readDataset(alpacaPath);
    const { rows } = encodeDataset(alpaca, "sharegpt");
    expect(rows[0]).toEqual({ conversations: [{ from: "human", value: "Add the numbers.\n\n2 and 3" }, { from: "gpt", value: "5" }] });
    expect(rows[1]).toMatchObject({ category: "greeting" });
    const dolly = encodeDataset(alpaca, "dolly").rows;
    expect(dolly[1]).toEqual({ instruction: "Say hi.", context: "", response: "Hi!", category: "greeting" });
  });

  it("keeps multi-turn conversations as Alpaca history, skips what a format cannot hold, and refuses conversations → DPO", () => {
    const sharegpt = readDataset(sharedPath("data", "sharegpt", "dummy_conversation.json"));
    const alpaca = encodeDataset(sharegpt, "alpaca").rows[0] as { instruction: string; output: string; history: string[][] };
    expect(alpaca).toMatchObject({ instruction: "Have a nice day!", output: "You too!", history: [["Who are you?", expect.stringContaining("Vicuna")]] });
    const dolly = encodeDataset(sharegpt, "dolly");
    expect(dolly.skipped[0].message).toMatch(/several turns/);
    expect(() => encodeDataset(sharegpt, "dpo")).toThrow(/cannot become DPO pairs/);
    const dpo = readDataset(sharedPath("data", "llama-factory", "dpo_en_demo.json"));
    const sft = encodeDataset(dpo, "sharegpt").rows[0] as { conversations: { from: string; value: string }[] };
    expect(sft.conversations.at(-1)).toEqual({ from: "gpt", value: (dpo.records[0] as { chosen: string }).chosen });
    const flat = readDataset(write("flat.jsonl", `{"prompt":"Q?","chosen":"good","rejected":"bad"}\n`));
    expect(encodeDataset(flat, "dpo").rows[0]).toEqual({ conversations: [{ from: "human", value: "Q?" }], chosen: { from: "gpt", value: "good" }, rejected: { from: "gpt", value: "bad" } });
  });
});

describe("FastChat-style cleaning", () => {
  const conversation = (turns: [string, string][], id?: string): Conversation => ({ id, turns: turns.map(([role, content]) => ({ role: role as "user" | "assistant", content })) });

  it("converts ChatGPT HTML to Markdown as FastChat does, code blocks with their language included", () => {
    const html = '<div class="markdown prose"><p>Use <strong>map</strong> and <code>filter</code>:</p><pre><div>python Copy code</div><code class="language-python">xs = [x for x in ys if x &gt; 0]\n</code></pre><ol><li>first</li><li>second</li></ol><p>See <a href="https://x.org">docs</a>.</p></div>';
    // markdownify: "Use **map** and `filter`:\n\n" + "\n```\npython Copy codexs = …\n\n```\n" + "1. first\n2. second\n" + "\n" + "See [docs](https://x.org).\n\n";
    // FastChat's reformat_code keeps the header's space ("python "), and "\n\n\n" → "\n" joins the paragraph to the fence.
    expect(htmlToMarkdown(html)).toBe("Use **map** and `filter`:\n```python \nxs = [x for x in ys if x > 0]\n```\n1. first\n2. second\n\nSee [docs](https://x.org).");
  });

  it("drops empty, wrong-role, non-alternating, empty-message and duplicate conversations, each counted", async () => {
    const records = [
      conversation([["user", "hi"], ["assistant", "<p>hello <em>there</em></p>"]], "a"),
      conversation([["assistant", "I start"], ["user", "q"], ["assistant", "a"]], "b"), // leading assistant dropped
      conversation([], "c"),
      conversation([["assistant", "only me"]], "d"),
      conversation([["user", "q"], ["user", "q2"], ["assistant", "a"]], "e"),
      conversation([["user", "q"], ["assistant", "  "]], "f"),
      conversation([["user", "hi"], ["assistant", "<p>hello <em>there</em></p>"]], "g"), // duplicate of a
      conversation([["user", "q"], ["assistant", "a"], ["user", "dangling"]], "h"), // trailing user dropped → duplicate of b
    ];
    const { records: kept, report } = await cleanConversations(records);
    expect(kept.map((r) => r.id)).toEqual(["a", "b"]);
    expect(kept[0].turns[1].content).toBe("hello *there*");
    expect(report).toMatchObject({ input: 8, output: 2, converted: 2, dropped: { empty: 1, "wrong-role": 1, "not-alternating": 1, "empty-message": 1, duplicate: 2 } });
  });

  it("splits by a token budget at turn pairs, filters by script and removes near-duplicates", async () => {
    const long = conversation([["user", "a ".repeat(30)], ["assistant", "b ".repeat(30)], ["user", "c ".repeat(30)], ["assistant", "d ".repeat(30)], ["user", "e"], ["assistant", "f"]], "long");
    const words = (text: string) => text.split(/\s+/).filter(Boolean).length;
    const pieces = await splitByTokens(long, 70, words, 0);
    expect(pieces.map((p) => [p.id, p.turns.length])).toEqual([["long_part0", 2], ["long_part1", 4]]);
    expect(conversationGroup("long_part1", 0)).toBe("long");
    expect(conversationGroup("identity_3", 0)).toBe("identity_3");
    expect(scriptShare([{ role: "user", content: "你好 world" }], "han")).toBeCloseTo(2 / 7, 10);
    const { records: kept, report } = await cleanConversations(
      [
        conversation([["user", "Explain how vaccines train the immune system."], ["assistant", "They show it a harmless piece of the germ."]], "1"),
        conversation([["user", "Explain how vaccines train the immune system!"], ["assistant", "They show it a harmless piece of the germ"]], "2"),
        conversation([["user", "请解释疫苗"], ["assistant", "疫苗训练免疫系统"]], "3"),
      ],
      { nearDuplicateThreshold: 0.9, script: "latin" },
    );
    expect(kept.map((r) => r.id)).toEqual(["1"]);
    expect(report.dropped).toMatchObject({ "near-duplicate": 1, language: 1 });
  });
});

describe("stats and split", () => {
  it("computes counts, nearest-rank percentiles and a histogram", async () => {
    expect(distribution([5, 1, 3, 2, 4])).toEqual({ count: 5, mean: 3, min: 1, p50: 3, p90: 5, p99: 5, max: 5 });
    const sharegpt = readDataset(sharedPath("data", "sharegpt", "dummy_conversation.json"));
    const stats = await computeStats(sharegpt, (text) => text.split(/\s+/).filter(Boolean).length, "words");
    expect(stats.records).toBe(500);
    expect(stats.turns).toBe(sharegpt.records.reduce((sum, r) => sum + r.turns.length, 0));
    expect(stats.histogram.reduce((sum, [, count]) => sum + count, 0)).toBe(500);
    expect(formatStats(stats)).toMatch(/per record[\s\S]*tokens per record:\n\s+0-16 #+/);
  });

  it("splits by ratio reproducibly and keeps the pieces of one conversation together", () => {
    const records = Array.from({ length: 100 }, (_, i) => ({ id: i < 10 ? `c${i % 2}_part${i}` : `r${i}` }));
    const parts = splitRecords(records, { train: 0.8, test: 0.2 }, { seed: 3, groupOf: (r, i) => conversationGroup(r.id, i) });
    expect(parts.train.length + parts.test.length).toBe(100);
    expect(splitRecords(records, { train: 0.8, test: 0.2 }, { seed: 3, groupOf: (r, i) => conversationGroup(r.id, i) })).toEqual(parts);
    for (const group of ["c0", "c1"]) {
      const where = new Set(Object.entries(parts).filter(([, rs]) => rs.some((r) => r.id.startsWith(`${group}_`))).map(([name]) => name));
      expect(where.size).toBe(1);
    }
  });
});
