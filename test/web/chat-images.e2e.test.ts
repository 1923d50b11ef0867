// Issue 16 point 2 in headless Chromium, at both playground viewports: images in Chat. Attach (file
// picker), paste and drop put images in the composer's tray; the sent message shows their thumbnails;
// the model gets them (a vision model; a text-only one answers 400 naming "vision"); the prompt
// inspector marks where each image's tokens go; a reload shows the thumbnails again (read back from the
// server by hash) and the next turn sends the branch with its images. axe stays clean.
import { Buffer } from "node:buffer";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CallOptions } from "../../src/spec/index.js";
import { axeViolations } from "./support/axe-check.js";
import { playgroundViewports, saveScreenshot } from "./support/screenshots.js";
import { hasChromium, scriptedBrowser, slow } from "./support/scripted-browser.js";

const browser = scriptedBrowser("camelid-web-images-");

/** Two different 1×1 PNGs (a red and a blue pixel) and a 1×1 GIF. */
const red = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
const blue = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPj/HwADBwIAMCbHYQAAAABJRU5ErkJggg==";
const gif = Buffer.from("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==", "base64");

/** The images the model saw, in every message of the request. */
const imagesSeen = (options: CallOptions) => (options.messages ?? []).flatMap((message) => message.parts ?? []).filter((part) => part.type === "image").length;

/** Paste or drop a file onto the composer, as the browser would deliver it. */
async function deliver(page: Page, how: "paste" | "drop", base64: string, type: string) {
  await page.locator("#chat-input").evaluate(
    (input, { how, base64, type }) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], `pasted.${type.split("/")[1]}`, { type }));
      const event = how === "paste" ? new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true }) : new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true });
      input.dispatchEvent(event);
    },
    { how, base64, type },
  );
}

/** The answers on screen (a repainted conversation's answers carry no data-state; one being written says "streaming"). */
const answers = (page: Page) => page.locator('#view-chat .message.assistant:not([data-state="streaming"]):not([data-state="error"]) .markdown');
const loadedThumbnails = (page: Page, nth: number) => page.locator("#view-chat .message.user").nth(nth).locator('.image-thumbnails img[data-state="loaded"]');

describe.skipIf(!hasChromium)("images in Chat, in headless Chromium", () => {
  beforeAll(() => browser.launch(), 60_000);
  afterEach(() => browser.cleanUp());
  afterAll(() => browser.close());

  describe.each(playgroundViewports)("at $name size ($width×$height)", (viewport) => {
    it("attaches, pastes and drops images, shows them, marks their tokens, keeps them over a reload, and refuses a text-only model", async () => {
      const { page, pageErrors } = await browser.open(
        { eye: { vision: true, imageTokens: 16, reply: (options) => `I see ${imagesSeen(options)} image(s)` }, blind: {} },
        "chat",
        viewport,
      );
      await page.locator("#chat-model").selectOption("eye");

      // Attach through the file picker, paste one, drop one: three in the tray.
      await page.locator("#chat-image-file").setInputFiles({ name: "red.png", mimeType: "image/png", buffer: Buffer.from(red, "base64") });
      await page.locator('#chat-attachments[data-count="1"]').waitFor(slow);
      await deliver(page, "paste", blue, "image/png");
      await page.locator('#chat-attachments[data-count="2"]').waitFor(slow);
      await deliver(page, "drop", gif.toString("base64"), "image/gif");
      await page.locator('#chat-attachments[data-count="3"]').waitFor(slow);
      // A file that is no image is refused in the page.
      await deliver(page, "drop", Buffer.from("plain").toString("base64"), "text/plain");
      await page.locator("#chat-input").fill("What are these?");
      await page.locator("#chat-input").press("Enter");
      await page.locator('#view-chat .message.assistant[data-state="done"]').waitFor(slow);
      expect(await answers(page).first().innerText()).toBe("I see 3 image(s)");
      expect(await page.locator("#chat-attachments").isHidden()).toBe(true);
      await expect.poll(() => loadedThumbnails(page, 0).count(), slow).toBe(3);

      // The inspector's exact prompt marks the three places the image tokens go.
      const inspector = page.locator("#view-chat .message.assistant .inspector").first();
      await inspector.locator("summary").click();
      expect(await inspector.locator("mark.media-marker").count()).toBe(3);
      // ... and each image's real span, as the server counted it (16 tokens each, not the marker's text).
      expect(await inspector.locator("mark.media-marker").evaluateAll((marks) => marks.map((mark) => mark.getAttribute("data-image-tokens")))).toEqual(["16", "16", "16"]);
      expect(await inspector.locator(".image-token-spans").innerText()).toMatch(/^image 1: 16 tokens, positions \d+–\d+; image 2: 16 tokens/);
      await saveScreenshot(page, "chat-images");
      expect(await axeViolations(page)).toEqual([]);

      // A reload shows the thumbnails from the server; the next turn sends the branch with its images.
      await page.reload();
      await page.waitForSelector("body[data-ready=true]", slow);
      await expect.poll(() => loadedThumbnails(page, 0).count(), slow).toBe(3);
      await page.locator("#chat-model").selectOption("eye");
      await page.locator("#chat-input").fill("And now?");
      await page.locator("#chat-input").press("Enter");
      await expect.poll(() => answers(page).allInnerTexts(), slow).toEqual(["I see 3 image(s)", "I see 3 image(s)"]);

      // A text-only model answers 400 naming the capability; the image stays in the tray to send elsewhere.
      await page.locator("#chat-model").selectOption("blind");
      await page.locator("#chat-image-file").setInputFiles({ name: "red.png", mimeType: "image/png", buffer: Buffer.from(red, "base64") });
      await page.locator('#chat-attachments[data-count="1"]').waitFor(slow);
      await page.locator("#chat-input").fill("Can you see?");
      await page.locator("#chat-input").press("Enter");
      const failed = page.locator('#view-chat .message.assistant[data-state="error"] .error-text');
      await failed.waitFor(slow);
      expect(await failed.innerText()).toContain('"vision"');
      await page.locator('#chat-attachments[data-count="1"]').waitFor(slow);
      expect(pageErrors).toEqual([]);
    }, 120_000);
  });
});
