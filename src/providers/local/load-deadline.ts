// A model load that cannot run forever: a corrupt file that camelid's checks let through, a hung disk
// or a native loader stuck in a loop must end in a typed error after a bounded time, so one bad model
// never holds a server (or `generate`) hostage.

/** Ten minutes: a 70B model from a slow network disk loads in a few; a hang is far longer. */
export const DEFAULT_LOAD_TIMEOUT_MS = 600_000;

export interface DeadlineClock {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: DeadlineClock = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Runs `work` with an AbortSignal that fires after `timeoutMs`; the returned promise rejects with
 * `timeoutError()` at that moment, whether or not `work` honours the signal. A result that arrives
 * after the deadline is handed to `discardLate` (e.g. to free a model nobody will use).
 */
export function withDeadline<T>(
  work: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  timeoutError: () => Error,
  discardLate: (value: T) => void = () => undefined,
  clock: DeadlineClock = realClock,
): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let expired = false;
    const timer = clock.setTimeout(() => {
      expired = true;
      const error = timeoutError();
      controller.abort(error);
      reject(error);
    }, timeoutMs);
    work(controller.signal).then(
      (value) => {
        clock.clearTimeout(timer);
        if (expired) discardLate(value);
        else resolve(value);
      },
      (error: unknown) => {
        clock.clearTimeout(timer);
        if (!expired) reject(error);
      },
    );
  });
}
