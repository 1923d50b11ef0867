// Markdown in real headless Chromium, under the server's real CSP: the renderer (markdown-it,
// DOMPurify, highlight.js, KaTeX, all served from /vendor/ by the server itself) at a desktop and a
// phone viewport. Every XSS payload goes through the whole pipeline into the live page and must stay
// inert; a scripted model echoes a Markdown reply into Chat, which must show a table, balanced
// emphasis, highlighted code with a working Copy button and MathML. Tests wait for data-state
// markers, never for a fixed time.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { saveScreenshot } from "./support/screenshots.js";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";
import { startScriptedPlayground, type ScriptedPlayground } from "./support/scripted-playground-server.js";

const chromiumPath = "/usr/bin/chromium";
const hasChromium = existsSync(chromiumPath);
if (!hasChromium && process.env.CI) throw new Error(`${chromiumPath} not found: .ci/run must install Debian's chromium`);
const artifacts = join(repoRoot, "test-artifacts", "web");
const slow = { timeout: 60_000 };
const newDirectory = temporaryDirectories("camelid-web-markdown-");

/** Each would run script, load a frame or leave a script-capable URL if the pipeline let it through. */
export const xssPayloads = [
  '<script>window.__xss = "script"</script>',
  "<img src=x onerror=\"window.__xss = 'img'\">",
  '<svg onload="window.__xss = 1"><circle r=1 /></svg>',
  '<iframe src="javascript:window.__xss = 1"></iframe>',
  '<a href="javascript:window.__xss = 1">raw link</a>',
  '<noscript><p title="</noscript><img src=x onerror=window.__xss=1>">',
  '<style>body { display: none }</style>',
  '<form action="https://evil.example"><button>go</button></form>',
  "[x](javascript:window.__xss=1)",
  "[x](JaVaScRiPt:window.__xss=1)",
  "[x]( javascript:window.__xss=1 )",
  "[x](&#106;avascript:window.__xss=1)",
  "[x](java\\u0073cript:window.__xss=1)",
  "[x](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==)",
  "[x](vbscript:msgbox(1))",
  "[x](file:///etc/passwd)",
  '[x](https://a.b/"onmouseover="window.__xss=1)',
  "<javascript:window.__xss=1>",
  "![x](javascript:window.__xss=1)",
  '![x](https://x.example/" onerror="window.__xss=1)',
  "https://a.example/<img src=x onerror=window.__xss=1>",
  '```"><script>window.__xss=1</script>\nx\n```',
  '```js\n</code></pre><img src=x onerror="window.__xss=1">\n```',
  "`<img src=x onerror=window.__xss=1>`",
  "**[z](https://e**f)** <img src=x onerror=window.__xss=1>",
  "$\\href{javascript:window.__xss=1}{x}$",
  "$\\url{javascript:window.__xss=1}$",
  "$$\\htmlClass{x}{y} \\htmlStyle{position:fixed}{z}$$",
  '$<img src=x onerror="window.__xss=1">$',
  '<math><mi xlink:href="javascript:window.__xss=1">x</mi><annotation-xml encoding="text/html"><img src=x onerror=window.__xss=1></annotation-xml></math>',
  "\\(\\text{</math><img src=x onerror=window.__xss=1>}\\)",
  "| a |\n|---|\n| <img src=x onerror=window.__xss=1> |",
];

/** What a rendered payload must never contain: script-capable elements, handlers, styles, unsafe links. */
function dangers(root: Element): string[] {
  const found: string[] = [];
  for (const element of root.querySelectorAll("*")) {
    const name = element.localName;
    if (["script", "iframe", "object", "embed", "img", "svg", "style", "form", "input", "link", "meta", "base", "annotation-xml", "noscript"].includes(name)) found.push(`<${name}>`);
    for (const attribute of element.attributes) {
      if (attribute.name.startsWith("on") || attribute.name === "style" || attribute.name === "xlink:href" || attribute.name === "action") found.push(`${name}[${attribute.name}]`);
    }
    if (name === "a") {
      const href = element.getAttribute("href");
      if (href !== null && !/^(https?:|mailto:)/i.test(href)) found.push(`a[href=${href}]`);
      if (href !== null && (element.getAttribute("rel") !== "noopener noreferrer nofollow" || element.getAttribute("target") !== "_blank")) found.push("a without rel/target");
    }
  }
  return found;
}

const viewports = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
];

let browser: Browser;
let server: ScriptedPlayground;

describe.skipIf(!hasChromium)("Markdown in headless Chromium", { timeout: 180_000 }, () => {
  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    // The model answers with the user's message, verbatim: the test writes the Markdown it checks.
    server = await startScriptedPlayground({
      directory: newDirectory(),
      models: { echo: { reply: (options) => options.messages?.filter((m) => m.role === "user").at(-1)?.content ?? "" } },
    });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function openPage(viewport: { width: number; height: number }) {
    const context = await browser.newContext({ viewport });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
    const page = await context.newPage();
    const problems: string[] = [];
    const requested: string[] = [];
    page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
    page.on("dialog", (dialog) => {
      problems.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    // A CSP violation (a style attribute, an inline script) is logged as a console error.
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console: ${message.text()}`);
    });
    page.on("request", (request) => requested.push(request.url()));
    await page.goto(`${server.url}/#chat`);
    await page.waitForSelector("body[data-ready=true]", slow);
    return { context, page, problems, requested };
  }

  /**
   * Renders with the page's own renderer into a live element of the page, returns what a payload left.
   * The script is a string: a function would be rewritten by vitest's module transform (its import()).
   */
  const renderInPage = (page: Page, markdown: string): Promise<{ found: string[]; xss: unknown }> =>
    page.evaluate(`(async () => {
      const { renderMarkdown } = await import("/js/markdown.js");
      const host = document.createElement("div");
      host.className = "markdown";
      host.innerHTML = renderMarkdown(${JSON.stringify(markdown)});
      document.body.append(host);
      const found = (${dangers.toString()})(host);
      host.remove();
      return { found, xss: window.__xss ?? null };
    })()`);

  for (const viewport of viewports) {
    it(`keeps every XSS payload inert through markdown-it, KaTeX and DOMPurify (${viewport.name} ${viewport.width}×${viewport.height})`, async () => {
      const { context, page, problems } = await openPage(viewport);
      try {
        for (const payload of xssPayloads) {
          const result = await renderInPage(page, payload);
          expect({ payload, ...result }).toEqual({ payload, found: [], xss: null });
        }
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    });

    it(`shows a streamed reply's table, balanced emphasis, highlighted code with Copy, math and safe links (${viewport.name})`, async () => {
      const { context, page, problems, requested } = await openPage(viewport);
      try {
        const reply = [
          "**[z](https://e**f)** after the link",
          "",
          "| model | score |",
          "|---|--:|",
          "| a | 1 |",
          "| b | 2 |",
          "",
          "```python",
          "def add(a, b):",
          "    return a + b",
          "```",
          "",
          "Inline $x^2$ and block:",
          "",
          "$$",
          "\\frac{a}{b}",
          "$$",
        ].join("\n");
        await page.locator("#chat-input").fill(reply);
        await page.locator("#chat-input").press("Enter");
        const answer = page.locator("#view-chat .message.assistant").last();
        await expect.poll(() => answer.getAttribute("data-state"), slow).toBe("done");
        const body = answer.locator(".markdown");

        // The link's bold closes where it opened: the text after it is not bold, the href has no markup.
        expect(await body.locator("p").first().evaluate((p) => p.innerHTML)).toBe(
          '<strong><a href="https://e**f" target="_blank" rel="noopener noreferrer nofollow">z</a></strong> after the link',
        );
        expect(await body.locator("table tbody tr").allInnerTexts()).toEqual(["a\t1", "b\t2"]);
        expect(await body.locator("table th").allInnerTexts()).toEqual(["model", "score"]);
        expect(await body.locator("pre code.language-python .hljs-keyword").allInnerTexts()).toEqual(["def", "return"]);
        // highlight.js's theme (served from /vendor/ too) colours the keywords.
        const colours = await body.locator("pre code.language-python").evaluate((code) => [getComputedStyle(code.querySelector(".hljs-keyword")!).color, getComputedStyle(code).color]);
        expect(colours[0]).not.toBe(colours[1]);
        expect(await body.locator("math").count()).toBe(2);
        expect(await body.locator('math[display="block"] mfrac').count()).toBe(1);
        // KaTeX's TeX annotation is dropped by the sanitiser, not shown as text beside the formula.
        expect(await body.innerText()).not.toContain("\\frac");
        await saveScreenshot(page, "chat-markdown");

        const copy = body.locator("button.copy-code");
        await copy.click();
        await expect.poll(() => copy.getAttribute("data-copy-state"), slow).toBe("copied");
        expect(await page.evaluate(() => navigator.clipboard.readText())).toBe("def add(a, b):\n    return a + b\n");

        // The user's own message goes through the same renderer.
        expect(await page.locator("#view-chat .message.user .markdown table").count()).toBe(1);
        await page.screenshot({ path: join(artifacts, `markdown-${viewport.name}.png`), fullPage: true });
        expect(problems).toEqual([]);
        // The libraries came from this server: nothing left the origin.
        const origin = new URL(server.url).origin;
        expect(requested.filter((url) => new URL(url).origin !== origin)).toEqual([]);
        expect(requested.filter((url) => url.includes("/vendor/")).length).toBeGreaterThanOrEqual(4);
      } finally {
        await context.close();
      }
    });
  }
});
