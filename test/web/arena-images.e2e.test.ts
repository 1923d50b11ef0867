// Issue 16 point 2 in headless Chromium, at both playground viewports: images in the arena. In the
// anonymous battle an image attached to the message goes to both sides (two models that can see are
// drawn; the one that cannot never is), both columns show its thumbnail, and a reload shows it again
// from the server's hashes; axe stays clean. Side by side, every column gets it, and a model that
// cannot see answers the 400 naming the capability in its column.
import { Buffer } from "node:buffer";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import type { CallOptions } from "../../src/spec/index.js";
import { axeViolations } from "./support/axe-check.js";
import { playgroundViewports, saveScreenshot } from "./support/screenshots.js";
import { hasChromium, scriptedBrowser, slow } from "./support/scripted-browser.js";

const browser = scriptedBrowser("camelid-web-battle-images-");
const red = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
const imagesSeen = (options: CallOptions) => (options.messages ?? []).flatMap((message) => message.parts ?? []).filter((part) => part.type === "image").length;

/** Attaches red.png in a view (`battle` or `arena`, its ids' prefix), waits for its chip, and sends a message with it. */
async function attachAndSend(page: Page, view: "battle" | "arena", message: string): Promise<void> {
  await page.locator(`#${view}-image-file`).setInputFiles({ name: "red.png", mimeType: "image/png", buffer: Buffer.from(red, "base64") });
  await page.locator(`#${view}-attachments[data-count="1"]`).waitFor(slow);
  await page.locator(`#${view}-input`).fill(message);
  await page.locator(`#${view}-input`).press("Enter");
}

describe.skipIf(!hasChromium)("images in the anonymous battle, in headless Chromium", () => {
  beforeAll(() => browser.launch(), 60_000);
  afterEach(() => browser.cleanUp());
  afterAll(() => browser.close());

  describe.each(playgroundViewports)("at $name size ($width×$height)", (viewport) => {
    it("sends an attached image to two models that can see and shows it in both columns, also after a reload", async () => {
      const seeing = { vision: true, reply: (options: CallOptions) => `I see ${imagesSeen(options)} image(s)` };
      const { page, pageErrors } = await browser.open({ eye: seeing, lens: seeing, blind: { reply: () => "blind answered" } }, "battle", viewport);
      await page.locator("#battle-new").click();
      await attachAndSend(page, "battle", "What is this?");
      await page.locator('#view-battle[data-state="votable"]').waitFor(slow);
      const answers = page.locator("#view-battle .message.assistant .markdown");
      expect(await answers.allInnerTexts()).toEqual(["I see 1 image(s)", "I see 1 image(s)"]);
      const thumbnails = page.locator('#view-battle .message.user .image-thumbnails img[data-state="loaded"]');
      await expect.poll(() => thumbnails.count(), slow).toBe(2);
      expect(await page.locator("#battle-attachments").isHidden()).toBe(true);
      await saveScreenshot(page, "battle-images");
      expect(await axeViolations(page)).toEqual([]);

      await page.reload();
      await page.waitForSelector("body[data-ready=true]", slow);
      await page.locator('#view-battle[data-state="votable"]').waitFor(slow);
      await expect.poll(() => thumbnails.count(), slow).toBe(2);
      expect(pageErrors).toEqual([]);
    }, 120_000);

    it("sends an attached image to every column side by side; a model that cannot see answers 400 naming the capability", async () => {
      const seeing = { vision: true, reply: (options: CallOptions) => `I see ${imagesSeen(options)} image(s)` };
      const { page, pageErrors } = await browser.open({ eye: seeing, blind: { reply: () => "blind answered" } }, "arena", viewport);
      await attachAndSend(page, "arena", "What is this?");
      await page.locator('#arena-columns[data-state="ready"]').waitFor(slow);
      const columns = page.locator("#arena-columns .column");
      await expect.poll(() => columns.nth(0).locator('.message.assistant[data-state="done"] .markdown').allInnerTexts(), slow).toEqual(["I see 1 image(s)"]);
      const failed = columns.nth(1).locator('.message.assistant[data-state="error"] .error-text');
      await failed.waitFor(slow);
      expect(await failed.innerText()).toContain('"vision"');
      const thumbnails = page.locator('#arena-columns .message.user .image-thumbnails img[data-state="loaded"]');
      await expect.poll(() => thumbnails.count(), slow).toBe(2);
      await saveScreenshot(page, "arena-images");

      // The saved session keeps the image by hash: a reload shows it, and the next turn sends it again.
      await page.reload();
      await page.waitForSelector("body[data-ready=true]", slow);
      await expect.poll(() => thumbnails.count(), slow).toBe(2);
      await page.locator("#arena-input").fill("And now?");
      await page.locator("#arena-input").press("Enter");
      await expect.poll(() => columns.nth(0).locator('.message.assistant[data-state="done"] .markdown').allInnerTexts(), slow).toEqual(["I see 1 image(s)", "I see 1 image(s)"]);
      expect(pageErrors).toEqual([]);
    }, 120_000);
  });
});
