import { parseArgs, type ParseArgsConfig } from "node:util";
import { InvalidArgumentError } from "../errors/index.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** parseArgs with our error type: an unknown or malformed flag is one clear line naming the flag. */
export function parseCommandArgs<T extends Options>(argv: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const flag = /'(-{1,2}[^' ]+)/.exec(message)?.[1] ?? "arguments";
    throw new InvalidArgumentError(flag, message.replace(/\. To specify a positional argument.*$/s, ""));
  }
}

/** A numeric flag: undefined when absent, an error naming the flag when not a number in range. */
export function numberFlag(
  value: string | boolean | undefined | (string | boolean)[],
  flag: string,
  range: { min?: number; max?: number; integer?: boolean } = {},
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new InvalidArgumentError(flag, `--${flag} needs a value`);
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number)) {
    throw new InvalidArgumentError(flag, `--${flag} must be a number, got "${value}"`);
  }
  if (range.integer && !Number.isInteger(number)) {
    throw new InvalidArgumentError(flag, `--${flag} must be an integer, got "${value}"`);
  }
  if (range.min !== undefined && number < range.min) {
    throw new InvalidArgumentError(flag, `--${flag} must be at least ${range.min}, got ${value}`);
  }
  if (range.max !== undefined && number > range.max) {
    throw new InvalidArgumentError(flag, `--${flag} must be at most ${range.max}, got ${value}`);
  }
  return number;
}
