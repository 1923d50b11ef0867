// Issue 19, point 5: Arena, Battle and Collaborate sessions survive a reload, in real headless
// Chromium against a server whose models are scripted ("<model> says: <last user message>"). For each
// tab, at both viewports: do a turn, reload, the session is back (the tab and the session, by the
// address) and continues; the list shows it; export downloads it; delete removes it. Waits for the
// page's data-state markers and the list's, never for a time.
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { hasChromium, scriptedBrowser, slow } from "./support/scripted-browser.js";
import { playgroundViewports, saveScreenshot } from "./support/screenshots.js";

const browser = scriptedBrowser("camelid-web-sessions-");
const models = { alpha: {}, beta: {} };
const uuid = "[0-9a-f-]{36}";

const waitFor = (page: Page, selector: string) => page.locator(selector).first().waitFor({ state: "attached", ...slow });
const texts = (page: Page, selector: string) => page.locator(selector).allInnerTexts();
const hashOf = (page: Page) => page.evaluate(() => location.hash);

async function reload(page: Page) {
  await page.reload();
  await page.waitForSelector("body[data-ready=true]", slow);
}

/** The sidebar's entries once it has been read: [title, models] each. */
async function listed(page: Page, prefix: string) {
  await waitFor(page, `#${prefix}-sessions[data-state="ready"]`);
  return page.locator(`#${prefix}-sessions .conversation-link`).evaluateAll((links) =>
    links.map((link) => [link.querySelector(".conversation-title")?.textContent, link.querySelector(".session-models")?.textContent]),
  );
}

/** Clicks Export and returns the downloaded file, parsed. */
async function exported(page: Page, prefix: string) {
  const [download] = await Promise.all([page.waitForEvent("download", slow), page.locator(`#${prefix}-export`).click()]);
  return { name: download.suggestedFilename(), json: JSON.parse(readFileSync((await download.path())!, "utf8")) };
}

/** Clicks Delete, accepts the confirmation, and waits until the list no longer holds the session. */
async function deleteOpen(page: Page, prefix: string, id: string) {
  page.once("dialog", (dialog) => void dialog.accept());
  await page.locator(`#${prefix}-delete`).click();
  await expect.poll(() => page.locator(`#${prefix}-sessions [data-session-id="${id}"]`).count(), slow).toBe(0);
}

async function sendArena(page: Page, text: string, answers: number) {
  await page.locator("#arena-input").fill(text);
  await page.locator("#arena-input").press("Enter");
  await expect.poll(() => page.locator('#arena-columns .message.assistant[data-state="done"]').count(), slow).toBe(answers);
  await waitFor(page, '#arena-columns[data-state="ready"]');
}

describe.skipIf(!hasChromium)("saved sessions in headless Chromium", () => {
  beforeAll(() => browser.launch(), 60_000);
  afterEach(() => browser.cleanUp());
  afterAll(() => browser.close());

  for (const viewport of playgroundViewports) {
    it(`Arena (${viewport.name}): a turn survives a reload and continues; listed, exported, deleted; tab and session come back`, async () => {
      const { page, server, pageErrors } = await browser.open(models, "arena", viewport);
      await sendArena(page, "Hello", 2);
      expect(await hashOf(page)).toMatch(new RegExp(`^#arena/${uuid}$`));
      const id = (await hashOf(page)).slice("#arena/".length);
      expect(await listed(page, "arena")).toEqual([["Hello", "alpha, beta"]]);
      // The columns scroll under the pinned composer (on the phone one turn already overflows them):
      // scrolled down a little, not to their very end.
      const columns = page.locator("#arena-columns");
      const scrolled = await columns.evaluate((element) => {
        element.scrollTop = 40;
        return element.scrollTop;
      });
      if (viewport.name === "phone") expect(scrolled).toBeGreaterThan(0);

      await reload(page);
      expect(await page.locator("#tab-arena").getAttribute("aria-selected")).toBe("true");
      await expect.poll(() => texts(page, "#arena-columns .message.assistant .markdown"), slow).toEqual(["alpha says: Hello", "beta says: Hello"]);
      expect(await page.locator('#arena-sessions [aria-current="true"]').getAttribute("data-session-id")).toBe(id);
      await expect.poll(() => columns.evaluate((element) => element.scrollTop)).toBe(scrolled);
      await sendArena(page, "Again", 4);
      expect(await texts(page, "#arena-columns .column h3")).toEqual(["alpha", "beta"]);
      await saveScreenshot(page, "arena-session");

      // Another tab and back: the session is still the one open; back/forward move between addresses
      // (Chat's conversation has one too).
      await page.locator("#tab-chat").click();
      await page.locator("#chat-input").fill("Side trip");
      await page.locator("#chat-input").press("Enter");
      await waitFor(page, '#view-chat .message.assistant[data-state="done"]');
      await expect.poll(() => hashOf(page)).toMatch(new RegExp(`^#chat/${uuid}$`));
      const chatHash = await hashOf(page);
      await page.locator("#tab-arena").click();
      expect(await hashOf(page)).toBe(`#arena/${id}`);
      await page.goBack();
      await expect.poll(() => hashOf(page)).toBe(chatHash);
      expect(await page.locator("#tab-chat").getAttribute("aria-selected")).toBe("true");
      await page.goForward();
      await expect.poll(() => hashOf(page)).toBe(`#arena/${id}`);
      // The list is beside the columns on a desktop; on a phone its Sessions button opens it, and a pick closes it.
      const toggle = page.locator("#arena-sidebar-toggle");
      expect(await toggle.getAttribute("aria-expanded")).toBe(String(viewport.name !== "phone"));
      if (viewport.name === "phone") await toggle.click();
      await page.locator("#arena-new-session").click();
      expect(await page.locator("#arena-sidebar").isVisible()).toBe(viewport.name !== "phone");
      await expect.poll(() => hashOf(page)).toBe("#arena");
      await waitFor(page, '#arena-columns[data-state="empty"]');
      await page.goBack();
      await expect.poll(() => page.locator("#arena-columns .message.assistant").count(), slow).toBe(4);
      expect(await hashOf(page)).toBe(`#arena/${id}`);

      const file = await exported(page, "arena");
      expect(file.name).toBe("arena-Hello.json");
      expect(file.json).toMatchObject({ format: "camelid-playground-session", kind: "arena", id, models: ["alpha", "beta"] });
      expect(file.json.conversations[0].messages.filter((m: { role: string }) => m.role === "assistant").map((m: { content: string }) => m.content)).toEqual([
        "alpha says: Hello",
        "alpha says: Again",
      ]);

      await deleteOpen(page, "arena", id);
      expect(await hashOf(page)).toBe("#arena");
      expect((await (await fetch(`${server.url}/api/sessions/${id}`)).status)).toBe(404);
      expect(pageErrors).toEqual([]);
    }, 120_000);

    it(`Battle (${viewport.name}): a turn survives a reload and continues; listed anonymously, exported, deleted`, async () => {
      const { page, server, pageErrors } = await browser.open(models, "battle", viewport);
      await page.locator("#battle-category").fill("greetings");
      await page.locator("#battle-input").fill("Hi");
      await page.locator("#battle-input").press("Enter");
      await waitFor(page, '#view-battle[data-state="votable"]');
      expect(await hashOf(page)).toMatch(new RegExp(`^#battle/${uuid}$`));
      const id = (await hashOf(page)).slice("#battle/".length);
      expect(await listed(page, "battle")).toEqual([["Hi", "anonymous"]]);

      await reload(page);
      await waitFor(page, '#view-battle[data-state="votable"]');
      expect(await page.locator("#tab-battle").getAttribute("aria-selected")).toBe("true");
      // The reopened battle shows the category it was started with; it is fixed once the battle exists.
      expect(await page.locator("#battle-category").inputValue()).toBe("greetings");
      expect(await page.locator("#battle-category").isDisabled()).toBe(true);
      expect((await texts(page, "#view-battle .message.assistant .markdown")).sort()).toEqual(["alpha says: Hi", "beta says: Hi"]);
      await page.locator("#battle-input").fill("More");
      await page.locator("#battle-input").press("Enter");
      await expect.poll(() => page.locator('#view-battle .message.assistant[data-state="done"]').count(), slow).toBe(4);
      await waitFor(page, '#view-battle[data-state="votable"]');

      // Before the vote the file names no model; after it, both.
      const before = await exported(page, "battle");
      expect(before.name).toBe(`battle-${id}.json`);
      expect(before.json).toMatchObject({ format: "camelid-arena-battle", id, models: null, category: "greetings" });
      expect(JSON.stringify(before.json)).not.toMatch(/"alpha"|"beta"/);
      await page.locator("#battle-vote-a").click();
      await waitFor(page, '#view-battle[data-state="closed"]');
      await expect.poll(() => listed(page, "battle"), slow).toEqual([["Hi", expect.stringMatching(/^A: (alpha|beta) · B: (alpha|beta)$/)]]);
      expect((await exported(page, "battle")).json.models).toEqual({ a: expect.any(String), b: expect.any(String) });
      await saveScreenshot(page, "battle-session");

      await deleteOpen(page, "battle", id);
      await waitFor(page, '#view-battle[data-state="empty"]');
      expect(await hashOf(page)).toBe("#battle");
      expect((await fetch(`${server.url}/api/arena/battles/${id}`)).status).toBe(404);
      expect(pageErrors).toEqual([]);
    }, 120_000);

    it(`Collaborate (${viewport.name}): settings and results survive a reload, the session continues; listed, exported, deleted`, async () => {
      const { page, server, pageErrors } = await browser.open(models, "collaborate", viewport);
      await page.locator("#collab-aggregator").selectOption("beta");
      await page.locator("#collab-merge-prompt").fill("Combine: {answers}");
      const details = page.locator("#view-collaborate details.settings");
      await details.locator("summary").click();
      await page.locator("#view-collaborate").getByLabel("Max tokens", { exact: true }).fill("77");
      await page.locator("#collab-input").fill("Why?");
      await page.locator("#collab-run").click();
      await expect.poll(() => page.locator('#collab-output .message.assistant[data-state="done"]').count(), slow).toBe(3);
      await waitFor(page, '#collab-output[data-state="ready"]');
      const id = (await hashOf(page)).slice("#collaborate/".length);
      expect(id).toMatch(new RegExp(`^${uuid}$`));
      expect(await listed(page, "collab")).toEqual([["Why?", "alpha, beta"]]);
      // The screen is taller than the window: it scrolls inside <main> (the page itself never does).
      const screen = page.locator("main");
      const scrolled = await screen.evaluate((element) => {
        element.scrollTop = 120;
        return element.scrollTop;
      });
      expect(scrolled).toBeGreaterThan(0);

      await reload(page);
      expect(await page.locator("#tab-collaborate").getAttribute("aria-selected")).toBe("true");
      await expect.poll(() => page.locator('#collab-output .message.assistant[data-state="done"]').count(), slow).toBe(3);
      // The aggregator (beta) got the edited merge prompt filled with both answers.
      expect(await texts(page, "#collab-output .merged .markdown")).toEqual([expect.stringMatching(/^beta says: Combine: [^]*alpha says: Why\?[^]*beta says: Why\?$/)]);
      expect(await page.locator("#collab-aggregator").inputValue()).toBe("beta");
      expect(await page.locator("#collab-merge-prompt").inputValue()).toBe("Combine: {answers}");
      expect(await page.locator("#view-collaborate").getByLabel("Max tokens", { exact: true }).inputValue()).toBe("77");
      await expect.poll(() => screen.evaluate((element) => element.scrollTop)).toBe(scrolled);

      await page.locator("#collab-input").fill("How?");
      await page.locator("#collab-run").click();
      await expect.poll(() => page.locator('#collab-output .message.assistant[data-state="done"]').count(), slow).toBe(6);
      await waitFor(page, '#collab-output[data-state="ready"]');
      await saveScreenshot(page, "collaborate-session");

      const file = await exported(page, "collab");
      expect(file.name).toBe("collaborate-Why_.json");
      expect(file.json).toMatchObject({ kind: "collaborate", id, state: { aggregator: "beta", settings: { max_tokens: 77 } } });
      expect(file.json.state.runs.map((run: { question: string }) => run.question)).toEqual(["Why?", "How?"]);

      await deleteOpen(page, "collab", id);
      expect(await page.locator("#collab-output .message").count()).toBe(0);
      expect((await fetch(`${server.url}/api/sessions/${id}`)).status).toBe(404);
      expect(pageErrors).toEqual([]);
    }, 120_000);
  }
});
