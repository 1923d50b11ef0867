import { AbortError } from "../errors/index.js";

/** How code that backs off waits; injectable so tests record the waits instead of sitting through them. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Wait `ms`, or reject with AbortError as soon as the caller's signal fires. */
export const sleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortError());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
