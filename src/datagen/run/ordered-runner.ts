/**
 * Runs work items concurrently but commits their results strictly in index order, so a run's output
 * (and the ROUGE pool it grows) does not depend on which request happened to answer first, and a
 * resume can restart from "the first uncommitted index".
 */
export interface OrderedRunOptions<Result> {
  startIndex: number;
  concurrency: number;
  /** False once no more items exist (e.g. end of an input file). */
  hasItem(index: number): boolean;
  /** Checked before launching each item: false once enough has been committed. */
  shouldContinue(): boolean;
  execute(index: number, signal: AbortSignal): Promise<Result>;
  /** Called once per item, in index order; may be async (file writes). */
  commit(index: number, result: Result): void | Promise<void>;
  signal?: AbortSignal;
}

export async function runOrdered<Result>(options: OrderedRunOptions<Result>): Promise<{ committed: number }> {
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  const finished = new Map<number, { ok: true; value: Result } | { ok: false; error: unknown }>();
  const inFlight = new Set<Promise<void>>();
  let nextLaunch = options.startIndex;
  let nextCommit = options.startIndex;
  let committed = 0;
  try {
    for (;;) {
      while (inFlight.size < Math.max(1, options.concurrency) && options.shouldContinue() && options.hasItem(nextLaunch) && !controller.signal.aborted) {
        const index = nextLaunch++;
        const task: Promise<void> = options
          .execute(index, controller.signal)
          .then(
            (value) => void finished.set(index, { ok: true, value }),
            (error: unknown) => void finished.set(index, { ok: false, error }),
          )
          .finally(() => inFlight.delete(task));
        inFlight.add(task);
      }
      if (inFlight.size === 0 && !finished.has(nextCommit)) break;
      if (!finished.has(nextCommit)) await Promise.race(inFlight);
      while (finished.has(nextCommit)) {
        const outcome = finished.get(nextCommit)!;
        finished.delete(nextCommit);
        if (!outcome.ok) throw outcome.error;
        if (!options.shouldContinue()) {
          // Enough already: results still arriving are surplus and are not committed.
          controller.abort();
          finished.clear();
          break;
        }
        await options.commit(nextCommit, outcome.value);
        committed++;
        nextCommit++;
      }
      if (controller.signal.aborted && options.signal?.aborted) throw options.signal.reason ?? new Error("aborted");
      if (!options.shouldContinue() && inFlight.size > 0) {
        controller.abort();
        await Promise.allSettled([...inFlight]);
        break;
      }
    }
  } catch (error) {
    controller.abort();
    await Promise.allSettled([...inFlight]);
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", onOuterAbort);
  }
  return { committed };
}
