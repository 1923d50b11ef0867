// The playground when things go wrong, in real headless Chromium against a server whose models are
// scripted (test/support/scripted-model.ts): failed and retried battle answers, a battle cut short by
// a server restart, a reload mid-answer in Chat, renaming with Enter, invalid settings. Every test
// starts its own server and browser context (fresh local storage), and waits for the page's
// data-state markers, never for a fixed time.
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ConversationWithMessages } from "../../src/server/store/conversations.js";
import { hasChromium, scriptedBrowser, slow } from "./support/scripted-browser.js";
import { startScriptedPlayground } from "./support/scripted-playground-server.js";

const browser = scriptedBrowser("camelid-web-resilience-");
const { open } = browser;

const waitFor = (page: Page, selector: string) => page.locator(selector).first().waitFor({ state: "attached", ...slow });
const battleState = (page: Page, state: string) => waitFor(page, `#view-battle[data-state="${state}"]`);

async function sendChat(page: Page, text: string) {
  await page.locator("#chat-input").fill(text);
  await page.locator("#chat-input").press("Enter");
}

async function setSetting(page: Page, viewId: string, label: string, value: string) {
  const details = page.locator(`#view-${viewId} details.settings`);
  if (!(await details.evaluate((element) => (element as HTMLDetailsElement).open))) await details.locator("summary").click();
  await page.locator(`#view-${viewId}`).getByLabel(label, { exact: true }).fill(value);
}

async function startBattle(page: Page, message: string) {
  await page.locator("#battle-input").fill(message);
  await page.locator("#battle-input").press("Enter");
}

const columnAnswers = (page: Page) =>
  page.locator("#view-battle .column").evaluateAll((columns) =>
    columns.map((column) => [...column.querySelectorAll(".message.assistant")].map((message) => (message as HTMLElement).dataset.state ?? "")),
  );

describe.skipIf(!hasChromium)("playground resilience in headless Chromium", () => {
  beforeAll(() => browser.launch(), 60_000);
  afterEach(() => browser.cleanUp());
  afterAll(() => browser.close());

  it("shows a failed battle answer's error, and Retry replaces the failed answer", async () => {
    // Each model's first answer fails: both sides fail once, whatever the draw.
    const failOnce = { fail: (_options: unknown, call: number) => (call === 1 ? "the upstream failed" : undefined) };
    const { page, pageErrors } = await open({ alpha: failOnce, beta: failOnce }, "battle");
    await startBattle(page, "Hello");
    await expect.poll(() => columnAnswers(page), slow).toEqual([["error"], ["error"]]);
    const failed = page.locator("#view-battle .message.assistant.error");
    // The error stays visible after the answer's last repaint (it used to be erased, leaving an empty red box).
    const errors = await failed.locator(".error-text").allInnerTexts();
    expect(errors).toHaveLength(2);
    for (const text of errors) expect(text).toMatch(/failed/);
    expect(await page.locator("#battle-retry").isVisible()).toBe(true);

    await battleState(page, "interrupted");
    await page.locator("#battle-retry").click();
    await waitFor(page, "#battle-vote-a:enabled");
    expect(await columnAnswers(page)).toEqual([["done"], ["done"]]);
    expect(await page.locator("#view-battle .message.assistant .markdown").allInnerTexts()).toEqual(
      expect.arrayContaining([expect.stringMatching(/^(alpha|beta) says: Hello$/)]),
    );
    expect(pageErrors).toEqual([]);
  }, 120_000);

  /** A battle whose answers are mid-stream when the server "crashes" and comes back on the same port. */
  async function battleCutByRestart() {
    const stalling = { reply: () => "a long answer that never ends", stallAfterPieces: 2 };
    const opened = await open({ alpha: stalling, beta: stalling }, "battle");
    const { page, server, directory } = opened;
    await startBattle(page, "Hello");
    // Both answers are streaming and stalled: copy the database as a kill -9 now would leave it.
    await expect.poll(() => page.locator("#view-battle .message.assistant .markdown").allInnerTexts(), slow).toEqual(["a long", "a long"]);
    const crashed = join(directory, "crashed.sqlite");
    await server.snapshot(crashed);
    await server.close();
    const restarted = await startScriptedPlayground({ directory, models: { alpha: {}, beta: {} }, databasePath: crashed, port: server.port });
    browser.onCleanup(() => restarted.close());
    return opened;
  }

  it("resumes a battle cut short by a server restart, after a reload", async () => {
    const { page } = await battleCutByRestart();
    await battleState(page, "interrupted");
    await page.reload();
    await page.waitForSelector("body[data-ready=true]", slow);
    // The battle comes back from the server: the message, the unfinished answers, Resume and Abandon.
    await battleState(page, "interrupted");
    expect(await page.locator("#view-battle .message.user").allInnerTexts()).toEqual([expect.stringContaining("Hello"), expect.stringContaining("Hello")]);
    expect(await columnAnswers(page)).toEqual([["interrupted"], ["interrupted"]]);
    expect(await page.locator("#battle-abandon").isVisible()).toBe(true);

    await battleState(page, "interrupted");
    await page.locator("#battle-retry").click();
    await waitFor(page, "#battle-vote-a:enabled");
    expect(await columnAnswers(page)).toEqual([["done"], ["done"]]);
    await page.locator("#battle-vote-a").click();
    await battleState(page, "closed");
  }, 120_000);

  it("abandons a battle cut short by a server restart, and a reload does not bring it back", async () => {
    const { page } = await battleCutByRestart();
    await battleState(page, "interrupted");
    await page.locator("#battle-abandon").click();
    await battleState(page, "empty");
    expect(await page.locator("#view-battle .message").count()).toBe(0);
    await page.reload();
    await page.waitForSelector("body[data-ready=true]", slow);
    await battleState(page, "empty");
    // A new battle starts normally on the restarted server.
    await startBattle(page, "Again");
    await battleState(page, "votable");
  }, 120_000);

  it("keeps the user's turn and the partial answer, marked interrupted, when the page is reloaded mid-answer, and reopens that conversation", async () => {
    const { page } = await open({ alpha: { reply: () => "Once upon a time there was a llama", stallAfterPieces: 5 } });
    await sendChat(page, "Tell me a story");
    const answer = page.locator("#view-chat .message.assistant").last();
    await expect.poll(() => answer.locator(".markdown").innerText(), slow).toBe("Once upon a tim");
    expect(await answer.getAttribute("data-state")).toBe("streaming");

    await page.reload();
    await page.waitForSelector("body[data-ready=true]", slow);
    await waitFor(page, '#view-chat .message.assistant[data-state="interrupted"]');
    expect(await page.locator("#chat-title").innerText()).toBe("Tell me a story");
    expect(await page.locator("#view-chat .message.user .markdown").allInnerTexts()).toEqual(["Tell me a story"]);
    expect(await page.locator("#view-chat .message.assistant .markdown").allInnerTexts()).toEqual(["Once upon a tim"]);
    expect(await page.locator("#view-chat .interrupted-note").count()).toBe(1);
  }, 120_000);

  it("renames a conversation with Enter without an error", async () => {
    const { page, pageErrors } = await open({ alpha: {} });
    await sendChat(page, "Name me");
    await waitFor(page, '#view-chat .message.assistant[data-state="done"]');
    await page.locator("#chat-rename").click();
    await page.keyboard.press("Control+A");
    await page.keyboard.type("Renamed with Enter");
    await page.keyboard.press("Enter");
    await waitFor(page, '.conversation-link:has-text("Renamed with Enter")');
    expect(await page.locator("#chat-title").innerText()).toBe("Renamed with Enter");
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it("checks settings in the form before sending, and never saves invalid ones into the conversation", async () => {
    const { page, server } = await open({ alpha: {} });
    const sent: string[] = [];
    page.on("request", (request) => {
      if (request.method() !== "GET") sent.push(new URL(request.url()).pathname);
    });
    await setSetting(page, "chat", "Temperature", "0.5");
    await sendChat(page, "First");
    await waitFor(page, '#view-chat .message.assistant[data-state="done"]');
    const id = (await (await fetch(`${server.url}/api/conversations`)).json()).data[0].id as string;
    const stored = async () => (await (await fetch(`${server.url}/api/conversations/${id}`)).json()) as ConversationWithMessages;
    expect((await stored()).settings.temperature).toBe(0.5);

    for (const [label, value, problem] of [
      ["Temperature", "5", "Temperature must be at most 2"],
      ["Temperature", "0.7", null],
      ["Top-p", "0", "Top-p must be greater than 0"],
      ["Top-p", "0.9", null],
      ["Max tokens", "2.5", "Max tokens must be a whole number"],
    ] as const) {
      await setSetting(page, "chat", label, value);
      if (problem === null) continue;
      sent.length = 0;
      await sendChat(page, "Second");
      await expect.poll(() => page.locator("[role=tabpanel]:not([hidden]) > .tab-status").innerText(), slow).toBe(problem);
      expect(await page.locator("#view-chat").getByLabel(label, { exact: true }).getAttribute("aria-invalid")).toBe("true");
      expect(await page.locator("#chat-input").inputValue()).toBe("Second");
      expect(sent).toEqual([]);
    }
    const after = await stored();
    expect(after.settings.temperature).toBe(0.5);
    expect(after.messages).toHaveLength(2);
  }, 120_000);
});
