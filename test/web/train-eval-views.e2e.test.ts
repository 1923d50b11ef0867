// The Train and Eval tabs in headless Chromium (Debian's chromium, driven by playwright-core) at both
// playground viewports, against the real app on loopback with stories260K served locally, training runs
// and an MT-bench result folder in its data dir. Waits for the markers the views set (data-points,
// data-run, data-shown, data-question-id), never for time.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServerApp } from "../../src/server/app.js";
import { listen } from "../../src/server/listen.js";
import { ModelRegistry } from "../../src/server/model-registry.js";
import { ConversationStore } from "../../src/server/store/conversations.js";
import { openServerDatabase } from "../../src/server/store/database.js";
import { stories260KPath } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";
import { chromiumPath, hasChromium, slow } from "./support/scripted-browser.js";
import { playgroundViewports, saveScreenshot } from "./support/screenshots.js";
import { appendMetrics, dpoTrainRecord, localModelSpec, trainRecord, validationRecord, writeFailedRun, writeFinishedRun, writeMtBenchResults, writeRunningRun } from "./support/train-eval-data.js";

const newDirectory = temporaryDirectories("camelid-train-eval-web-");

let browser: Browser;
let server: Awaited<ReturnType<typeof listen>>;
let registry: ModelRegistry;
let database: ReturnType<typeof openServerDatabase>;
let liveFolder: string;
let doneFolder: string;
let nextStep = 3;

const pointsOf = (page: Page, chart: string) => page.locator(`#${chart}`).getAttribute("data-points").then(Number);

describe.skipIf(!hasChromium)("the Train and Eval tabs in headless Chromium", () => {
  beforeAll(async () => {
    const dataDir = newDirectory();
    liveFolder = writeRunningRun(join(dataDir, "runs"), "live", [trainRecord(1, 3.5), trainRecord(2, 3.1)]);
    doneFolder = await writeFinishedRun(join(dataDir, "runs"), "done");
    writeRunningRun(join(dataDir, "runs"), "dpo", [dpoTrainRecord(1, 0, 0), dpoTrainRecord(2, 0.1, 0.5), dpoTrainRecord(3, 0.3, 0.75), { type: "validation", step: 3, loss: 0.6, tokens: 40, "rewards/accuracies": 1 }]);
    writeFailedRun(join(dataDir, "runs"), "diverged");
    writeMtBenchResults(join(dataDir, "eval"), "mt-bench");
    registry = new ModelRegistry([localModelSpec("stories260K", stories260KPath())]);
    database = openServerDatabase(join(dataDir, "camelid.sqlite"));
    const { app } = createServerApp({
      registry,
      conversations: new ConversationStore(database),
      trainingRuns: { directory: join(dataDir, "runs"), adapterModel: (model) => localModelSpec(model.id, model.path, model.lora) },
      evalResultsDirectory: join(dataDir, "eval"),
    });
    server = await listen(app, { host: "127.0.0.1", port: 0 });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await registry?.dispose();
    database?.close();
  });

  async function openPage(viewport: { width: number; height: number }, hash: string) {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text());
    });
    await page.goto(`${server.url}/#${hash}`);
    await page.waitForSelector("body[data-ready=true]", slow);
    return { page, pageErrors, close: () => context.close() };
  }

  /** Nothing on the page is wider than the viewport (a phone scrolls down, never sideways). */
  const fitsWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

  for (const viewport of playgroundViewports) {
    describe(`at ${viewport.name} ${viewport.width}×${viewport.height}`, () => {
      // One page per viewport; each test goes to its tab (a hash change, no reload) and checks the errors it caused.
      let shared: Awaited<ReturnType<typeof openPage>>;
      beforeAll(async () => {
        shared = await openPage(viewport, "chat");
      }, 60_000);
      afterAll(() => shared?.close());
      const tab = async (hash: string) => {
        shared.pageErrors.length = 0;
        await shared.page.evaluate((id) => (location.hash = id), hash);
        await shared.page.waitForSelector(`#view-${hash}:not([hidden])`, slow);
        return shared;
      };
      it("follows a running run's loss, validation and learning-rate charts as metrics.jsonl grows", async () => {
        const { page, pageErrors } = await tab("train");
        await page.locator('#train-runs li[data-run="live"] button').click();
        await page.waitForSelector('#view-train[data-run="live"] #train-run-state[data-state="running"]', slow);
        expect(await page.locator('#train-runs li[data-run="diverged"]').getAttribute("data-state")).toBe("failed");
        expect(await page.locator('#train-runs li[data-run="done"]').getAttribute("data-state")).toBe("finished");
        await expect.poll(() => pointsOf(page, "train-loss-chart"), slow).toBeGreaterThanOrEqual(2);
        const before = await pointsOf(page, "train-loss-chart");
        const lrBefore = await pointsOf(page, "train-lr-chart");

        // the training process appends two steps and a validation run: the charts gain exactly those points
        const last = nextStep + 1;
        appendMetrics(liveFolder, [trainRecord(nextStep, 2.9), trainRecord(last, 2.7), validationRecord(last, 2.8)]);
        nextStep += 2;
        await expect.poll(() => pointsOf(page, "train-loss-chart"), slow).toBe(before + 3);
        await expect.poll(() => pointsOf(page, "train-lr-chart"), slow).toBe(lrBefore + 2);
        expect(await page.locator('#train-loss-chart g[data-series="validation"]').getAttribute("data-count")).toBe(String((before + 3) - (lrBefore + 2)));
        expect(await page.locator("#train-loss-chart").getAttribute("aria-label")).toMatch(new RegExp(`training loss 2\\.7 at step ${last}`));
        expect(await page.locator("#train-serve").isDisabled()).toBe(true);
        expect(await page.locator('#train-settings tr[data-setting="rank"] td').innerText()).toBe("4");
        expect(await fitsWidth(page)).toBe(true);
        await saveScreenshot(page, "train-running");
        expect(pageErrors).toEqual([]);
      }, 90_000);

      it("charts a DPO run's rewards and reward accuracy from trl's metrics in metrics.jsonl", async () => {
        const { page, pageErrors } = await tab("train");
        await page.locator('#train-runs li[data-run="dpo"] button').click();
        await page.waitForSelector('#view-train[data-run="dpo"] #train-run-state[data-state="running"]', slow);
        await expect.poll(() => pointsOf(page, "train-rewards-chart"), slow).toBe(9); // chosen, rejected, margin × 3 steps
        expect(await pointsOf(page, "train-accuracy-chart")).toBe(4);
        expect(await page.locator('#train-accuracy-chart g[data-series="validation"]').getAttribute("data-count")).toBe("1");
        expect(await page.locator("#train-rewards-chart").getAttribute("aria-label")).toMatch(/margin 0\.3 at step 3/);
        expect(await pointsOf(page, "train-loss-chart")).toBe(4);
        expect(await fitsWidth(page)).toBe(true);
        expect(pageErrors).toEqual([]);
      }, 90_000);

      it("shows a finished run's settings and outputs, and serves its adapter as a model every picker lists and that answers", async () => {
        const { page, pageErrors } = await tab("train");
        await page.locator('#train-runs li[data-run="done"] button').click();
        await page.waitForSelector('#view-train[data-run="done"] #train-run-state[data-state="finished"]', slow);
        expect(await page.locator('#train-outputs tr[data-file="adapter.gguf"]').count()).toBe(1);
        expect(await page.locator('#train-settings tr[data-setting="targets"] td').innerText()).toBe("q, o");
        await page.locator('img[alt^="Loss chart of done"]').waitFor(slow);
        await expect.poll(() => pointsOf(page, "train-loss-chart"), slow).toBe(6);
        // one renderer: the live chart is the loss chart of the run's loss.svg (written by lossChartSvg in Node), node for node
        const sameChart = await page.evaluate((fileText) => {
          const file = new DOMParser().parseFromString(fileText, "image/svg+xml").getElementById("train-loss-chart");
          const live = document.getElementById("train-loss-chart");
          const markup = (element: Element | null) => (element ? new XMLSerializer().serializeToString(element) : "missing");
          return { equal: live !== null && file !== null && live.isEqualNode(file), live: markup(live), file: markup(file) };
        }, readFileSync(join(doneFolder, "loss.svg"), "utf8"));
        expect(sameChart.live).toBe(sameChart.file);
        expect(sameChart.equal).toBe(true);

        if ((await page.locator("#train-served").getAttribute("data-served")) === "") {
          await page.locator("#train-serve").click(); // the page reloads so every picker is built with the new model
        }
        await page.waitForSelector('#view-train[data-run="done"] #train-served[data-served="stories260K+done"]', slow);
        expect(await page.locator("#train-serve").isDisabled()).toBe(true);
        await saveScreenshot(page, "train-finished");

        // every model picker lists it, and it answers
        await page.locator("#tab-chat").click();
        expect(await page.locator('#chat-model option[value="stories260K+done"]').count()).toBe(1);
        expect(await page.locator('#collab-aggregator option[value="stories260K+done"]').count()).toBe(1);
        expect(await page.locator('#view-arena label[data-model-pick="stories260K+done"]').count()).toBe(1);
        await page.locator("#chat-model").selectOption("stories260K+done");
        // a short answer is enough to show that the new model answers
        const settings = page.locator("#view-chat details.settings");
        if (!(await settings.evaluate((element) => (element as HTMLDetailsElement).open))) await settings.locator("summary").click();
        await page.locator("#view-chat").getByLabel("Max tokens", { exact: true }).fill("8");
        const answers = page.locator("#view-chat .message.assistant");
        const count = await answers.count();
        await page.locator("#chat-input").fill("Once upon a time");
        await page.locator("#chat-input").press("Enter");
        await expect.poll(() => answers.nth(count).getAttribute("data-state"), slow).toBe("done");
        expect((await answers.nth(count).innerText()).trim().length).toBeGreaterThan(0);
        expect(pageErrors).toEqual([]);
      }, 90_000);

      it("shows eval show's tables and charts and browses question by question with the judge's reasoning", async () => {
        const { page, pageErrors } = await tab("eval");
        await page.waitForSelector('#view-eval[data-shown="mt-bench"]', slow);
        const single = page.locator('.eval-report[data-kind="single"]');
        expect(await single.locator('tr[data-row="strong"] td').first().innerText()).toBe("8.00");
        expect(await single.locator('tr[data-row="weak"] td').first().innerText()).toBe("2.00");
        expect(await page.locator('.eval-report[data-kind="pairwise"] figure[data-chart="win-rate-bars.svg"] img').count()).toBe(1);
        expect(await single.locator('figure[data-chart="category-radar.svg"] img').evaluate((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0)).toBe(true);

        // the first question (writing): both answers side by side, both games' reasoning and the verdicts
        await page.waitForSelector("#eval-question-view[data-question-id]:not([data-question-id=''])", slow);
        const questionView = page.locator("#eval-question-view");
        const firstId = await questionView.getAttribute("data-question-id");
        expect(await questionView.locator('.eval-turn[data-turn="1"] .eval-answer[data-model="strong"]').innerText()).toContain(`A thorough answer to question ${firstId}.`);
        expect(await questionView.locator('.eval-turn[data-turn="2"] .eval-answer[data-model="weak"]').innerText()).toContain("Still dunno.");
        const pairwise = questionView.locator('.eval-judgment[data-kind="pairwise"]');
        expect(await pairwise.locator(".verdict").innerText()).toBe("Game 1: strong; game 2: strong");
        expect(await pairwise.locator(".judgment-text").allInnerTexts()).toEqual([`Assistant A explains question ${firstId} well; B does not. [[A]]`, `Assistant B explains question ${firstId} well; A does not. [[B]]`]);
        expect(await questionView.locator('.eval-judgment[data-kind="single"] .verdict').allInnerTexts()).toEqual(["Rating: 8", "Rating: 2"]);
        await saveScreenshot(page, "eval-results");

        // by category, then question by question
        await page.locator("#eval-category").selectOption("stem");
        await page.waitForSelector(`#eval-question-view[data-question-id]:not([data-question-id="${firstId}"]):not([data-question-id=""])`, slow);
        const stemId = await questionView.getAttribute("data-question-id");
        expect(await questionView.locator(".meta").first().innerText()).toBe(`Question ${stemId} · stem`);
        await page.locator("#eval-next").click(); // after the last category: back to the first question
        await page.waitForSelector(`#eval-question-view[data-question-id="${firstId}"]`, slow);
        expect(await page.locator("#eval-category").inputValue()).toBe("writing");

        // one model only: its single grades, no comparison
        await page.locator("#eval-model-b").selectOption("");
        await page.waitForSelector('#eval-question-view[data-models="strong"]', slow);
        expect(await questionView.locator(".eval-answer").count()).toBe(2);
        expect(await questionView.locator('.eval-judgment[data-kind="single"] .verdict').allInnerTexts()).toEqual(["Rating: 8"]);
        expect(await fitsWidth(page)).toBe(true);
        expect(pageErrors).toEqual([]);
      }, 90_000);
    });
  }
});
