import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../../support/shared-data.js";
import { waitUntil } from "../../support/wait-for.js";

export interface CliChild {
  process: ChildProcess;
  output(): { stdout: string; stderr: string };
  /** Resolves with the exit code or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnCli(args: string[]): CliChild {
  const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "test/train/support/cli-child.ts"), ...args], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "", stderr = "";
  child.stdout!.on("data", (data) => (stdout += String(data)));
  child.stderr!.on("data", (data) => (stderr += String(data)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return { process: child, output: () => ({ stdout, stderr }), exited };
}

/** Polls `condition` every 10 ms until it holds (test/support/wait-for.ts); `timeoutMs` only bounds a hang. */
export function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return waitUntil(condition, { what, timeoutMs, intervalMs: 10 });
}
