// Numbers per reply (time to first token, tokens/s, prompt and completion tokens, finish reason) and
// model load states in the pickers, in real headless Chromium against a server whose models are
// scripted (test/support/scripted-model.ts). Waits for the page's data-state markers, never a time.
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { hasChromium, scriptedBrowser, slow } from "./support/scripted-browser.js";
import type { ScriptedServerModel } from "./support/scripted-playground-server.js";
import { playgroundViewports, saveScreenshot } from "./support/screenshots.js";

const browser = scriptedBrowser("camelid-web-numbers-");
const { open } = browser;

const waitFor = (page: Page, selector: string) => page.locator(selector).first().waitFor({ state: "attached", ...slow });

async function sendChat(page: Page, text: string) {
  await page.locator("#chat-input").fill(text);
  await page.locator("#chat-input").press("Enter");
}

/** The data attributes of the nth answer's numbers, once that answer is done. */
async function numbersOf(page: Page, nth: number) {
  const selector = `#view-chat .message.assistant[data-state="done"] .reply-numbers`;
  await expect.poll(() => page.locator(selector).count(), slow).toBeGreaterThan(nth);
  return page.locator(selector).nth(nth).evaluate((element) => ({ ...(element as HTMLElement).dataset }));
}

// Four streamed pieces ("abc" "def" "ghi" "jkl"), each one token; the backend reports 40 ms to the
// first token and a 20 tokens/s decode.
const counted: ScriptedServerModel = { reply: () => "abcdefghijkl", piecesAreTokens: true, timings: { timeToFirstTokenMs: 40, totalMs: 240, tokensPerSecond: 20 } };

describe.skipIf(!hasChromium)("reply numbers and model states in headless Chromium", () => {
  beforeAll(() => browser.launch(), 60_000);
  afterEach(() => browser.cleanUp());
  afterAll(() => browser.close());

  for (const viewport of playgroundViewports) it(`shows each reply's time to first token, tokens/s, token counts and finish reason (${viewport.name})`, async () => {
    const { page, pageErrors } = await open({ counted }, "chat", viewport);
    await sendChat(page, "Hi");
    const first = await numbersOf(page, 0);
    expect(first).toMatchObject({ ttftMs: "40", tokensPerSecond: "20.0", completionTokens: "4", finishReason: "stop" });
    // The scripted model's prompt tokens are the rendered prompt's characters: "user: Hi\nassistant:".
    expect(first.promptTokens).toBe(String("user: Hi\nassistant:".length));
    expect(await page.locator("#view-chat .reply-numbers").first().innerText()).toMatch(/first token\s*:?\s*40 ms/);

    // Max tokens 2 cuts the four pieces: two completion tokens, finish reason "length".
    const details = page.locator("#view-chat details.settings");
    if (!(await details.evaluate((element) => (element as HTMLDetailsElement).open))) await details.locator("summary").click();
    await page.locator("#view-chat").getByLabel("Max tokens", { exact: true }).fill("2");
    await sendChat(page, "Again");
    expect(await numbersOf(page, 1)).toMatchObject({ completionTokens: "2", finishReason: "length" });
    await expect.poll(() => page.locator("#view-chat .reply-numbers").last().isVisible(), slow).toBe(true);
    await saveScreenshot(page, "chat-reply-numbers");

    // Arena answers carry the same numbers (its own settings: no max tokens, so all four pieces).
    await page.goto(page.url().replace(/#.*$/, "#arena"));
    await page.waitForSelector("body[data-ready=true]", slow);
    await page.locator("#arena-input").fill("Hi");
    await page.locator("#arena-input").press("Enter");
    await waitFor(page, '#arena-columns .message.assistant[data-state="done"] .reply-numbers');
    expect(await page.locator("#arena-columns .reply-numbers").evaluate((element) => ({ ...(element as HTMLElement).dataset }))).toMatchObject({
      ttftMs: "40",
      tokensPerSecond: "20.0",
      completionTokens: "4",
      finishReason: "stop",
    });
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it("marks a model that failed to load as failed, with its error, in every picker", async () => {
    const { page, pageErrors } = await open({ counted, broken: { loadError: "weights file missing" } });
    const option = page.locator('#chat-model option[value="broken"]');
    expect(await option.getAttribute("data-state")).toBe("unloaded");
    await page.locator("#chat-model").selectOption("broken");
    await sendChat(page, "Hi");
    await waitFor(page, '#chat-model option[value="broken"][data-state="failed"]');
    expect(await option.textContent()).toBe("broken (failed)");
    expect(await option.getAttribute("title")).toContain("weights file missing");
    for (const picker of ['#view-arena [data-model-pick="broken"]', '#collab-aggregator option[value="broken"]', '#view-collaborate label[data-model-pick="broken"]']) {
      expect(await page.locator(picker).getAttribute("data-state")).toBe("failed");
      expect(await page.locator(picker).getAttribute("title")).toContain("weights file missing");
    }
    expect(await page.locator('#chat-model option[value="counted"]').getAttribute("data-state")).not.toBe("failed");
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
