/** Keeps the last row per key: a resumed run appends a retried item after its $ERROR$ row. */
export function latestRows<T>(rows: readonly T[], key: (row: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const row of rows) {
    const k = key(row);
    byKey.delete(k); // re-insert so the order follows the latest write
    byKey.set(k, row);
  }
  return [...byKey.values()];
}
