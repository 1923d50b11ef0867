import { describe, expect, it } from "vitest";
import highlighter from "highlight.js";
import katex from "katex";
import MarkdownIt from "markdown-it";
import { loadWebModule, type ConversationIoModule, type MarkdownRendererModule, type MergePromptModule, type SseModule } from "./support/web-modules.js";

const { createMarkdownRenderer } = await loadWebModule<MarkdownRendererModule>("markdown-renderer.js");
const sse = await loadWebModule<SseModule>("sse.js");
const io = await loadWebModule<ConversationIoModule>("conversation-io.js");
const merge = await loadWebModule<MergePromptModule>("merge-prompt.js");

// The node half of the renderer's tests: the HTML markdown-it, highlight.js and KaTeX produce before
// sanitising (identity sanitiser here). DOMPurify over it, and the XSS payloads through the whole
// pipeline, are checked in real Chromium by markdown.e2e.test.ts.
describe("Markdown renderer", () => {
  const renderMarkdown = createMarkdownRenderer({ MarkdownIt, highlighter, katex, sanitize: (html) => html });
  const lines = (markdown: string) => renderMarkdown(markdown).trim().split("\n");

  it("escapes raw HTML in text, code and code-block languages", () => {
    expect(renderMarkdown('<script>alert("x")</script> & <img src=x onerror=alert(1)>')).toBe(
      "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;</p>\n",
    );
    expect(renderMarkdown("`<b>` **<i>bold</i>**")).toBe("<p><code>&lt;b&gt;</code> <strong>&lt;i&gt;bold&lt;/i&gt;</strong></p>\n");
    expect(renderMarkdown('```"><script>\nx\n```')).not.toContain("<script>");
  });

  it("keeps tags balanced where link and emphasis markers overlap", () => {
    // The old hand-written renderer made the rest of the reply bold and wrote <em> into an href.
    expect(renderMarkdown("**[z](https://e**f)**")).toBe('<p><strong><a href="https://e**f" target="_blank" rel="noopener noreferrer nofollow">z</a></strong></p>\n');
    expect(renderMarkdown("[a](https://a*b*c) *x*")).toBe('<p><a href="https://a*b*c" target="_blank" rel="noopener noreferrer nofollow">a</a> <em>x</em></p>\n');
  });

  it("links only http(s) and mailto URLs, opened without opener or referrer; images stay text", () => {
    expect(renderMarkdown("[site](https://example.com/a?b=1&c=2)")).toBe(
      '<p><a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer nofollow">site</a></p>\n',
    );
    expect(renderMarkdown("[m](mailto:a@b.c)")).toContain('href="mailto:a@b.c"');
    for (const bad of ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "vbscript:x", "file:///etc/passwd"]) {
      expect(renderMarkdown(`[x](${bad})`)).not.toContain("<a");
    }
    expect(renderMarkdown('[x](https://a.b/"onmouseover="alert(1))')).not.toMatch(/href="[^"]*"onmouseover/);
    expect(renderMarkdown("![pixel](https://tracker.example/p.png)")).not.toContain("<img");
  });

  it("renders GFM tables, column alignment as a class (the CSP refuses style attributes)", () => {
    expect(renderMarkdown("| a | b |\n|---|--:|\n| 1 | 2 |")).toBe(
      '<table>\n<thead>\n<tr>\n<th>a</th>\n<th class="align-right">b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>1</td>\n<td class="align-right">2</td>\n</tr>\n</tbody>\n</table>\n',
    );
  });

  it("renders headings, lists, quotes, rules and line breaks, and keeps code literal", () => {
    expect(lines("# Title\n\nSome *em* and **strong** text\nsecond line\n\n- one\n- two `x*y*z`\n\n3. three\n4. four\n\n> quoted **bit**\n\n---")).toEqual([
      "<h1>Title</h1>",
      "<p>Some <em>em</em> and <strong>strong</strong> text<br>",
      "second line</p>",
      "<ul>",
      "<li>one</li>",
      "<li>two <code>x*y*z</code></li>",
      "</ul>",
      '<ol start="3">',
      "<li>three</li>",
      "<li>four</li>",
      "</ol>",
      "<blockquote>",
      "<p>quoted <strong>bit</strong></p>",
      "</blockquote>",
      "<hr>",
    ]);
  });

  it("highlights fenced code with a Copy button; an unclosed fence (a reply still streaming) runs to the end", () => {
    expect(renderMarkdown("Here:\n```js\nconst a = 1 < 2;")).toBe(
      "<p>Here:</p>\n" +
        '<div class="code-block"><div class="code-toolbar"><span class="code-language">js</span><button type="button" class="copy-code" data-copy-state="idle">Copy</button></div>' +
        '<pre tabindex="0"><code class="hljs language-js"><span class="hljs-keyword">const</span> a = <span class="hljs-number">1</span> &lt; <span class="hljs-number">2</span>;</code></pre></div>\n',
    );
    expect(renderMarkdown("```nosuchlanguage\n<b>\n```")).toContain('<code class="hljs language-nosuchlanguage">&lt;b&gt;\n</code>');
    expect(renderMarkdown("")).toBe("");
  });

  it("renders $…$, \\(…\\), $$…$$ and \\[…\\] as KaTeX MathML, and leaves prices alone", () => {
    const inline = renderMarkdown("Price $5 and $6, math $x^2$ and \\(y\\)");
    expect(inline).toContain("Price $5 and $6, math <span class=\"katex\"><math");
    expect(inline).toContain("<msup><mi>x</mi><mn>2</mn></msup>");
    expect(inline).toContain("<mi>y</mi>");
    const block = renderMarkdown("$$\n\\frac{a}{b}\n$$\nafter");
    expect(block).toMatch(/^<div class="math-block"><span class="katex"><math xmlns="http:\/\/www.w3.org\/1998\/Math\/MathML" display="block">/);
    expect(block).toContain("<mfrac><mi>a</mi><mi>b</mi></mfrac>");
    expect(block).toContain("<p>after</p>");
    expect(renderMarkdown("text\n\\[x\\]")).toContain('<div class="math-block">');
    // KaTeX's HTML output needs inline styles the CSP refuses: MathML only.
    expect(renderMarkdown("$\\frac{1}{2}$")).not.toContain("style=");
    // \\href stays text (trust: false), and broken TeX shows as an error, never a thrown exception.
    expect(renderMarkdown("$\\href{javascript:alert(1)}{x}$")).not.toContain("href=");
    expect(renderMarkdown("$\\frac{a$")).toMatch(/^<p><code class="math-error" title="KaTeX parse error: [^"]+">\\frac\{a<\/code><\/p>\n$/);
    expect(() => renderMarkdown("$\\frac{$ and $$\\begin{x}")).not.toThrow();
  });
});

describe("SSE parsing", () => {
  it("joins events split anywhere across chunks, including CRLF and multi-line data", () => {
    const parser = sse.createSseParser();
    const events = [...parser.push('data: {"a":'), ...parser.push("1}\r\n\r\ndata: x\ndata: y\n"), ...parser.push("\n: comment\n\ndata: [DONE]\n\n")];
    expect(events).toEqual(['{"a":1}', "x\ny", "[DONE]"]);
  });

  it("decodes a UTF-8 character split between two network chunks", async () => {
    const bytes = new TextEncoder().encode("data: héllo 🦙\n\n");
    const cut = bytes.indexOf(0xf0) + 2;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, cut));
        controller.enqueue(bytes.slice(cut));
        controller.close();
      },
    });
    const out: string[] = [];
    for await (const data of sse.readSseData(body)) out.push(data);
    expect(out).toEqual(["héllo 🦙"]);
  });
});

describe("conversation export and windows", () => {
  const conversation = {
    id: "c1",
    model: "m",
    system_prompt: "Be brief.",
    messages: [
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello" },
      { role: "user", content: "Bye" },
      { role: "assistant", content: "Ciao" },
    ],
  };

  it("exports ShareGPT JSON and OpenAI messages JSONL", () => {
    expect(io.toShareGpt(conversation)).toEqual([
      {
        id: "c1",
        model: "m",
        conversations: [
          { from: "system", value: "Be brief." },
          { from: "human", value: "Hi" },
          { from: "gpt", value: "Hello" },
          { from: "human", value: "Bye" },
          { from: "gpt", value: "Ciao" },
        ],
      },
    ]);
    const line = io.toOpenAiJsonl(conversation);
    expect(line.endsWith("\n")).toBe(true);
    expect(JSON.parse(line).messages[0]).toEqual({ role: "system", content: "Be brief." });
    expect(JSON.parse(line).messages).toHaveLength(5);
  });

  it("keeps the last N turns and the system message", () => {
    const messages = [{ role: "system", content: "S" }, ...conversation.messages, { role: "user", content: "Now" }];
    expect(io.lastTurns(messages, 1)).toEqual({ messages: [{ role: "system", content: "S" }, { role: "user", content: "Now" }], dropped: 4 });
    expect(io.lastTurns(messages, 2).messages.map((m) => m.content)).toEqual(["S", "Bye", "Ciao", "Now"]);
    expect(io.lastTurns(messages, 10).messages).toHaveLength(6);
  });

  it("drops whole turns until the counted prompt fits the token budget", async () => {
    const counted: number[] = [];
    const count = async (messages: { content: string }[]) => {
      counted.push(messages.length);
      return messages.reduce((sum, m) => sum + m.content.length, 0);
    };
    const messages = [...conversation.messages, { role: "user", content: "Now" }];
    const fitted = await io.fitTokenBudget(messages, 10, count);
    expect(fitted.messages.map((m) => m.content)).toEqual(["Bye", "Ciao", "Now"]);
    expect(fitted).toMatchObject({ dropped: 2, tokens: 10 });
    expect(counted).toEqual([5, 3]);
    const tooSmall = await io.fitTokenBudget(messages, 1, count);
    expect(tooSmall.messages.map((m) => m.content)).toEqual(["Now"]);
  });
});

describe("Collaboration merge prompt", () => {
  it("fills the question and every answer, labelled with its model", () => {
    const filled = merge.fillMergePrompt("Q={question}\n{answers}\n{other}", "Why?", [
      { model: "a", text: " one " },
      { model: "b", text: "two" },
    ]);
    expect(filled).toBe("Q=Why?\n### Answer 1 (a)\none\n\n### Answer 2 (b)\ntwo\n{other}");
    expect(merge.defaultMergePrompt).toContain("{question}");
    expect(merge.defaultMergePrompt).toContain("{answers}");
  });
});
