// One downloader per blob across processes: a lock file created exclusively, holding the owner's pid.
import { mkdir, open, readFile, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import type { SleepFunction } from "./hub-client.js";

export interface LockOptions {
  sleep: SleepFunction;
  /** How often a waiting pull looks again; another process gives no event we could wait on portably. */
  pollMs?: number;
  /** Told once when the lock is held by a live process, with its pid. */
  onWait?: (ownerPid: number | undefined) => void;
  signal?: AbortSignal;
}

/** Runs `body` holding the lock at `path`; a lock whose owner died (a killed pull) is taken over. */
export async function withFileLock<T>(path: string, body: () => Promise<T>, options: LockOptions): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  let toldWaiting = false;
  for (;;) {
    try {
      const handle = await open(path, "wx");
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = await lockOwner(path);
    if (owner !== undefined && !isProcessAlive(owner)) {
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (!toldWaiting) options.onWait?.(owner);
    toldWaiting = true;
    await options.sleep(options.pollMs ?? 250, options.signal);
  }
  try {
    return await body();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}

async function lockOwner(path: string): Promise<number | undefined> {
  const text = await readFile(path, "utf8").catch(() => "");
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Whether a process with this id exists (EPERM: it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
