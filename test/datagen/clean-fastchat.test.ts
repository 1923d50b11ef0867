import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/data.js";
import { cleanConversations } from "../../src/datagen/formats/clean.js";
import { readDataset } from "../../src/datagen/formats/dataset-io.js";
import { htmlToMarkdown, MarkdownifyConverter } from "../../src/datagen/formats/html-to-markdown.js";
import type { Conversation } from "../../src/datagen/formats/records.js";
import { captureIo } from "../support/capture-io.js";
import { sharedPath } from "../support/shared-data.js";

const directory = mkdtempSync(join(tmpdir(), "camelid-clean-fastchat-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
const chat = (id: string, ...contents: string[]): Conversation => ({ id, turns: contents.map((content, i) => ({ role: i % 2 === 0 ? "user" : "assistant", content })) });
const words = (text: string) => text.split(/\s+/).filter(Boolean).length;

/** A ChatGPT answer as the ShareGPT scrape holds it: code header with language and "Copy code" button, highlight spans. */
const chatGptAnswer =
  '<div class="markdown prose w-full break-words dark:prose-invert light"><p>Here is a function:</p><pre><div class="bg-black mb-4 rounded-md"><div class="flex items-center relative text-gray-200 bg-gray-800 px-4 py-2 text-xs font-sans"><span class="">python</span><button class="flex ml-auto gap-2"><svg stroke="currentColor" fill="none" viewBox="0 0 24 24" class="h-4 w-4"><path d="M16 4h2a2 2 0 0 1 2 2v14"></path><rect x="8" y="2" width="8" height="4"></rect></svg>Copy code</button></div><div class="p-4 overflow-y-auto"><code class="!whitespace-pre hljs language-python"><span class="hljs-keyword">def</span> <span class="hljs-title function_">snake_case</span>(<span class="hljs-params">a_b</span>):\n    <span class="hljs-keyword">return</span> a_b * <span class="hljs-number">2</span>  <span class="hljs-comment"># &lt;b&gt; &amp;</span>\n\n\n    <span class="hljs-keyword">pass</span>\n</code></div></div></pre><p>Call <code>snake_case(x)</code> with a <em>number</em>; the_rest is *plain*.</p><h2>Notes</h2><ul><li>one</li><li>two<ul><li>deep</li></ul></li></ul></div>';

describe("HTML → Markdown as FastChat's clean_sharegpt (markdownify 0.11.6 + its rules)", () => {
  it("writes markdownify's output for ChatGPT's HTML (derived by hand from markdownify's converters)", () => {
    const withoutDivsAndSpans = chatGptAnswer.replace(/<div.*?>/g, "").replace(/<span.*?>/g, "");
    // p → "text\n\n"; pre → "\n```\n" + its text + "\n```\n" (code verbatim, the header's "python" and
    // the button's "Copy code" in front); text outside code has * and _ escaped; h2 underlined with "-";
    // bullets "*" then "+" for a nested list, indented by a tab.
    expect(new MarkdownifyConverter().markdownify(withoutDivsAndSpans)).toBe(
      "Here is a function:\n\n\n```\npythonCopy codedef snake_case(a_b):\n    return a_b * 2  # <b> &\n\n\n    pass\n\n```\n" +
        "Call `snake_case(x)` with a *number*; the\\_rest is \\*plain\\*.\n\nNotes\n-----\n\n* one\n* two\n\t+ deep\n",
    );
  });

  it("writes markdownify's headings, nested bullets, tables, quotes, links and rules", () => {
    const html = '<h1>Title</h1><h3>Sub</h3><ul><li>a_b<ul><li>inner *x*</li></ul></li><li>c</li></ul><table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table>' +
      '<blockquote><p>q</p></blockquote><ol start="3"><li>three</li><li><a href="https://x.org" title="X">four</a></li></ol><p><a href="http://x.y">http://x.y</a><br>next</p><hr>';
    // underline(): text + "\n" + "="×len + "\n\n"; a list before a non-list sibling gets one more "\n"; a table is
    // "\n\n" + rows + "\n" (header row, then "| --- |"); a quote "\n> …" with "> " on every line, the empty last one
    // included; <br> is "  \n"; <hr> "\n\n---\n\n"; a link whose text is its href is an autolink.
    expect(new MarkdownifyConverter().markdownify(html)).toBe(
      "Title\n=====\n\n### Sub\n\n* a\\_b\n\t+ inner \\*x\\*\n* c\n\n\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\n" +
        "\n> q\n> \n> \n\n3. three\n4. [four](https://x.org \"X\")\n\n<http://x.y>  \nnext\n\n\n\n---\n\n",
    );
  });

  it("then applies FastChat's code-header fix and newline rule, but never changes the code", () => {
    // FastChat: reformat_code makes "```python\n<code>\n```"; "\n\n\n" → "\n" joins the paragraph and the
    // fence. FastChat would also squash the blank lines inside the code; camelid leaves code as written.
    expect(htmlToMarkdown(chatGptAnswer)).toBe(
      "Here is a function:\n```python\ndef snake_case(a_b):\n    return a_b * 2  # <b> &\n\n\n    pass\n```\n" +
        "Call `snake_case(x)` with a *number*; the\\_rest is \\*plain\\*.\n\nNotes\n-----\n\n* one\n* two\n\t+ deep",
    );
  });

  it("leaves Markdown code in a message untouched: tags, entities, underscores and blank lines inside fences and inline code", async () => {
    const fence = "```html\n<p>Hello &amp; <b>bye</b></p>\n\n\n<br>\n  snake_case = 1\n```";
    const inline = "`a &lt; b && c_d`";
    const message = `Use <br> for a line break, like ${inline}:\n${fence}`;
    const { records } = await cleanConversations([chat("1", "How do I break a line in HTML?", message)]);
    const cleaned = records[0].turns[1].content;
    expect(cleaned).toContain(fence);
    expect(cleaned).toContain(inline);
    // A Markdown answer whose only tags are inside code is not HTML at all: it stays byte for byte.
    const markdownOnly = `Like this:\n${fence}\nand ${inline}.`;
    expect((await cleanConversations([chat("2", "q", markdownOnly)])).records[0].turns[1].content).toBe(markdownOnly);
  });

  it("removes FastChat's noise: the regenerate counter, 'Copy<n> chars / <n> words', empty 'Copy code' blocks", async () => {
    const { records } = await cleanConversations([chat("1", "q", "2 / 2Sure.Copy12 chars / 3 words\n\n\nDone.```bashCopy code```"), chat("2", "q2", "Keep `Copy12 chars / 3 words` in code.")]);
    expect(records.map((r) => r.turns[1].content)).toEqual(["Sure.\nDone.", "Keep `Copy12 chars / 3 words` in code."]);
  });
});

describe("FastChat's clean_sharegpt rules", () => {
  it("drops conversations mentioning OpenAI or ChatGPT in any case and any kept message, unless the list is changed", async () => {
    const records = [
      chat("a", "Who made you?", "I was trained by OpenAI."),
      chat("b", "Is CHATGPT free?", "Partly."),
      chat("c", "Hello", "Hi!"),
      { id: "d", turns: [{ role: "assistant", content: "ChatGPT here" }, { role: "user", content: "hi" }, { role: "assistant", content: "hello" }] } as Conversation, // the dropped leading turn is not checked
    ];
    const fastchat = await cleanConversations(records);
    expect(fastchat.records.map((r) => r.id)).toEqual(["c", "d"]);
    expect(fastchat.report.dropped["blocked-words"]).toBe(2);
    expect((await cleanConversations(records, { blockedWords: [] })).records.map((r) => r.id)).toEqual(["a", "b", "c", "d"]);
  });

  it("keeps the conversations FastChat's clean_html_all keeps on the shared ShareGPT set (an independent re-implementation)", async () => {
    // clean_html_one_sample + clean_html_all, for text without HTML (this set has none, nor "_", "*", "<", "&").
    const rows = JSON.parse(readFileSync(sharedPath("data", "sharegpt", "dummy_conversation.json"), "utf8")) as { id: string; conversations: { from: string; value: string }[] }[];
    const visited = new Set<string>();
    const counts = { blocked: 0, wrongFormat: 0, tooShort: 0, idDuplicate: 0, valueDuplicate: 0 };
    const kept: string[] = [];
    for (const row of rows) {
      let c = row.conversations;
      if (c.length <= 1) { counts.tooShort++; continue; }
      if (c[0].from !== "human") c = c.slice(1);
      if (c.at(-1)?.from === "human") c = c.slice(0, -1);
      if (c.length <= 1) { counts.tooShort++; continue; }
      const bad = c.findIndex((m, i) => m.from !== ["human", "gpt"][i % 2] || /openai|chatgpt/.test(m.value.toLowerCase()));
      if (bad >= 0) { counts[c[bad].from !== ["human", "gpt"][bad % 2] ? "wrongFormat" : "blocked"]++; continue; }
      const key = JSON.stringify([c[1].value.trim(), c.length]);
      if (visited.has(`id:${row.id}`)) counts.idDuplicate++;
      else if (visited.has(key)) counts.valueDuplicate++;
      else { visited.add(`id:${row.id}`).add(key); kept.push(row.id); }
    }
    expect(counts).toEqual({ blocked: 60, wrongFormat: 0, tooShort: 0, idDuplicate: 0, valueDuplicate: 413 });
    const { records, report } = await cleanConversations(readDataset(sharedPath("data", "sharegpt", "dummy_conversation.json")).records);
    expect(records.map((r) => r.id)).toEqual(kept);
    expect(report.dropped).toMatchObject({ "blocked-words": 60, duplicate: 413, "duplicate-id": 0, "not-alternating": 0 });
  });

  it("de-duplicates by id and by (second message, number of messages) as FastChat, or exactly on request", async () => {
    const records = [chat("x", "q1", "same answer"), chat("x", "q9", "other"), chat("y", "q2", "same answer"), chat("z", "q3", "same answer", "q4", "more")];
    const fastchat = await cleanConversations(records);
    expect(fastchat.records.map((r) => r.id)).toEqual(["x", "z"]);
    expect(fastchat.report.dropped).toMatchObject({ "duplicate-id": 1, duplicate: 1 });
    expect((await cleanConversations(records, { dedup: "exact" })).records).toHaveLength(4);
  });

  it("counts 6 tokens per message on top of its text when splitting long conversations (split_long_conversation.py)", async () => {
    const ten = "w ".repeat(10);
    const long = chat("long", ten, ten, ten, ten, ten, ten); // 3 pairs of 20 words: 60 ≤ 70 without the overhead
    const { records, report } = await cleanConversations([long], { maxTokens: 70, countTokens: words });
    // 32 tokens a pair: 32, 64, then 96 > 70 starts a second piece.
    expect(records.map((r) => [r.id, r.turns.length])).toEqual([["long_part0", 4], ["long_part1", 2]]);
    expect(report.split).toBe(1);
    expect((await cleanConversations([long], { maxTokens: 70, countTokens: words, messageOverhead: 0 })).records).toHaveLength(1);
  });

  it("the CLI applies the rules by default, reports its settings, and takes --blocked-words none / --dedup", async () => {
    const input = join(directory, "raw.json");
    writeFileSync(input, JSON.stringify([
      { id: "1", conversations: [{ from: "human", value: "Are you ChatGPT?" }, { from: "gpt", value: "<p>Yes</p>" }] },
      { id: "2", conversations: [{ from: "human", value: "Hi" }, { from: "gpt", value: "<p>Hello <code>snake_case</code></p>" }] },
    ]));
    const out = join(directory, "clean.json");
    const { io, stdout } = captureIo();
    expect(await run(["clean", "--in", input, "--out", out, "--json"], io)).toBe(0);
    expect(JSON.parse(stdout())).toMatchObject({ written: 1, dropped: { "blocked-words": 1 }, settings: { blockedWords: ["openai", "chatgpt"], dedup: "fastchat" } });
    expect(JSON.parse(readFileSync(out, "utf8"))[0].conversations[1].value).toBe("Hello `snake_case`");
    const relaxed = captureIo();
    expect(await run(["clean", "--in", input, "--out", out, "--blocked-words", "none", "--dedup", "exact", "--json"], relaxed.io)).toBe(0);
    expect(JSON.parse(relaxed.stdout())).toMatchObject({ written: 2, settings: { blockedWords: [], dedup: "exact" } });
    await expect(run(["clean", "--in", input, "--out", out, "--dedup", "fuzzy"], captureIo().io)).rejects.toThrow(/--dedup must be one of fastchat, exact, none/);
  });
});
