// Screenshots of the playground's screens, taken by the e2e tests only when CAMELID_SCREENSHOTS_DIR is set
// (scripts/screenshots.sh sets it), so an ordinary `npm test` writes nothing and pays nothing.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";

/** The two viewports every playground point is checked at (issue 19). */
export const playgroundViewports = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const;

export type PlaygroundViewport = (typeof playgroundViewports)[number];

/** Saves `<dir>/<name>-<viewport>.png` when screenshots were asked for; a no-op otherwise. */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  const directory = process.env.CAMELID_SCREENSHOTS_DIR;
  if (!directory) return;
  mkdirSync(directory, { recursive: true });
  const size = page.viewportSize();
  const suffix = size ? `${size.width}x${size.height}` : "page";
  await page.screenshot({ path: join(directory, `${name.replace(/[^a-z0-9-]+/gi, "-")}-${suffix}.png`), fullPage: false });
}
