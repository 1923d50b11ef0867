// The playground in real headless Chromium (Debian's `chromium`, driven by playwright-core) against a
// real server on loopback with local llama.cpp models. Screenshots of every screen go to
// test-artifacts/web/. Every request the page makes must stay on the server's loopback origin.
// Each test sets up what it checks (its own conversation, its own battle) and waits for markers (an
// answer's data-state, a button's state), so any one of them passes alone, in any order, on a loaded machine.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/shared-data.js";
import { startPlaygroundServer } from "./support/playground-server.js";

const chromiumPath = "/usr/bin/chromium";
const artifacts = join(repoRoot, "test-artifacts", "web");
const hasChromium = existsSync(chromiumPath);
// CI installs Chromium (.ci/run), so there a missing browser is a failure, never a silent skip.
if (!hasChromium && process.env.CI) throw new Error(`${chromiumPath} not found: .ci/run must install Debian's chromium`);
if (!hasChromium) console.warn(`playground e2e skipped: ${chromiumPath} not found (apt-get install -y chromium)`);

let server: Awaited<ReturnType<typeof startPlaygroundServer>>;
let browser: Browser;
let page: Page;
const requested: string[] = [];
/** Uncaught errors in the page (pageerror), checked by the tests whose actions could raise them. */
const pageErrors: string[] = [];

const shot = (name: string, target: Page = page) => target.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
const view = (id: string) => page.locator(`#view-${id}`);

async function openSettings(viewId: string, values: Record<string, string>) {
  const details = view(viewId).locator("details.settings");
  if (!(await details.evaluate((element) => (element as HTMLDetailsElement).open))) await details.locator("summary").click();
  for (const [label, value] of Object.entries(values)) await view(viewId).getByLabel(label, { exact: true }).fill(value);
}

/** Generous: a cold model or a first page load on a loaded 2-core machine is slow, but only a hang takes a minute. */
const slow = { timeout: 60_000 };

/** Start a new conversation in Chat with `model` and these settings (every test brings its own). */
async function newChat(model: string, settings: Record<string, string>) {
  await page.locator("#tab-chat").click();
  await page.locator("#chat-new").click();
  await expect.poll(() => page.locator("#chat-title").innerText()).toBe("New conversation");
  await view("chat").getByLabel("Model").selectOption(model);
  await openSettings("chat", settings);
}

/** A conversation as the server has it. */
const conversation = async (id: string) => (await fetch(`${server.url}/api/conversations/${id}`)).json();

/** The id of the conversation with this title (it must be the only one). */
async function conversationId(title: string): Promise<string> {
  const { data } = await (await fetch(`${server.url}/api/conversations?limit=500`)).json();
  const matching = data.filter((entry: { title: string }) => entry.title === title);
  expect(matching, `conversations titled ${JSON.stringify(title)}`).toHaveLength(1);
  return matching[0].id;
}

/** The data-state of each answer the locator finds ("streaming", "done", "error"). */
const answerStates = (answers: Locator) => answers.evaluateAll((elements) => elements.map((element) => element.getAttribute("data-state")));

/** Send one message in Chat; resolves with its answer once the answer's data-state says it ended. */
async function sendChat(text: string) {
  const answers = view("chat").locator(".message.assistant");
  const before = await answers.count();
  await page.locator("#chat-input").fill(text);
  await page.locator("#chat-input").press("Enter");
  await expect.poll(() => answers.count(), slow).toBe(before + 1);
  const answer = answers.nth(before);
  await expect.poll(() => answer.getAttribute("data-state"), slow).toBe("done");
  return answer;
}

// Each test may wait out several slow paths (60 s each at most): its own budget is the sum, not 60 s.
describe.skipIf(!hasChromium)("playground in headless Chromium", { timeout: 180_000 }, () => {
  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    server = await startPlaygroundServer();
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    context.on("request", (request) => requested.push(request.url()));
    page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(server.url);
    await page.waitForSelector("body[data-ready=true]");
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("streams a reply and stops the generation", async () => {
    // random-32k rarely samples EOS: with 2000 tokens to go it is still streaming when Stop is clicked.
    await newChat("random-32k", { "Max tokens": "2000", Temperature: "1" });
    await page.locator("#chat-input").fill("Tell me a long story");
    await page.locator("#chat-input").press("Enter");
    const reply = view("chat").locator(".message.assistant").last();
    const shown = () => reply.locator(".markdown").innerText();
    await expect.poll(async () => (await shown()).length, slow).toBeGreaterThan(0);
    expect(await reply.getAttribute("data-state")).toBe("streaming");
    expect(await reply.getAttribute("class")).toContain("streaming");
    await shot("chat-streaming");

    await page.locator("#chat-stop").click();
    await expect.poll(() => reply.getAttribute("data-state"), slow).toBe("done");
    expect(await page.locator("[role=tabpanel]:not([hidden]) > .tab-status").innerText()).toBe("Generation stopped");
    expect(await reply.locator(".meta").innerText()).toContain("stopped");
    // The server ended the generation too: once it logged the abort nothing more can arrive.
    const lastRequest = async () => (await (await fetch(`${server.url}/api/requests?limit=1&model=random-32k`)).json()).data[0];
    await expect.poll(async () => (await lastRequest()).status, slow).toBe("aborted");
    const stoppedText = await shown();
    expect(stoppedText.length).toBeGreaterThan(0);
    expect(await shown()).toBe(stoppedText);
  });

  it("shows the exact prompt the server evaluated in the inspector", async () => {
    await newChat("stories-a", { "Max tokens": "48", Temperature: "0", "System prompt": "You tell short stories." });
    await sendChat("Tell me a story");
    const last = await sendChat("Once upon a time");
    expect(await page.locator("[role=tabpanel]:not([hidden]) > .tab-status").innerText()).toBe("Reply finished");
    await last.locator(".inspector summary").focus();
    await page.keyboard.press("Enter");
    const prompt = await last.locator(".exact-prompt").innerText();
    expect(prompt).toContain("You tell short stories.");
    expect(prompt).toContain("Tell me a story");
    expect(prompt).toContain("Once upon a time");
    // The inspector shows exactly what the server evaluated: compare with its request log.
    const log = await (await fetch(`${server.url}/api/requests?limit=5&model=stories-a`)).json();
    const logged = log.data.find((row: { endpoint: string }) => row.endpoint === "chat.completions");
    const inspectorPrompt = await last.locator(".exact-prompt").evaluate((element) => element.textContent);
    expect(inspectorPrompt).toBe(logged.prompt);
    const tokenCount = Number(await last.locator(".token-count").innerText());
    expect(tokenCount).toBe(logged.prompt_tokens);
    expect(await last.locator(".prompt-format").innerText()).toMatch(/\(heuristic\)|\(model-template\)/);
    await shot("chat-inspector");
  });

  it("finds the conversation again after a reload, renames it from the keyboard and exports it", async () => {
    await newChat("stories-b", { "Max tokens": "24", Temperature: "0", "System prompt": "You tell tales." });
    await sendChat("A tale for the reload");
    await sendChat("Once upon a time");

    await page.reload();
    await page.waitForSelector("body[data-ready=true]");
    const link = page.locator(".conversation-link", { hasText: "A tale for the reload" });
    await expect.poll(() => link.count()).toBe(1);
    await link.focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => view("chat").locator(".message").count()).toBe(4);
    await view("chat").locator(".message.assistant").last().locator(".inspector summary").click();
    expect(await view("chat").locator(".exact-prompt").last().innerText()).toContain("Once upon a time");

    const errorsBefore = pageErrors.length;
    await page.locator("#chat-rename").click();
    await page.keyboard.press("Control+A");
    await page.keyboard.type("Tales, renamed");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.locator(".conversation-link", { hasText: "Tales, renamed" }).count()).toBe(1);
    expect(await page.locator("#chat-title").innerText()).toBe("Tales, renamed");
    // Enter took the field out of the page, which fires its blur: that must not finish the rename twice.
    expect(pageErrors.slice(errorsBefore)).toEqual([]);

    const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#chat-export-sharegpt").click()]);
    const exported = JSON.parse(readFileSync((await download.path())!, "utf8"));
    expect(exported[0].conversations.map((turn: { from: string }) => turn.from)).toEqual(["system", "human", "gpt", "human", "gpt"]);
    const [jsonl] = await Promise.all([page.waitForEvent("download"), page.locator("#chat-export-jsonl").click()]);
    expect(JSON.parse(readFileSync((await jsonl.path())!, "utf8").trim()).messages).toHaveLength(5);
    await shot("chat-reloaded");
  });

  it("runs an anonymous battle: names hidden, vote after both answers, names revealed, leaderboard changes", async () => {
    await page.locator("#tab-leaderboard").click();
    await expect.poll(() => page.locator("#leaderboard-summary").innerText()).toContain("No votes yet");

    // Keyboard: arrow keys move along the tabs.
    await page.locator("#tab-leaderboard").focus();
    await page.keyboard.press("ArrowLeft");
    expect(await page.evaluate(() => location.hash)).toBe("#battle");
    await page.locator("#battle-new").click();
    await openSettings("battle", { "Max tokens": "24", Temperature: "0.8" });
    await page.locator("#battle-input").fill("Once upon a time");
    await page.locator("#battle-input").press("Enter");
    await expect.poll(() => page.locator("#battle-vote-a").isEnabled(), slow).toBe(true);
    const battleText = await view("battle").innerText();
    for (const name of ["stories-a", "stories-b", "random-32k"]) expect(battleText).not.toContain(name);
    expect(await view("battle").locator(".message.assistant").count()).toBe(2);
    await shot("battle-before-vote");

    // Focus moved to the first vote button: Enter votes "A is better".
    await page.keyboard.press("Enter");
    await expect.poll(() => page.locator("#battle-result").innerText()).toMatch(/A was (stories-a|stories-b|random-32k), B was (stories-a|stories-b|random-32k)/);
    const revealed = /A was (\S+), B was (\S+)\./.exec(await page.locator("#battle-result").innerText())!;
    expect(await page.locator("#battle-name-a").innerText()).toContain(revealed[1]);
    expect(await page.locator("#battle-vote-b").isDisabled()).toBe(true);
    await shot("battle-after-vote");

    await page.locator("#tab-leaderboard").click();
    await expect.poll(() => page.locator("#leaderboard-summary").innerText()).toContain("1 vote(s)");
    const winner = page.locator(`tr[data-model="${revealed[1]}"]`);
    expect(await winner.locator(".votes").innerText()).toBe("1");
    expect(Number(await winner.locator(".elo").innerText())).toBeCloseTo(1002, 5);
    expect(Number(await page.locator(`tr[data-model="${revealed[2]}"] .elo`).innerText())).toBeCloseTo(998, 5);
    expect(await page.locator("#leaderboard-matrix td", { hasText: "100%" }).count()).toBe(1);
    const [pairs] = await Promise.all([page.waitForEvent("download"), page.locator("#export-preferences").click()]);
    const pair = JSON.parse(readFileSync((await pairs.path())!, "utf8").trim());
    expect(pair).toMatchObject({ prompt: "Once upon a time", chosen_model: revealed[1], rejected_model: revealed[2] });
    const [battles] = await Promise.all([page.waitForEvent("download"), page.locator("#export-battles").click()]);
    expect(JSON.parse(readFileSync((await battles.path())!, "utf8"))).toMatchObject([{ model_a: revealed[1], model_b: revealed[2], winner: "model_a" }]);
    await shot("leaderboard");
  });

  it("sends one prompt to two models side by side, and merges answers in Collaboration", async () => {
    await page.locator("#tab-arena").click();
    await page.locator("#arena-reset").click();
    await openSettings("arena", { "Max tokens": "32" });
    const arenaAnswers = page.locator("#arena-columns .message.assistant");
    await page.locator("#arena-input").fill("Once upon a time");
    await page.locator("#arena-input").press("Enter");
    await expect.poll(() => answerStates(arenaAnswers), slow).toEqual(["done", "done"]);
    await expect.poll(() => page.locator("#arena-send").isEnabled()).toBe(true);
    expect(await page.locator("[role=tabpanel]:not([hidden]) > .tab-status").innerText()).toBe("All answers finished");
    expect(await page.locator("#arena-columns .column h3").allInnerTexts()).toEqual(["stories-a", "stories-b"]);
    expect(await page.locator("#arena-columns .message.assistant .markdown").allInnerTexts()).toHaveLength(2);
    // Multi-turn: each column continues its own conversation.
    await page.locator("#arena-input").fill("The end");
    await page.locator("#arena-input").press("Enter");
    await expect.poll(() => answerStates(arenaAnswers), slow).toEqual(["done", "done", "done", "done"]);
    await expect.poll(() => page.locator("#arena-send").isEnabled()).toBe(true);
    expect(await page.locator("#arena-columns .column").first().locator(".message").count()).toBe(4);
    const log = await (await fetch(`${server.url}/api/requests?limit=1&model=stories-b`)).json();
    expect(JSON.parse(log.data[0].messages).map((m: { content: string }) => m.content).slice(0, 1)).toEqual(["Once upon a time"]);
    expect(JSON.parse(log.data[0].messages)).toHaveLength(3);
    await shot("arena-side-by-side");

    await page.locator("#tab-collaborate").click();
    await openSettings("collaborate", { "Max tokens": "24" });
    await page.locator("#collab-input").fill("Once upon a time");
    await page.locator("#collab-run").click();
    // Two answers, then the merged one: three finished answers and a free Run button mark the end.
    await expect.poll(() => answerStates(page.locator("#collab-output .message.assistant")), slow).toEqual(["done", "done", "done"]);
    await expect.poll(() => page.locator("#collab-run").isEnabled()).toBe(true);
    expect(await page.locator("[role=tabpanel]:not([hidden]) > .tab-status").innerText()).toBe("Merged answer finished");
    expect(await page.locator("#collab-filled-prompt").evaluate((element) => element.textContent)).toContain("### Answer 2 (stories-b)");
    await page.locator("#collab-output details summary").click();
    await shot("collaborate");
  });

  it("fits a phone-sized screen without sideways scrolling", async () => {
    // A conversation of its own to show in the chat screen.
    const created = await fetch(`${server.url}/api/conversations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ title: "On a phone", model: "stories-a", messages: [{ role: "user", content: "Once upon a time" }, { role: "assistant", content: "there was a little girl named Lily.", model: "stories-a" }] }),
    });
    expect(created.status).toBe(201);
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    phone.on("request", (request) => requested.push(request.url()));
    for (const tab of ["chat", "battle", "leaderboard"]) {
      await phone.goto(`${server.url}/#${tab}`);
      await phone.waitForSelector("body[data-ready=true]");
      if (tab === "chat") {
        // On a phone the conversation list starts closed: the conversation gets the screen.
        await phone.locator("#chat-sidebar-toggle").click();
        await phone.locator(".conversation-link", { hasText: "On a phone" }).click();
        await expect.poll(() => phone.locator("#view-chat .message").count()).toBe(2);
      }
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await shot(`phone-${tab}`, phone);
    }
    await phone.close();
  });

  it("made no request outside the server's loopback origin", () => {
    expect(requested.length).toBeGreaterThan(10);
    const outside = requested.filter((url) => !url.startsWith(`${server.url}/`) && !url.startsWith("blob:") && !url.startsWith("data:"));
    expect(outside).toEqual([]);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
