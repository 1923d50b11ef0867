// What camelid and its watchdog process (watchdog.ts) agree on; kept apart so importing it never runs the watchdog.
import { fileURLToPath } from "node:url";

/** The first line the watchdog writes to stdout, before llama-server writes anything: how camelid learns its pid. */
export const WATCHDOG_PID_MARKER = "camelid-watchdog: llama-server pid ";

/** How the watchdog is started: this Node, with tsx's loader (the package ships TypeScript), on watchdog.ts. */
export function watchdogCommand(): { command: string; args: string[] } {
  return {
    command: process.execPath,
    args: ["--import", import.meta.resolve("tsx"), fileURLToPath(new URL("./watchdog.ts", import.meta.url))],
  };
}
