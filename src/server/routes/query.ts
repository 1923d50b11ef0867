import { InvalidArgumentError } from "../../errors/index.js";

/**
 * An integer query parameter (`?limit=20`): absent gives `fallback`; anything but a plain integer
 * in [min, max] is a 400 naming the parameter (never a NaN or 1.5 handed to SQLite).
 */
export function integerQuery(value: string | undefined, name: string, range: { min: number; max: number; fallback: number }): number {
  if (value === undefined) return range.fallback;
  const number = /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < range.min || number > range.max) {
    throw new InvalidArgumentError(name, `'${name}' must be an integer from ${range.min} to ${range.max}, got ${JSON.stringify(value)}`);
  }
  return number;
}
