// axe-core on every playground screen (each tab the page offers, so a new screen is checked without
// editing this file), in the light and the dark theme, at the desktop and the phone viewport: no
// violations. axe runs inside the page under its strict CSP: its source is evaluated through the
// DevTools protocol (page.evaluate), which CSP does not govern, where a <script> tag would be refused.
// Each screen is checked with content on it (answers with code, math and tables, an arena round, a
// battle, a collaboration), and a screenshot of each is saved when CAMELID_SCREENSHOTS_DIR is set.
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { axeViolations as violations } from "./support/axe-check.js";
import { hasChromium, scriptedBrowser, slow } from "./support/scripted-browser.js";
import { playgroundViewports, saveScreenshot } from "./support/screenshots.js";
import type { ScriptedServerModel } from "./support/scripted-playground-server.js";

const browser = scriptedBrowser("camelid-web-axe-");

const lastUserMessage = (options: { messages?: { role: string; content: unknown }[] }) => String(options.messages?.filter((message) => message.role === "user").at(-1)?.content ?? "");
const richAnswer = "Here is **bold**, `code` and a [link](https://example.com).\n\n```python\nprint('hi')\n```\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n$$e^{i\\pi} + 1 = 0$$";
const models: Record<string, ScriptedServerModel> = {
  alpha: { reply: (options) => `${richAnswer}\n\n${lastUserMessage(options)}` },
  beta: { reply: (options) => `Beta answers: ${lastUserMessage(options)}` },
};

async function show(page: Page, screen: string) {
  await page.locator(`#tab-${screen}`).click();
  await page.locator(`#tab-${screen}[aria-selected="true"]`).waitFor(slow);
}

const waitFor = (page: Page, selector: string) => page.locator(selector).first().waitFor({ state: "attached", ...slow });

/** Puts content on the screens that start empty, so axe sees replies, columns and results. */
async function fillScreens(page: Page) {
  await page.locator("#chat-input").fill("Show me everything");
  await page.locator("#chat-input").press("Enter");
  await waitFor(page, '#view-chat .message.assistant[data-state="done"]');

  await show(page, "arena");
  await page.locator("#arena-input").fill("Compare");
  await page.locator("#arena-input").press("Enter");
  await expect.poll(() => page.locator('#arena-columns .message.assistant[data-state="done"]').count(), slow).toBe(2);

  await show(page, "battle");
  await page.locator("#battle-input").fill("Fight");
  await page.locator("#battle-input").press("Enter");
  await waitFor(page, '#view-battle[data-state="votable"]');

  await show(page, "collaborate");
  await page.locator("#collab-input").fill("Together");
  await page.locator("#collab-input").press("Control+Enter");
  await waitFor(page, '#collab-output .merged .message.assistant[data-state="done"]');
}

describe.skipIf(!hasChromium)("accessibility (axe-core) in headless Chromium", () => {
  beforeAll(() => browser.launch(), 60_000);
  afterEach(() => browser.cleanUp());
  afterAll(() => browser.close());

  for (const viewport of playgroundViewports) {
    it(`${viewport.name}: every screen has no axe violations, light and dark`, async () => {
      const { page, pageErrors } = await browser.open(models, "chat", viewport);
      await fillScreens(page);
      const screens = await page.locator("#tabs [role=tab]").evaluateAll((tabs) => tabs.map((tab) => tab.id.replace(/^tab-/, "")));
      expect(screens).toEqual(expect.arrayContaining(["chat", "arena", "battle", "leaderboard", "collaborate", "safety"]));
      const found: string[] = [];
      for (const theme of ["light", "dark"] as const) {
        await page.locator("#theme-select").selectOption(theme);
        for (const screen of screens) {
          await show(page, screen);
          // Screens that load their content on show mark the page busy until it is in (none do yet).
          await page.locator("body[data-ready=true]").waitFor(slow);
          if (theme === "light") await saveScreenshot(page, screen);
          found.push(...(await violations(page)).map((line) => `${theme} ${screen}: ${line}`));
        }
      }
      expect(found).toEqual([]);
      expect(pageErrors).toEqual([]);
    }, 180_000);
  }
});
