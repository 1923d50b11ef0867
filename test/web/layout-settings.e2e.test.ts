// Issue 19 points 3 and 8 (and 4's load progress) in headless Chromium, at the desktop and the phone
// viewport: the composer pinned under a scrolling transcript, the collapsible sidebar, tabs that scroll to
// the active one, per-tab status lines that never move the page, the theme toggle (highlight.js and
// KaTeX included), the prompt-format list with auto's reason, presets, validation against the server's
// own bounds, Ctrl/Cmd+Enter in Collaborate, and load progress in every model picker. Waits for the
// page's markers (data-state, data-ready, attributes), never for a time.
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { hasChromium, scriptedBrowser, slow } from "./support/scripted-browser.js";
import { playgroundViewports, saveScreenshot } from "./support/screenshots.js";
import type { ScriptedServerModel } from "./support/scripted-playground-server.js";

const browser = scriptedBrowser("camelid-web-layout-");
/** "verbatim" answers with the user's own text, so a test can make it answer Markdown. */
const models: Record<string, ScriptedServerModel> = {
  alpha: {},
  beta: {},
  verbatim: { reply: (options) => String(options.messages?.filter((message) => message.role === "user").at(-1)?.content ?? "") },
};

const waitFor = (page: Page, selector: string) => page.locator(selector).first().waitFor({ state: "attached", ...slow });
const box = async (page: Page, selector: string) => (await page.locator(selector).first().boundingBox())!;

async function openSettings(page: Page, view: string) {
  const details = page.locator(`${view} details.settings`);
  if (!(await details.evaluate((element) => (element as HTMLDetailsElement).open))) await details.locator("summary").click();
}

async function sendChat(page: Page, text: string, done: number) {
  await page.locator("#chat-input").fill(text);
  await page.locator("#chat-input").press("Enter");
  await expect.poll(() => page.locator('#view-chat .message.assistant[data-state="done"]').count(), slow).toBe(done);
}

describe.skipIf(!hasChromium)("playground layout and settings in headless Chromium", () => {
  beforeAll(() => browser.launch(), 60_000);
  afterEach(() => browser.cleanUp());
  afterAll(() => browser.close());

  for (const viewport of playgroundViewports) {
    const phone = viewport.name === "phone";

    it(`${viewport.name}: pins the composer under a scrolling transcript, collapses the sidebar, scrolls tabs to the active one`, async () => {
      const { page, pageErrors } = await browser.open(models, "chat", viewport);
      const sidebar = page.locator("#chat-sidebar");
      const toggle = page.locator("#chat-sidebar-toggle");
      // Closed at first on a phone (the conversation gets the room), open on a desktop.
      expect(await toggle.getAttribute("aria-expanded")).toBe(String(!phone));
      expect(await sidebar.isVisible()).toBe(!phone);
      await toggle.click();
      expect(await toggle.getAttribute("aria-expanded")).toBe(String(phone));
      expect(await sidebar.isVisible()).toBe(phone);
      await toggle.click();

      const composerBefore = await box(page, "#view-chat form.composer");
      // The composer sits at the bottom of the screen before any message...
      expect(composerBefore.y + composerBefore.height).toBeGreaterThan(viewport.height - 40);
      for (let turn = 1; turn <= 4; turn++) await sendChat(page, `message number ${turn} ${"with some words ".repeat(8)}`, turn);
      // ...and after the transcript outgrew it: the transcript scrolls, the page does not.
      const composerAfter = await box(page, "#view-chat form.composer");
      expect(composerAfter.y).toBeCloseTo(composerBefore.y, 0);
      const transcript = page.locator("#view-chat .transcript");
      expect(await transcript.evaluate((element) => element.scrollHeight > element.clientHeight)).toBe(true);
      expect(await page.evaluate(() => document.documentElement.scrollHeight <= window.innerHeight)).toBe(true);
      // The newest answer is in view.
      expect(await page.locator('#view-chat .message.assistant[data-state="done"]').last().isVisible()).toBe(true);
      // On a phone the transcript gets most of the screen.
      const transcriptBox = await box(page, "#view-chat .transcript");
      if (phone) expect(transcriptBox.height / viewport.height).toBeGreaterThan(0.5);

      // Arena: the composer is pinned there too.
      await page.goto(page.url().replace(/#.*$/, "#arena"));
      await page.waitForSelector("body[data-ready=true]", slow);
      const arenaComposer = await box(page, "#view-arena form.composer");
      expect(arenaComposer.y + arenaComposer.height).toBeGreaterThan(viewport.height - 40);

      // Opening the last tab by its URL brings its tab button into the (sideways scrolling) tab row.
      await page.goto(page.url().replace(/#.*$/, "#safety"));
      await page.waitForSelector("body[data-ready=true]", slow);
      const tabs = await box(page, "#tabs");
      const safety = await box(page, "#tab-safety");
      expect(safety.x).toBeGreaterThanOrEqual(tabs.x - 1);
      expect(safety.x + safety.width).toBeLessThanOrEqual(tabs.x + tabs.width + 1);
      expect(pageErrors).toEqual([]);
    }, 120_000);

    it(`${viewport.name}: status lines belong to their tab and never move the page; the theme toggle follows or overrides the OS`, async () => {
      const { page, pageErrors } = await browser.open(models, "arena", viewport);
      const columnsBefore = await box(page, "#arena-columns");
      for (const box of await page.locator("#view-arena input[name=arena-model]").all()) await box.uncheck();
      await page.locator("#arena-input").fill("Hi");
      await page.locator("#arena-input").press("Enter");
      const arenaStatus = page.locator("#view-arena > .tab-status");
      await expect.poll(() => arenaStatus.textContent(), slow).toBe("Select at least one model");
      expect(await arenaStatus.getAttribute("data-kind")).toBe("error");
      expect((await box(page, "#arena-columns")).y).toBe(columnsBefore.y);
      // The other tabs' lines stay empty; the page-wide line was not used.
      expect(await page.locator("#view-chat > .tab-status").textContent()).toBe("");
      expect(await page.locator("#status").textContent()).toBe("");

      // Dark while the OS says light, light while it says dark, and back to following it.
      await page.emulateMedia({ colorScheme: "light" });
      const shade = () =>
        page.evaluate(() => ({
          resolved: document.documentElement.dataset.resolvedTheme,
          background: getComputedStyle(document.body).backgroundColor,
          lightCode: (document.querySelector('link[data-theme-stylesheet="light"]') as HTMLLinkElement).media,
          darkCode: (document.querySelector('link[data-theme-stylesheet="dark"]') as HTMLLinkElement).media,
        }));
      expect((await shade()).resolved).toBe("light");
      await page.locator("#theme-select").selectOption("dark");
      expect(await shade()).toEqual({ resolved: "dark", background: "rgb(24, 22, 19)", lightCode: "not all", darkCode: "all" });
      // A highlighted code block and a KaTeX formula take the dark theme's colours.
      await page.goto(page.url().replace(/#.*$/, "#chat"));
      await page.waitForSelector("body[data-ready=true]", slow);
      await page.locator("#chat-model").selectOption("verbatim");
      await sendChat(page, "```js\nconst answer = 42;\n```\n\n$$x^2$$", 1);
      const colours = await page.evaluate(() => ({
        keyword: getComputedStyle(document.querySelector("#view-chat .message.assistant .hljs-keyword")!).color,
        math: getComputedStyle(document.querySelector("#view-chat .message.assistant math")!).color,
        text: getComputedStyle(document.body).color,
      }));
      expect(colours.keyword).toBe("rgb(255, 123, 114)"); // github-dark's keyword colour
      expect(colours.math).toBe(colours.text);
      expect(colours.text).toBe("rgb(236, 230, 221)");
      await page.reload();
      await page.waitForSelector("body[data-ready=true]", slow);
      expect((await shade()).resolved).toBe("dark");
      await page.emulateMedia({ colorScheme: "dark" });
      await page.locator("#theme-select").selectOption("light");
      expect(await shade()).toMatchObject({ resolved: "light", background: "rgb(250, 248, 245)", lightCode: "all", darkCode: "not all" });
      await page.locator("#theme-select").selectOption("system");
      expect(await shade()).toMatchObject({ resolved: "dark", background: "rgb(24, 22, 19)", darkCode: "(prefers-color-scheme: dark)" });
      expect(await page.evaluate(() => localStorage.getItem("camelid.theme"))).toBeNull();
      expect(pageErrors).toEqual([]);
    }, 120_000);

    it(`${viewport.name}: prompt formats from the registry with auto's reason, presets, validation against the server's bounds, Ctrl/Cmd+Enter`, async () => {
      const { page, pageErrors } = await browser.open(models, "chat", viewport);
      await openSettings(page, "#view-chat");
      const format = page.locator("#view-chat").getByLabel("Prompt format", { exact: true });
      // Every registry format, after "auto".
      await expect.poll(() => format.locator("option").allTextContents(), slow).toEqual(["auto", "alpaca", "vicuna-v0", "vicuna-v1.1", "koala", "llama-2-chat", "chatml", "llama-3", "gguf-jinja"]);
      const reason = page.locator("#view-chat .format-reason");
      expect(await reason.textContent()).toBe("auto picks alpha: decided when the model loads");
      await sendChat(page, "Hi", 1);
      await waitFor(page, '#view-chat details.settings[data-auto-format="known"]');
      expect(await reason.textContent()).toBe("auto picks alpha: scripted — test double");
      await format.selectOption("chatml");
      expect(await reason.textContent()).toMatch(/ChatML/i);

      // Validation before sending, with the bounds the server's schema sets.
      await waitFor(page, '#view-chat details.settings[data-limits="loaded"]');
      const sent: string[] = [];
      page.on("request", (request) => {
        if (request.method() === "POST") sent.push(request.url());
      });
      const temperature = page.locator("#view-chat").getByLabel("Temperature", { exact: true });
      const topP = page.locator("#view-chat").getByLabel("Top-p", { exact: true });
      const seed = page.locator("#view-chat").getByLabel("Seed", { exact: true });
      await temperature.fill("2.5");
      await topP.fill("0");
      await seed.fill(String(2 ** 32));
      await page.locator("#chat-input").fill("Not sent");
      await page.locator("#chat-input").press("Enter");
      for (const [input, message] of [
        [temperature, "Temperature must be at most 2"],
        [topP, "Top-p must be greater than 0"],
        [seed, "Seed must be at most 4294967295"],
      ] as const) {
        expect(await input.getAttribute("aria-invalid")).toBe("true");
        const describedBy = (await input.getAttribute("aria-describedby"))!;
        expect(await page.locator(`#${describedBy}`).textContent()).toBe(message);
      }
      expect(await page.locator("#view-chat > .tab-status").textContent()).toBe("Temperature must be at most 2");
      expect(sent).toEqual([]);
      expect(await page.locator("#chat-input").inputValue()).toBe("Not sent");
      await saveScreenshot(page, "chat-settings");
      // Fixing a field clears its mark.
      await temperature.fill("0.3");
      expect(await temperature.getAttribute("aria-invalid")).toBeNull();
      await topP.fill("0.9");
      await seed.fill("7");

      // Presets: saved in this browser, shared by the forms, loaded whole, deleted.
      await page.locator("#view-chat").getByLabel("Save as", { exact: true }).fill("careful");
      await page.locator("#view-chat .presets button", { hasText: "Save preset" }).click();
      await temperature.fill("1.5");
      await page.locator("#view-chat").getByLabel("Preset", { exact: true }).selectOption("careful");
      await page.locator("#view-chat .presets button", { hasText: "Load" }).click();
      expect(await temperature.inputValue()).toBe("0.3");
      expect(await seed.inputValue()).toBe("7");
      expect(await format.inputValue()).toBe("chatml");
      expect(JSON.parse((await page.evaluate(() => localStorage.getItem("camelid.presets")))!).careful).toMatchObject({ temperature: 0.3, top_p: 0.9, seed: 7, prompt_format: "chatml" });
      await page.goto(page.url().replace(/#.*$/, "#arena"));
      await page.waitForSelector("body[data-ready=true]", slow);
      await openSettings(page, "#view-arena");
      await page.locator("#view-arena").getByLabel("Preset", { exact: true }).selectOption("careful");
      await page.locator("#view-arena .presets button", { hasText: "Load" }).click();
      expect(await page.locator("#view-arena").getByLabel("Temperature", { exact: true }).inputValue()).toBe("0.3");
      await page.locator("#view-arena .presets button", { hasText: "Delete" }).click();
      expect(await page.locator("#view-arena").getByLabel("Preset", { exact: true }).locator("option").allTextContents()).toEqual(["no presets yet"]);

      // Collaborate runs with Ctrl+Enter and with Cmd+Enter (Enter alone is a new line there).
      await page.goto(page.url().replace(/#.*$/, "#collaborate"));
      await page.waitForSelector("body[data-ready=true]", slow);
      const question = page.locator("#collab-input");
      await question.fill("First");
      await question.press("Enter");
      expect(await question.inputValue()).toBe("First\n");
      await question.press("Control+Enter");
      await waitFor(page, '#collab-output .merged .message.assistant[data-state="done"]');
      await question.fill("Second");
      await question.press("Meta+Enter");
      await expect.poll(() => page.locator("#collab-filled-prompt").textContent(), slow).toContain("Second");
      await waitFor(page, '#collab-output .merged .message.assistant[data-state="done"]');
      expect(pageErrors).toEqual([]);
    }, 120_000);
  }

  it("shows a loading model's progress in every picker until it is ready", async () => {
    let finishLoad!: () => void;
    const until = new Promise<void>((resolve) => (finishLoad = resolve));
    const { page, pageErrors } = await browser.open({ alpha: {}, heavy: { loadProgress: { fractions: [0.1, 0.42], until } } }, "chat", playgroundViewports[1]);
    await page.locator("#chat-model").selectOption("heavy");
    await page.locator("#chat-input").fill("Hi");
    await page.locator("#chat-input").press("Enter");
    await waitFor(page, '#chat-model option[value="heavy"][data-state="loading"][data-progress="42"]');
    expect(await page.locator('#chat-model option[value="heavy"]').textContent()).toBe("heavy (loading 42%)");
    for (const picker of ['#view-arena label[data-model-pick="heavy"]', '#collab-aggregator option[value="heavy"]', '#view-collaborate label[data-model-pick="heavy"]']) {
      expect(await page.locator(picker).getAttribute("data-progress")).toBe("42");
    }
    await saveScreenshot(page, "model-loading");
    finishLoad();
    await waitFor(page, '#view-chat .message.assistant[data-state="done"]');
    await waitFor(page, '#chat-model option[value="heavy"][data-state="ready"]');
    expect(await page.locator('#chat-model option[value="heavy"]').textContent()).toBe("heavy");
    expect(await page.locator('#chat-model option[value="heavy"]').getAttribute("data-progress")).toBeNull();
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
