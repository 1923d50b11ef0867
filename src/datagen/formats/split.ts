import { seededRandom } from "../../random/seeded-random.js";
import { shuffle } from "../random.js";

/**
 * Splits records into named parts by ratio with a seeded shuffle. Records sharing a group key (the
 * pieces "<id>_part0", "<id>_part1" of one split conversation) stay in the same part, so no conversation
 * leaks between train and test.
 */
export function splitRecords<T>(records: T[], ratios: Record<string, number>, options: { seed?: number; groupOf?: (record: T, index: number) => string } = {}): Record<string, T[]> {
  const names = Object.keys(ratios);
  const total = Object.values(ratios).reduce((a, b) => a + b, 0);
  if (names.length === 0 || !(total > 0) || Object.values(ratios).some((r) => !(r >= 0))) throw new RangeError("split ratios must be non-negative and sum to more than 0");
  const groups = new Map<string, T[]>();
  records.forEach((record, index) => {
    const key = options.groupOf?.(record, index) ?? String(index);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(record);
  });
  const keys = shuffle([...groups.keys()], seededRandom(options.seed ?? 0));
  const parts: Record<string, T[]> = Object.fromEntries(names.map((name) => [name, []]));
  let start = 0;
  let cumulative = 0;
  names.forEach((name, i) => {
    cumulative += ratios[name];
    const end = i === names.length - 1 ? keys.length : Math.round((cumulative / total) * keys.length);
    for (const key of keys.slice(start, end)) parts[name].push(...groups.get(key)!);
    start = end;
  });
  return parts;
}

/** "<id>_part<k>" → "<id>": the group of a piece made by splitting a long conversation. */
export function conversationGroup(id: string | undefined, index: number): string {
  return id === undefined ? `#${index}` : id.replace(/_part\d+$/, "");
}
