// Issue 19 point 1 in headless Chromium, at both playground viewports: per-message actions. Chat:
// regenerate (a sibling answer, browsed with ‹ n/m ›), edit a user turn (a branch, and back), copy
// (read back from the page's clipboard), delete, and a reload that keeps the chosen branch. Battle:
// regenerate one side, browse its versions, reload (the battle reopens on the versions chosen), vote,
// and the export names the answers compared. Arena: regenerate a column, choose a version, reload (the
// saved session reopens with both versions and the chosen one), and the next turn goes on from it.
// Waits for the page's markers (data-state, data-position, data-copy-state), never for a time.
import type { Locator, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { toBattleRows } from "../../src/server/arena/arena-exports.js";
import type { ArenaState } from "../../src/server/routes/playground-session-schemas.js";
import type { PlaygroundSessionExport, PlaygroundSessionView } from "../../src/server/routes/playground-sessions.js";
import { saveScreenshot, playgroundViewports } from "./support/screenshots.js";
import { hasChromium, scriptedBrowser, slow } from "./support/scripted-browser.js";
import type { ScriptedServerModel } from "./support/scripted-playground-server.js";

const browser = scriptedBrowser("camelid-web-actions-");

/** A model whose answers are numbered, so a regenerated answer differs from the one before it. */
function numbered(name: string): ScriptedServerModel {
  let answers = 0;
  return { reply: (o) => `${name} answer ${++answers} to ${o.messages?.filter((m) => m.role === "user").at(-1)?.content}` };
}

const texts = (page: Page, selector: string) => page.locator(`${selector} .markdown`).allInnerTexts();
/** The chat transcript once no answer is streaming, as the texts on screen. */
async function transcript(page: Page) {
  await page.locator("#view-chat .message.assistant[data-state=streaming]").waitFor({ state: "detached", ...slow });
  return texts(page, "#view-chat .transcript .message");
}
const until = (read: () => Promise<unknown>, expected: unknown) => expect.poll(read, slow).toEqual(expected);
/** The action button `action` of the nth message of `role` in the chat. */
const chatAction = (page: Page, role: string, nth: number, action: string) => page.locator(`#view-chat .message.${role}`).nth(nth).locator(`.message-actions [data-action=${action}]`);
/** The "‹ n/m ›" position of a locator's alternatives as on screen now (null: it has none), read without waiting. */
const positionOf = async (scope: Locator) => {
  const nav = scope.locator(".sibling-nav");
  return (await nav.count()) > 0 ? nav.first().getAttribute("data-position") : null;
};
const position = (page: Page, role: string, nth: number) => positionOf(page.locator(`#view-chat .message.${role}`).nth(nth));

describe.skipIf(!hasChromium)("per-message actions in headless Chromium", () => {
  beforeAll(() => browser.launch(), 60_000);
  afterEach(() => browser.cleanUp());
  afterAll(() => browser.close());

  describe.each(playgroundViewports)("at $name size ($width×$height)", (viewport) => {
    it("regenerates, edits into a branch and back, copies, deletes, and a reload keeps the branch", async () => {
      const { page, pageErrors, server } = await browser.open({ bot: numbered("bot") }, "chat", viewport);
      await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
      page.on("dialog", (dialog) => void dialog.accept());
      await page.locator("#chat-input").fill("Hello");
      await page.locator("#chat-input").press("Enter");
      await chatAction(page, "assistant", 0, "regenerate").waitFor(slow);
      expect(await transcript(page)).toEqual(["Hello", "bot answer 1 to Hello"]);

      // Regenerate: a second answer beside the first, browsed with ‹ 2/2 ›.
      await chatAction(page, "assistant", 0, "regenerate").click();
      await until(() => position(page, "assistant", 0), "2/2");
      expect(await transcript(page)).toEqual(["Hello", "bot answer 2 to Hello"]);
      await chatAction(page, "assistant", 0, "previous").click();
      await until(() => position(page, "assistant", 0), "1/2");
      expect(await transcript(page)).toEqual(["Hello", "bot answer 1 to Hello"]);
      await chatAction(page, "assistant", 0, "next").click();
      await until(() => position(page, "assistant", 0), "2/2");
      await saveScreenshot(page, "chat-regenerated-answer");

      // Edit the user turn: a new branch; the old one (with its chosen answer) is a click away.
      await chatAction(page, "user", 0, "edit").click();
      await page.locator("#view-chat .message-editor-input").fill("Hello, edited");
      await page.locator("#view-chat [data-action=send-edit]").click();
      await until(() => position(page, "user", 0), "2/2");
      expect(await transcript(page)).toEqual(["Hello, edited", "bot answer 3 to Hello, edited"]);
      await saveScreenshot(page, "chat-edited-branch");
      await chatAction(page, "user", 0, "previous").click();
      await until(() => position(page, "user", 0), "1/2");
      expect(await transcript(page)).toEqual(["Hello", "bot answer 2 to Hello"]);

      // Copy puts the message's raw Markdown on the clipboard.
      await chatAction(page, "assistant", 0, "copy").click();
      await page.locator('#view-chat .message.assistant [data-action=copy][data-copy-state="copied"]').waitFor(slow);
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe("bot answer 2 to Hello");

      // A reload reopens the conversation on the branch that was chosen.
      await page.reload();
      await page.waitForSelector("body[data-ready=true]", slow);
      await until(() => position(page, "user", 0), "1/2");
      expect(await transcript(page)).toEqual(["Hello", "bot answer 2 to Hello"]);
      await until(() => position(page, "assistant", 0), "2/2");

      // Delete the shown answer (confirmed): its sibling takes its place; then the user turn, with what follows it.
      await chatAction(page, "assistant", 0, "delete").click();
      await until(() => transcript(page), ["Hello", "bot answer 1 to Hello"]);
      expect(await position(page, "assistant", 0)).toBeNull();
      await chatAction(page, "user", 0, "delete").click();
      await until(() => transcript(page), ["Hello, edited", "bot answer 3 to Hello, edited"]);
      expect(await position(page, "user", 0)).toBeNull();
      // The conversation goes on from the branch on screen (the server checks the request is that branch).
      await page.locator("#chat-input").fill("More");
      await page.locator("#chat-input").press("Enter");
      await chatAction(page, "assistant", 1, "regenerate").waitFor(slow);
      expect(await transcript(page)).toEqual(["Hello, edited", "bot answer 3 to Hello, edited", "More", "bot answer 4 to More"]);
      expect(await page.locator("#view-chat .message.error").count()).toBe(0);
      expect(pageErrors).toEqual([]);
    }, 120_000);

    it("regenerates one side of a battle and the arena, browses its answers, and the vote records the answers compared", async () => {
      const { page, pageErrors, server } = await browser.open({ alpha: numbered("alpha"), beta: numbered("beta") }, "battle", viewport);
      const view = page.locator("#view-battle");
      const side = (name: string) => page.locator(`#view-battle .column[data-side=${name}] .message.assistant`).last();
      const state = (value: string) => page.locator(`#view-battle[data-state=${value}]`).waitFor(slow);
      await page.locator("#battle-input").fill("Hi");
      await page.locator("#battle-input").press("Enter");
      await state("votable");
      const first = await side("a").locator(".markdown").innerText();
      expect(first).toMatch(/^(alpha|beta) answer 1 to Hi$/);

      await side("a").locator("[data-action=regenerate]").click();
      await state("votable");
      expect(await positionOf(side("a"))).toBe("2/2");
      const second = await side("a").locator(".markdown").innerText();
      expect(second).toBe(first.replace("answer 1", "answer 2"));
      // Still anonymous: no model name in the headings until the vote.
      expect(await view.locator("h3").allInnerTexts()).toEqual(["Model A", "Model B"]);
      await saveScreenshot(page, "battle-regenerated-side");
      await side("a").locator("[data-action=previous]").click();
      await expect.poll(() => positionOf(side("a")), slow).toBe("1/2");
      expect(await side("a").locator(".markdown").innerText()).toBe(first);
      await side("a").locator("[data-action=next]").click();
      await expect.poll(() => positionOf(side("a")), slow).toBe("2/2");

      // A reload reopens the battle (#battle/<id>) with both versions and the one chosen on screen.
      expect(page.url()).toMatch(/#battle\/[^/]+$/);
      await page.reload();
      await page.waitForSelector("body[data-ready=true]", slow);
      await state("votable");
      expect(await positionOf(side("a"))).toBe("2/2");
      expect(await side("a").locator(".markdown").innerText()).toBe(second);
      expect(await view.locator("h3").allInnerTexts()).toEqual(["Model A", "Model B"]);

      await page.locator("#battle-vote-a").click();
      await state("closed");
      const rows = (await (await fetch(`${server.url}/api/arena/export/battles.json`)).json()) as ReturnType<typeof toBattleRows>;
      expect(rows[0].compared_versions).toEqual([{ turn: 0, a: 1, b: 0 }]);
      expect(rows[0].conversation_a.at(-1)!.content).toBe(second);

      // Arena (side by side): a column's answer is regenerated and browsed the same way.
      await page.goto(page.url().replace(/#.*$/, "#arena"));
      await page.waitForSelector("body[data-ready=true]", slow);
      await page.locator("#arena-input").fill("Yo");
      await page.locator("#arena-input").press("Enter");
      const column = page.locator("#arena-columns .column").first();
      await column.locator(".message.assistant[data-state=done] [data-action=regenerate]").waitFor(slow);
      const before = await column.locator(".message.assistant .markdown").innerText();
      await column.locator("[data-action=regenerate]").click();
      await expect.poll(() => positionOf(column), slow).toBe("2/2");
      expect(await column.locator(".message.assistant .markdown").innerText()).not.toBe(before);
      const regenerated = await column.locator(".message.assistant .markdown").innerText();
      await column.locator("[data-action=previous]").click();
      await expect.poll(() => column.locator(".message.assistant .markdown").innerText(), slow).toBe(before);

      // The saved session keeps both answers and the one chosen: a reload (#arena/<id>) reopens it so.
      const sessionId = decodeURIComponent(/#arena\/([^/]+)$/.exec(page.url())?.[1] ?? "");
      expect(sessionId).not.toBe("");
      const savedFirst = async () => ((await (await fetch(`${server.url}/api/sessions/${encodeURIComponent(sessionId)}`)).json()) as PlaygroundSessionView & { state: ArenaState }).state.turns[0].answers[0];
      await expect.poll(async () => (await savedFirst()).version, slow).toBe(0);
      expect((await savedFirst()).versions?.map((version) => version.text)).toEqual([before, regenerated]);
      await page.reload();
      await page.waitForSelector("body[data-ready=true]", slow);
      await page.locator('#arena-columns[data-state="ready"]').waitFor(slow);
      expect(await positionOf(column)).toBe("1/2");
      expect(await column.locator(".message.assistant .markdown").innerText()).toBe(before);
      await column.locator("[data-action=next]").click();
      await expect.poll(() => positionOf(column), slow).toBe("2/2");
      // The next turn goes on from the answer on screen; the earlier turn's answer is then copy only.
      await page.locator("#arena-input").fill("And?");
      await page.locator("#arena-input").press("Enter");
      await expect.poll(() => column.locator(".message.assistant").count(), slow).toBe(2);
      await page.locator('#arena-columns[data-state="ready"]').waitFor(slow);
      expect(await column.locator(".message.assistant").first().locator("[data-action=regenerate]").count()).toBe(0);
      expect(await column.locator(".message.assistant").last().locator(".markdown").innerText()).toMatch(/answer \d+ to And\?$/);
      const turns = ((await (await fetch(`${server.url}/api/sessions/${encodeURIComponent(sessionId)}/export`)).json()) as PlaygroundSessionExport).conversations;
      expect(turns?.[0].messages.map((message) => message.content).slice(0, 3)).toEqual(["Yo", regenerated, "And?"]);
      expect(pageErrors).toEqual([]);
    }, 120_000);
  });
});
