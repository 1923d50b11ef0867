import { describe, expect, it } from "vitest";
import { loadWebModule, type ConversationIoModule, type MarkdownModule, type MergePromptModule, type SseModule } from "./support/web-modules.js";

const { renderMarkdown } = await loadWebModule<MarkdownModule>("markdown.js");
const sse = await loadWebModule<SseModule>("sse.js");
const io = await loadWebModule<ConversationIoModule>("conversation-io.js");
const merge = await loadWebModule<MergePromptModule>("merge-prompt.js");

describe("Markdown renderer", () => {
  it("escapes every HTML character before adding markup, in text, code and links", () => {
    const html = renderMarkdown('<script>alert("x")</script> & <img src=x onerror=alert(1)>');
    expect(html).toBe("<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;</p>");
    expect(renderMarkdown("`<b>` **<i>bold</i>**")).toBe("<p><code>&lt;b&gt;</code> <strong>&lt;i&gt;bold&lt;/i&gt;</strong></p>");
    expect(renderMarkdown("```html\n<div onclick=\"x\">&amp;</div>\n```")).toBe(
      '<pre tabindex="0"><code class="language-html" data-language="html">&lt;div onclick=&quot;x&quot;&gt;&amp;amp;&lt;/div&gt;</code></pre>',
    );
    // A language tag cannot break out of its attribute.
    expect(renderMarkdown('```"><script>\nx\n```')).not.toContain("<script>");
  });

  it("links only http(s) and mailto URLs, with rel=noopener", () => {
    expect(renderMarkdown("[site](https://example.com/a?b=1&c=2)")).toBe(
      '<p><a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow" target="_blank">site</a></p>',
    );
    expect(renderMarkdown("[x](javascript:alert(1))")).toBe("<p>[x](javascript:alert(1))</p>");
    expect(renderMarkdown('[x](https://a.b/"onmouseover="alert(1))')).not.toMatch(/href="[^"]*"onmouseover/);
  });

  it("renders headings, lists, quotes, rules, paragraphs and keeps code literal", () => {
    const html = renderMarkdown("# Title\n\nSome *em* and **strong** text\nsecond line\n\n- one\n- two `x*y*z`\n\n3. three\n4. four\n\n> quoted **bit**\n\n---\n\n```\n# not a heading\n**not bold**\n```");
    expect(html.split("\n")).toEqual([
      "<h1>Title</h1>",
      "<p>Some <em>em</em> and <strong>strong</strong> text<br>second line</p>",
      "<ul><li>one</li><li>two <code>x*y*z</code></li></ul>",
      '<ol start="3"><li>three</li><li>four</li></ol>',
      "<blockquote><p>quoted <strong>bit</strong></p></blockquote>",
      "<hr>",
      '<pre tabindex="0"><code># not a heading',
      "**not bold**</code></pre>",
    ]);
  });

  it("shows an unclosed fence (a reply still streaming) as code to the end", () => {
    expect(renderMarkdown("Here:\n```js\nconst a = 1 < 2;")).toBe('<p>Here:</p>\n<pre tabindex="0"><code class="language-js" data-language="js">const a = 1 &lt; 2;</code></pre>');
    expect(renderMarkdown("")).toBe("");
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
