// Headless Chromium on scripted playground servers, for browser tests: one browser per test file, and
// per test its own server and browser context (fresh local storage), all closed after each test.
import { existsSync } from "node:fs";
import { chromium, type Browser, type BrowserContext } from "playwright-core";
import { temporaryDirectories } from "../../support/temporary-directories.js";
import { startScriptedPlayground, type ScriptedServerModel } from "./scripted-playground-server.js";

export const chromiumPath = "/usr/bin/chromium";
export const hasChromium = existsSync(chromiumPath);
if (!hasChromium && process.env.CI) throw new Error(`${chromiumPath} not found: .ci/run must install Debian's chromium`);

/** Generous: a first page load on a loaded 2-core machine is slow, but only a hang takes a minute. */
export const slow = { timeout: 60_000 };

export function scriptedBrowser(directoryPrefix: string) {
  const newDirectory = temporaryDirectories(directoryPrefix);
  const cleanups: (() => Promise<unknown>)[] = [];
  let browser: Browser | undefined;
  return {
    /** For beforeAll. */
    async launch() {
      browser = await chromium.launch({
        executablePath: chromiumPath,
        args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      });
    },
    /** Runs at the end of the current test (afterEach), last added first. */
    onCleanup(cleanup: () => Promise<unknown>) {
      cleanups.push(cleanup);
    },
    /** For afterEach. */
    async cleanUp() {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    },
    /** For afterAll. */
    close: () => browser?.close(),
    /** A server with these models and a fresh page on it at #hash, ready; errors the page throws are collected. */
    async open(models: Record<string, ScriptedServerModel>, hash = "chat", viewport = { width: 1280, height: 900 }) {
      const directory = newDirectory();
      const server = await startScriptedPlayground({ directory, models });
      const context: BrowserContext = await browser!.newContext({ viewport });
      cleanups.push(() => context.close(), () => server.close());
      const page = await context.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(error.message));
      await page.goto(`${server.url}/#${hash}`);
      await page.waitForSelector("body[data-ready=true]", slow);
      return { server, page, pageErrors, directory };
    },
  };
}
