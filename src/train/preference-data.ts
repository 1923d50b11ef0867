import { InvalidArgumentError } from "../errors/index.js";
import type { PromptFormat } from "../prompts/index.js";
import { validationSplit, type SampleProblem } from "./prepare-data.js";
import { readPreferencePairs, type PreferenceDataFormat } from "./preference-rows.js";
import { tokenizePreferencePairs, type PreferenceTokenOptions, type TokenizedPreferencePair } from "./preference-tokens.js";
import type { TrainingTokenizer } from "./tokenizer.js";

export interface PreferenceDataOptions extends PreferenceTokenOptions {
  /** The file's layout; detected from its rows when left out. */
  format?: PreferenceDataFormat;
  /** Share of pairs held out (for the held-out preference accuracy), in [0, 0.5]. */
  validationFraction: number;
  seed: number;
}

export interface PreparedPreferenceData {
  format: PreferenceDataFormat;
  train: TokenizedPreferencePair[];
  validation: TokenizedPreferencePair[];
  /** Every row and pair left out, with file:line: what a run writes to data-problems.jsonl. */
  problems: SampleProblem[];
  stats: { rows: number; used: number; truncated: number };
}

/**
 * A preference file as the DPO and reward trainers take it: read (any layout), tokenized with the
 * model's prompt format, split into train and validation pairs as SFT splits its samples. Throws only
 * for a file that cannot be read as rows or holds no usable pair (NoUsableRowsError).
 */
export function preparePreferenceData(path: string, promptFormat: PromptFormat, tokenizer: TrainingTokenizer, options: PreferenceDataOptions): PreparedPreferenceData {
  if (!(options.validationFraction >= 0 && options.validationFraction <= 0.5)) {
    throw new InvalidArgumentError("validationFraction", `validation fraction must be in [0, 0.5], got ${options.validationFraction}`);
  }
  const read = readPreferencePairs(path, options.format ? { format: options.format } : {});
  const tokenized = tokenizePreferencePairs(read.pairs, promptFormat, tokenizer, options);
  const split = validationSplit(tokenized.pairs.length, options.validationFraction, options.seed);
  const problems = [...read.problems, ...tokenized.problems].sort((a, b) => a.line - b.line);
  return {
    format: read.format,
    train: split.train.map((i) => tokenized.pairs[i]),
    validation: split.validation.map((i) => tokenized.pairs[i]),
    problems,
    stats: { rows: read.pairs.length + read.problems.length, used: tokenized.stats.used, truncated: tokenized.stats.truncated },
  };
}
