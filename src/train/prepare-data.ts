import { InvalidArgumentError } from "../errors/index.js";
import type { PromptFormat } from "../prompts/index.js";
import { SeededRandom } from "../engine/index.js";
import type { TrainingExample } from "./dataset.js";
import { renderTrainingExample } from "./render-example.js";
import { tokenizeSegments, type TokenizedConversation } from "./segment-tokens.js";
import type { TrainingTokenizer } from "./tokenizer.js";

export const mismatchPolicies = ["skip", "segments"] as const;
/**
 * What to do with a sample whose segment-by-segment tokens differ from the whole text's (a token that
 * would span the prompt/reply boundary, e.g. Alpaca's "### Response:" glued to the reply). skip: leave
 * it out. segments: train on the segment tokens, which are what generation sees. Either way it is reported.
 */
export type MismatchPolicy = (typeof mismatchPolicies)[number];

export const truncationPolicies = ["drop", "truncate"] as const;
/** drop: a sample longer than maxLength is left out (reported). truncate: its tail is cut off. */
export type TruncationPolicy = (typeof truncationPolicies)[number];

export interface DataPreparationOptions {
  /** Tokens per sample (BOS and the final end-of-turn included); also the packed row length. */
  maxLength: number;
  truncation: TruncationPolicy;
  /**
   * Concatenate samples into rows of exactly maxLength positions. Samples in one row see the earlier
   * ones through causal attention (the engine has no per-document mask), as in llm.c and naive HF packing.
   */
  packing: boolean;
  /** Share of conversations held out for validation, in [0, 0.5]. */
  validationFraction: number;
  seed: number;
  /** Default "skip". */
  onMismatch?: MismatchPolicy;
}

/** One row of the batch: tokens[0..n-2] are the inputs and tokens[1..n-1] the targets. */
export interface TrainingRow {
  tokens: Int32Array;
  /** Per token: 1 when predicting it counts toward the loss. */
  trainable: Uint8Array;
}

export interface SampleProblem {
  file: string;
  line: number;
  message: string;
}

/** data-problems.jsonl: one {file, line, message} per left-out sample (SFT and preference data alike). */
export const dataProblemsJsonl = (problems: readonly SampleProblem[]): string => problems.map((problem) => `${JSON.stringify(problem)}\n`).join("");

export interface PreparedData {
  train: TrainingRow[];
  validation: TrainingRow[];
  /** Positions per row (T): the longest row's inputs (maxLength when packing fills a row). */
  sequenceLength: number;
  /** Samples not used, each with file:line and why (tokenization mismatch, too long, nothing trainable). */
  problems: SampleProblem[];
  stats: { examples: number; used: number; truncated: number; trainTokens: number; trainableTokens: number };
}

/** Renders, tokenizes, checks, truncates, splits and (optionally) packs the examples. */
export function prepareTrainingData(examples: readonly TrainingExample[], format: PromptFormat, tokenizer: TrainingTokenizer, options: DataPreparationOptions): PreparedData {
  validateOptions(options);
  const problems: SampleProblem[] = [];
  const samples: { example: TrainingExample; tokenized: TokenizedConversation }[] = [];
  let truncated = 0;
  for (const example of examples) {
    const problem = (message: string) => problems.push({ file: example.file, line: example.line, message });
    let result;
    try {
      result = tokenizeSegments(renderTrainingExample(example, format, tokenizer), tokenizer);
    } catch (error) {
      problem(`cannot render with prompt format "${format.name}": ${(error as Error).message}`);
      continue;
    }
    let tokenized: TokenizedConversation;
    if (result.ok) tokenized = result.value;
    else if (options.onMismatch === "segments" && result.segmentTokens) {
      problem(`${result.reason}; trained on the segment-by-segment tokens (--on-mismatch segments)`);
      tokenized = result.segmentTokens;
    } else {
      problem(result.reason);
      continue;
    }
    let { tokens, trainable } = tokenized;
    if (tokens.length > options.maxLength) {
      if (options.truncation === "drop") {
        problem(`${tokens.length} tokens is longer than the maximum length ${options.maxLength} (truncation policy "drop")`);
        continue;
      }
      tokens = tokens.slice(0, options.maxLength);
      trainable = trainable.slice(0, options.maxLength);
      truncated++;
      // position 0 is never a target, so a reply that survives only there teaches nothing
      if (!trainable.subarray(1).includes(1)) {
        problem(`after truncation to ${options.maxLength} tokens no assistant token is left`);
        continue;
      }
    }
    samples.push({ example, tokenized: { tokens, trainable } });
  }
  if (samples.length === 0) {
    const first = problems[0];
    throw new InvalidArgumentError(
      "data",
      `no usable training sample with prompt format "${format.name}"${first ? `; first problem: ${first.file}:${first.line}: ${first.message}` : ""}`,
    );
  }

  const split = validationSplit(samples.length, options.validationFraction, options.seed);
  const validationSamples = split.validation.map((i) => samples[i].tokenized);
  const trainSamples = split.train.map((i) => samples[i].tokenized);

  const toRows = (list: TokenizedConversation[]) => (options.packing ? packRows(list, options.maxLength) : list.map(asRow));
  const train = toRows(trainSamples);
  const validation = toRows(validationSamples);
  // packed rows hold maxLength positions, except when all the data is shorter than one row
  const sequenceLength = Math.max(...[...train, ...validation].map((row) => row.tokens.length - 1));
  let trainTokens = 0, trainableTokens = 0;
  for (const row of train) {
    trainTokens += row.tokens.length;
    for (let i = 1; i < row.trainable.length; i++) trainableTokens += row.trainable[i];
  }
  return { train, validation, sequenceLength, problems, stats: { examples: examples.length, used: samples.length, truncated, trainTokens, trainableTokens } };
}

const asRow = (sample: TokenizedConversation): TrainingRow => ({ tokens: Int32Array.from(sample.tokens), trainable: sample.trainable });

/** llm.c-style rows: a stream of all samples cut into windows of maxLength + 1 tokens with stride maxLength. */
function packRows(samples: TokenizedConversation[], maxLength: number): TrainingRow[] {
  const total = samples.reduce((sum, sample) => sum + sample.tokens.length, 0);
  const tokens = new Int32Array(total);
  const trainable = new Uint8Array(total);
  let offset = 0;
  for (const sample of samples) {
    tokens.set(sample.tokens, offset);
    trainable.set(sample.trainable, offset);
    offset += sample.tokens.length;
  }
  const rows: TrainingRow[] = [];
  for (let start = 0; start + 1 < total; start += maxLength) {
    const end = Math.min(total, start + maxLength + 1);
    const rowTrainable = trainable.slice(start, end);
    if (rowTrainable.subarray(1).includes(1)) rows.push({ tokens: tokens.slice(start, end), trainable: rowTrainable });
  }
  return rows;
}

/**
 * Which of `count` samples are held out for validation (seeded, each list in file order). Rounded and
 * never all of the data: 5% of 3 samples holds out none rather than a third of them.
 */
export function validationSplit(count: number, fraction: number, seed: number): { train: number[]; validation: number[] } {
  const order = shuffledIndices(count, new SeededRandom(seed ^ 0x5eed));
  const validationCount = Math.max(0, Math.min(count - 1, Math.round(count * fraction)));
  return { validation: order.slice(0, validationCount).sort((a, b) => a - b), train: order.slice(validationCount).sort((a, b) => a - b) };
}

/** Fisher-Yates with the engine's seedable generator: the same seed always gives the same order. */
export function shuffledIndices(count: number, random: SeededRandom): number[] {
  const indices = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    [indices[i], indices[j]] = [indices[j], indices[i]];
  }
  return indices;
}

function validateOptions(options: DataPreparationOptions): void {
  if (!Number.isInteger(options.maxLength) || options.maxLength < 2) throw new InvalidArgumentError("maxLength", `max length must be an integer of at least 2, got ${options.maxLength}`);
  if (!truncationPolicies.includes(options.truncation)) throw new InvalidArgumentError("truncation", `truncation must be ${truncationPolicies.join(" or ")}, got "${options.truncation}"`);
  if (options.onMismatch !== undefined && !mismatchPolicies.includes(options.onMismatch)) {
    throw new InvalidArgumentError("onMismatch", `on-mismatch must be ${mismatchPolicies.join(" or ")}, got "${options.onMismatch}"`);
  }
  if (!(options.validationFraction >= 0 && options.validationFraction <= 0.5)) {
    throw new InvalidArgumentError("validationFraction", `validation fraction must be in [0, 0.5], got ${options.validationFraction}`);
  }
}
