import { InvalidArgumentError } from "../../errors/index.js";

/**
 * Runs `work` over the items with at most `concurrency` in flight. The first thrown error stops new
 * items from starting and is rethrown once the running ones settle (work that must not stop the
 * run turns its failures into rows itself, as the judge does with $ERROR$).
 */
export async function runWithConcurrency<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidArgumentError("concurrency", `concurrency must be a positive integer, got ${concurrency}`);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        await work(items[index], index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failure) throw failure.error;
}
