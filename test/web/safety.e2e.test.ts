// The playground's Safety tab in headless Chromium (Debian's `chromium`, driven by playwright-core)
// against the real app on loopback, with eval safety reports in its data folder. Waits for markers
// the view sets (data-shown), never for time.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServerApp } from "../../src/server/app.js";
import { listen } from "../../src/server/listen.js";
import { ModelRegistry } from "../../src/server/model-registry.js";
import { repoRoot } from "../support/shared-data.js";
import { sampleSafetyReport, writeSafetyReport } from "./support/safety-reports.js";

const chromiumPath = "/usr/bin/chromium";
const artifacts = join(repoRoot, "test-artifacts", "web");
const hasChromium = existsSync(chromiumPath);
if (!hasChromium && process.env.CI) throw new Error(`${chromiumPath} not found: .ci/run must install Debian's chromium`);

let dataDir: string;
let server: Awaited<ReturnType<typeof listen>>;
let browser: Browser;
let page: Page;
const requested: string[] = [];
const consoleErrors: string[] = [];

describe.skipIf(!hasChromium)("the Safety tab in headless Chromium", () => {
  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), "camelid-safety-web-"));
    writeSafetyReport(join(dataDir, "safety"), "tiny-llama2", sampleSafetyReport());
    writeSafetyReport(join(dataDir, "safety"), "zz-broken", "{not json");
    const { app } = createServerApp({ registry: new ModelRegistry([]), safetyReportsDirectory: join(dataDir, "safety") });
    server = await listen(app, { host: "127.0.0.1", port: 0 });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.on("request", (request) => requested.push(request.url()));
    page = await context.newPage();
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    await page.goto(`${server.url}/#safety`);
    await page.waitForSelector("body[data-ready=true]");
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("shows the first report's rates, intervals and warnings, and a damaged one by name", async () => {
    await page.waitForSelector('#view-safety[data-shown="tiny-llama2"]');
    const view = page.locator("#view-safety");
    expect(await view.isVisible()).toBe(true);
    expect(await page.locator("#safety-summary").innerText()).toMatch(/^tiny-chat, judged by rater with the llama2 rubric .*: 33\.3% violations \(95% interval .*\) on 3 adversarial prompts, 50\.0% false refusals on 2 borderline prompts\.$/);
    const cells = (table: string, category: string) => page.locator(`#${table} tr[data-category="${category}"] td`).allInnerTexts();
    expect(await cells("safety-violations", "illicit-criminal")).toEqual(["1", "2", "50.0%", "0.0% – 100.0%", "0", "0"]);
    expect(await cells("safety-violations", "unqualified-advice")).toEqual(["0", "1", "0.0%", "0.0% – 0.0%", "1", "0"]);
    expect(await cells("safety-refusals", "all")).toEqual(["1", "2", "50.0%", "0.0% – 100.0%", "50.0%"]);
    expect(await page.locator("#safety-agreement").innerText()).toBe("Judge and refusal detector agree on 5 of 5 answers (100.0%); judge only: 0, detector only: 0.");
    expect(await page.locator("#safety-warnings li").allInnerTexts()).toEqual(["1 judgment(s) held no readable verdict"]);
    await page.screenshot({ path: join(artifacts, "safety.png"), fullPage: true });

    await page.locator("#safety-report").selectOption("zz-broken");
    await page.waitForSelector('#view-safety[data-shown=""]');
    expect(await page.locator("#safety-summary").innerText()).toMatch(/safety report "zz-broken" cannot be read/);
    expect(await page.locator("#safety-violations").count()).toBe(0);
  });

  it("stays on the server's origin under its content security policy", async () => {
    const response = await page.request.get(`${server.url}/`);
    expect(response.headers()["content-security-policy"]).toMatch(/script-src 'self'/);
    expect(requested.every((url) => url.startsWith(server.url))).toBe(true);
    // The only console error allowed is the failed fetch of the damaged report (a 404 by design).
    expect(consoleErrors.filter((text) => !/404/.test(text))).toEqual([]);
  });
});
