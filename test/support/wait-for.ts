// Waiting for something to happen, for tests that watch a process, a terminal or a page from outside.
// The timeout only bounds a hang: it is deliberately generous (a loaded 2-core machine, a cold model
// load, a first Chromium start) and never a performance budget. Budgets belong in bench/.

export interface WaitOptions<T> {
  /** Named in the error: "the first reply", "the server to free the sequence". */
  what: string;
  /** Default 60 s: far above the slowest honest path, so only a real hang fails. */
  timeoutMs?: number;
  /** Between probes; default 50 ms. */
  intervalMs?: number;
  /** How the last value seen is shown in the error (default: the value itself, JSON for objects). */
  show?: (value: T) => string;
}

export class WaitTimeoutError extends Error {
  override readonly name = "WaitTimeoutError";
}

const showDefault = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

/**
 * Probe until `accept` holds for the probed value, and return that value. A probe that throws counts as
 * "not yet" (a page element not there yet, a session still starting); its last error is reported.
 */
export async function waitFor<T>(probe: () => T | Promise<T>, accept: (value: T) => boolean, options: WaitOptions<T>): Promise<T> {
  const { what, timeoutMs = 60_000, intervalMs = 50, show = showDefault } = options;
  const deadline = Date.now() + timeoutMs;
  let last: { value: T } | { error: unknown } | undefined;
  for (;;) {
    try {
      const value = await probe();
      if (accept(value)) return value;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const seen = last === undefined ? "nothing" : "value" in last ? show(last.value) : `an error: ${String(last.error)}`;
  throw new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}; last seen:\n${seen}`);
}

/** Wait until `condition()` is true (a counter reached, a session gone). */
export async function waitUntil(condition: () => boolean | Promise<boolean>, options: Omit<WaitOptions<boolean>, "show">): Promise<void> {
  await waitFor(condition, (value) => value, options);
}
