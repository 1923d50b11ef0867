// Local-model flags, derived from the one settings schema: parseArgs options, parsing with errors that
// name the flag, and help lines. Every command that loads a GGUF model reads its flags through here.
import { InvalidArgumentError } from "../errors/index.js";
import { LOCAL_MODEL_FLAGS, localModelSettingsSchema, type LocalModelSettingKey, type LocalModelSettings } from "../spec/local-model-options.js";

type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;
type FlagOption = { type: "string" | "boolean"; short?: string; multiple?: boolean };

const BOOLEAN_SETTINGS: ReadonlySet<LocalModelSettingKey> = new Set(["flashAttention"]);
const REPEATABLE_SETTINGS: ReadonlySet<LocalModelSettingKey> = new Set(["lora"]);
/** Settings whose value is text (a name or a path), not a number. */
const TEXT_SETTINGS: ReadonlySet<LocalModelSettingKey> = new Set(["promptFormat", "engine", "llamaServerBin"]);

/** The parseArgs options of some settings' flags, typed so that parseArgs types their values. */
export type LocalModelFlagOptions<K extends LocalModelSettingKey, P extends string = ""> = {
  [Key in K as `${P}${(typeof LOCAL_MODEL_FLAGS)[Key]["flag"]}`]: Key extends "flashAttention"
    ? { type: "boolean" }
    : Key extends "lora"
      ? { type: "string"; multiple: true }
      : { type: "string"; short?: string };
};

/** parseArgs options for the given settings, each under its one flag name (with a prefix such as "user-"). */
export function localModelFlagOptions<K extends LocalModelSettingKey, P extends string = "">(keys: readonly K[], prefix?: P): LocalModelFlagOptions<K, P> {
  return Object.fromEntries(
    keys.map((key) => {
      const spec: { flag: string; short?: string } = LOCAL_MODEL_FLAGS[key];
      const option: FlagOption = {
        type: BOOLEAN_SETTINGS.has(key) ? "boolean" : "string",
        ...(spec.short && !prefix ? { short: spec.short } : {}),
        ...(REPEATABLE_SETTINGS.has(key) ? { multiple: true } : {}),
      };
      return [`${prefix ?? ""}${spec.flag}`, option];
    }),
  ) as LocalModelFlagOptions<K, P>;
}

/** `--lora path.gguf` or `--lora path.gguf:0.5` (scale after the last colon). */
export function parseLoraFlag(value: string): { path: string; scale: number } {
  const match = /^(.*):([-+]?\d*\.?\d+)$/.exec(value);
  if (!match) return { path: value, scale: 1 };
  return { path: match[1], scale: Number(match[2]) };
}

function flagNumber(value: string): number {
  // Number("") is 0: an empty value must not pass as a number.
  return value.trim() === "" ? Number.NaN : Number(value);
}

/**
 * The given settings from their flags, validated by the settings schema. An absent flag is absent
 * from the result; a bad one is an InvalidArgumentError naming the flag, with the schema's message:
 * `--ctx-size must be an integer from 16 to 1048576, got "8"`, word for word what a config file gets.
 */
/** `prefix`: the flags' prefix in `values` ("user-"); `shownPrefix`: the one the user typed, when `values` has it stripped. */
export function parseLocalModelFlags(values: FlagValues, keys: readonly LocalModelSettingKey[], prefix = "", shownPrefix = ""): LocalModelSettings {
  const raw: Record<string, unknown> = {};
  const given: Partial<Record<LocalModelSettingKey, string[]>> = {};
  for (const key of keys) {
    const flag = `${prefix}${LOCAL_MODEL_FLAGS[key].flag}`;
    const value = values[flag];
    if (value === undefined) continue;
    const texts = (Array.isArray(value) ? value : [value]).map(String);
    given[key] = texts;
    if (BOOLEAN_SETTINGS.has(key)) {
      if (value !== true) throw new InvalidArgumentError(flag, `--${flag} takes no value`);
      raw[key] = true;
    } else if (key === "lora") raw[key] = texts.map(parseLoraFlag);
    else if (TEXT_SETTINGS.has(key)) raw[key] = texts[0];
    else if (typeof value !== "string") throw new InvalidArgumentError(flag, `--${flag} needs a value`);
    else raw[key] = flagNumber(value);
  }
  const parsed = localModelSettingsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const key = issue.path[0] as LocalModelSettingKey;
  const flag = `${shownPrefix}${prefix}${LOCAL_MODEL_FLAGS[key].flag}`;
  const texts = given[key] ?? [];
  const text = typeof issue.path[1] === "number" ? texts[issue.path[1]] : texts[0];
  const detail = issue.path.slice(typeof issue.path[1] === "number" ? 2 : 1).join(".");
  throw new InvalidArgumentError(flag, `--${flag}${detail ? ` ${detail}` : ""} ${issue.message}, got "${text}"`);
}

/** Help lines for the given settings' flags, in the column layout of `camelid serve --help`. */
export function localModelFlagHelp(keys: readonly LocalModelSettingKey[], notes: Partial<Record<LocalModelSettingKey, string>> = {}): string {
  return keys
    .map((key) => {
      const spec: { flag: string; short?: string; value: string; help: string } = LOCAL_MODEL_FLAGS[key];
      const name = `${spec.short ? `-${spec.short}, ` : ""}--${spec.flag}${spec.value ? ` ${spec.value}` : ""}`;
      return `  ${name.padEnd(25)}${spec.help}${notes[key] ? ` ${notes[key]}` : ""}\n`;
    })
    .join("");
}
