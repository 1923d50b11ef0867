// Training recipes: `camelid train --config recipe.yaml`, the settings a run saves in <out>/recipe.yaml,
// and the command line, all read through one path. A recipe's keys are the flags' names (or their
// camelCase); types, ranges and defaults come from trainingConfigSchema, so there is no second list.
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { Document, LineCounter, isMap, isScalar, parseDocument, visit } from "yaml";
import type { z } from "zod";
import { closestName, InvalidArgumentError } from "../errors/index.js";
import { TrainingRecipeError } from "./errors.js";
import { settingsFreeOnResume, trainingConfigSchema, trainingFlags, type TrainingConfig, type TrainingFlag, type TrainingSetting } from "./train-config.js";

/** The settings one source gives, keyed by flag name, and how to say where each was given. */
export interface SettingsLayer {
  values: Partial<Record<TrainingFlag, unknown>>;
  /** Command-line values are text ("0.01", "q,v"); a recipe's are typed YAML values. */
  text: boolean;
  /** Relative paths (model, data, out) are taken from here. */
  baseDir: string;
  /** "--lr", or "recipe.yaml:4: lr" (the key as it is written there). */
  where(flag: TrainingFlag): string;
  /** The typed error for a bad value of `flag`, naming where it was given. */
  error(flag: TrainingFlag, problem: string): Error;
}

const allFlags = Object.keys(trainingFlags) as TrainingFlag[];
const pathSettings: ReadonlySet<TrainingSetting> = new Set(["modelPath", "dataPath", "outDir"]);
/** How this command runs, not what it trains: not part of a saved recipe. */
const invocationFlags: ReadonlySet<TrainingFlag> = new Set(["resume", "overwrite"]);

/** The schema of one setting without its default/optional wrapper: what kind of value it takes. */
function settingSchema(setting: TrainingSetting): z.core.$ZodType {
  let schema = trainingConfigSchema.shape[setting] as z.core.$ZodType;
  while (schema._zod.def.type === "default" || schema._zod.def.type === "optional") schema = (schema._zod.def as unknown as { innerType: z.core.$ZodType }).innerType;
  return schema;
}

const enumOptions = (schema: z.core.$ZodType) => Object.values((schema._zod.def as unknown as { entries: Record<string, string> }).entries);

/** parseArgs options for every training flag: booleans are switches, everything else takes a value. */
export function trainingFlagOptions(): Record<TrainingFlag, { type: "string" | "boolean" }> {
  return Object.fromEntries(allFlags.map((flag) => [flag, { type: settingSchema(trainingFlags[flag])._zod.def.type === "boolean" ? "boolean" : "string" }])) as Record<
    TrainingFlag,
    { type: "string" | "boolean" }
  >;
}

/** The training flags given on the command line (parseArgs values; others are ignored). */
export function flagLayer(values: Record<string, unknown>, cwd: string): SettingsLayer {
  return {
    values: Object.fromEntries(allFlags.filter((flag) => values[flag] !== undefined).map((flag) => [flag, values[flag]])),
    text: true,
    baseDir: cwd,
    where: (flag) => `--${flag}`,
    error: (flag, problem) => new InvalidArgumentError(flag, `--${flag} ${problem}`),
  };
}

const kebab = (name: string) => name.replace(/_/g, "-").replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();

/** A recipe key's flag: the flag's own name or its camelCase ("grad-accum" or "gradAccum"). */
function flagOfKey(key: string): TrainingFlag | undefined {
  if (key in trainingFlags) return key as TrainingFlag;
  if (/^[a-z][a-zA-Z0-9]*$/.test(key) && kebab(key) in trainingFlags) return kebab(key) as TrainingFlag;
  return undefined;
}

/** The flag an unknown key most likely meant, also from the setting's long name ("learning_rate" → lr). */
function suggestFlag(key: string): TrainingFlag | undefined {
  const byName = new Map<string, TrainingFlag>();
  for (const flag of allFlags) {
    byName.set(flag, flag);
    byName.set(kebab(trainingFlags[flag]), flag);
  }
  const name = closestName(kebab(key), [...byName.keys()]);
  return name === undefined ? undefined : byName.get(name);
}

/**
 * Reads a YAML (or JSON) recipe: one `flag: value` per line. An unknown key, a key given twice, a value
 * that is not YAML or a document that is not a mapping is refused with the file, line and key.
 */
export function readRecipeFile(path: string, options: { shownAs?: string; baseDir: string }): SettingsLayer {
  const shown = options.shownAs ?? path;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new TrainingRecipeError(shown, undefined, "config", `cannot read the recipe ${shown}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const lineAt = (offset: number) => lines.linePos(offset).line;
  const fail = (line: number | undefined, key: string, problem: string) => new TrainingRecipeError(shown, line, key, `${shown}${line ? `:${line}` : ""}: ${problem}`);
  const syntax = document.errors[0];
  if (syntax) throw fail(lineAt(syntax.pos[0]), "config", `not valid YAML: ${syntax.message.split("\n")[0]}`);
  const contents = document.contents;
  if (contents !== null && !isMap(contents)) throw fail(lineAt(contents.range?.[0] ?? 0), "config", "a recipe is a mapping of settings, one `flag: value` per line (camelid train --help)");

  const plain = (document.toJS() ?? {}) as Record<string, unknown>;
  const values: Partial<Record<TrainingFlag, unknown>> = {};
  const keyOf: Partial<Record<TrainingFlag, { key: string; line: number }>> = {};
  for (const pair of contents?.items ?? []) {
    const line = isScalar(pair.key) && pair.key.range ? lineAt(pair.key.range[0]) : undefined;
    if (!isScalar(pair.key)) throw fail(line, "config", "a recipe's keys are flag names");
    const key = String(pair.key.value);
    const flag = flagOfKey(key);
    if (flag === undefined) {
      const hint = suggestFlag(key);
      throw fail(line, key, `unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}; a recipe's keys are camelid train's flags (camelid train --help)`);
    }
    const earlier = keyOf[flag];
    if (earlier) throw fail(line, key, `${key} sets ${flag}, which line ${earlier.line} already set (${earlier.key})`);
    keyOf[flag] = { key, line: line ?? 0 };
    values[flag] = plain[key];
  }
  const where = (flag: TrainingFlag) => `${shown}:${keyOf[flag]?.line ?? 0}: ${keyOf[flag]?.key ?? flag}`;
  return {
    values,
    text: false,
    baseDir: options.baseDir,
    where,
    error: (flag, problem) => new TrainingRecipeError(shown, keyOf[flag]?.line, keyOf[flag]?.key ?? flag, `${where(flag)} ${problem}`),
  };
}

const shown = (value: unknown) => (typeof value === "string" ? `"${value}"` : JSON.stringify(value));

/** One raw value → the setting's type: numbers from text, "q,v" lists, paths resolved; ranges are the schema's. */
function settingValue(flag: TrainingFlag, raw: unknown, layer: SettingsLayer): unknown {
  const setting = trainingFlags[flag];
  const schema = settingSchema(setting);
  const wrong = (expected: string) => layer.error(flag, `must be ${expected}, got ${shown(raw)}`);
  const oneOf = (value: unknown, options: string[]) => {
    if (typeof value !== "string" || !options.includes(value)) throw layer.error(flag, `must be one of ${options.join(", ")}, got ${shown(value)}`);
    return value;
  };
  if (raw === null) throw layer.error(flag, "has no value (leave the key out for the default)");
  switch (schema._zod.def.type) {
    case "number": {
      const number = typeof raw === "number" ? raw : layer.text && typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
      if (!Number.isFinite(number)) throw wrong("a number");
      return number;
    }
    case "boolean":
      if (typeof raw !== "boolean") throw wrong("true or false");
      return raw;
    case "enum":
      return oneOf(raw, enumOptions(schema));
    case "array": {
      const items = typeof raw === "string" ? raw.split(",").map((item) => item.trim()).filter(Boolean) : raw;
      const options = enumOptions((schema._zod.def as unknown as { element: z.core.$ZodType }).element);
      if (!Array.isArray(items)) throw wrong(`a list of ${options.join(", ")}`);
      if (items.length === 0) throw layer.error(flag, `needs at least one of ${options.join(",")}`);
      return items.map((item) => oneOf(item, options));
    }
    default:
      if (typeof raw !== "string") throw wrong("a string");
      return pathSettings.has(setting) ? resolve(layer.baseDir, raw) : raw;
  }
}

/** Settings from several sources, later ones winning (saved recipe, then --config, then flags). */
export interface MergedSettings {
  input: Partial<Record<TrainingSetting, unknown>>;
  /** The error for `flag`, naming the source that gave it (or the flag when none did). */
  error(flag: TrainingFlag, problem: string): Error;
}

export function mergeSettings(layers: readonly SettingsLayer[]): MergedSettings {
  const input: Partial<Record<TrainingSetting, unknown>> = {};
  const source: Partial<Record<TrainingFlag, SettingsLayer>> = {};
  for (const layer of layers) {
    for (const flag of allFlags) {
      if (!(flag in layer.values)) continue;
      input[trainingFlags[flag]] = settingValue(flag, layer.values[flag], layer);
      source[flag] = layer;
    }
  }
  return {
    input,
    error: (flag, problem) => source[flag]?.error(flag, problem) ?? new InvalidArgumentError(flag, `--${flag} ${problem}`),
  };
}

const flagOf = (setting: TrainingSetting) => allFlags.find((flag) => trainingFlags[flag] === setting)!;

/** The schema's verdict, its first complaint naming the flag or recipe line that gave the value. */
export function validateSettings(merged: MergedSettings, input: Record<string, unknown> = merged.input): TrainingConfig {
  const parsed = trainingConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const flag = flagOf(issue.path[0] as TrainingSetting);
  if (input[trainingFlags[flag]] === undefined) throw merged.error(flag, "is required (camelid train --help)");
  throw merged.error(flag, `is invalid: ${issue.message.charAt(0).toLowerCase()}${issue.message.slice(1)}`);
}

/**
 * The command line and an optional recipe file, over the run's saved recipe when resuming: `camelid
 * train --resume --out DIR` needs nothing else, and a flag given again must agree with it (checked by
 * runTraining against the saved recipe, as the checkpoint's fingerprint checks the data).
 */
export function resolveSettingsLayers(layers: readonly SettingsLayer[], savedRecipePath: (outDir: string) => string): MergedSettings {
  const merged = mergeSettings(layers);
  const outDir = merged.input.outDir;
  if (merged.input.resume !== true || typeof outDir !== "string") return merged;
  const saved = savedRecipePath(outDir);
  if (!existsSync(saved)) return merged;
  return mergeSettings([readRecipeFile(saved, { baseDir: dirname(saved) }), ...layers]);
}

/** The resolved settings by flag name, in --help's order: what <out>/recipe.yaml and run.json hold. */
export function recipeOf(config: TrainingConfig): Record<string, unknown> {
  const recipe: Record<string, unknown> = {};
  for (const flag of allFlags) {
    const value = config[trainingFlags[flag]];
    if (value !== undefined && !invocationFlags.has(flag)) recipe[flag] = value;
  }
  return recipe;
}

export function recipeYaml(config: TrainingConfig): string {
  const document = new Document(recipeOf(config));
  visit(document, { Seq: (_, list) => void (list.flow = true) }); // targets: [q, k, v, o], as one writes it
  document.commentBefore =
    " camelid train's settings for this run, after defaults, --config and flags.\n" +
    " camelid train --config <this file> repeats it; camelid train --resume --out <its folder> continues it.";
  return document.toString({ flowCollectionPadding: false });
}

/**
 * A resumed run must train with the settings it started with: any setting outside settingsFreeOnResume
 * that differs from the saved recipe is refused by name, before the model is loaded.
 */
export function checkResumedSettings(config: TrainingConfig, savedRecipePath: string): void {
  if (!existsSync(savedRecipePath)) return;
  const layer = readRecipeFile(savedRecipePath, { baseDir: dirname(savedRecipePath) });
  const saved = validateSettings(mergeSettings([layer]));
  for (const flag of allFlags) {
    const setting = trainingFlags[flag];
    if (settingsFreeOnResume.includes(setting) || isDeepStrictEqual(saved[setting], config[setting])) continue;
    const given = config[setting] === undefined ? "not set" : shown(config[setting]);
    const before = saved[setting] === undefined ? "it was not set" : `the run has ${shown(saved[setting])} (${layer.where(flag)})`;
    throw new InvalidArgumentError(
      flag,
      `--resume: ${flag} is ${given} here, but ${before}; resume with the run's settings (camelid train --resume --out ${config.outDir} reads them from ${savedRecipePath}) or start over with --overwrite`,
    );
  }
}
