import { InvalidArgumentError } from "../errors/index.js";
import type { PromptFormat, RenderedFormat } from "../prompts/index.js";
import type { ChatMessage } from "../spec/messages.js";
import { NoUsableRowsError } from "../datagen/formats/data-file-errors.js";
import { truncationPolicies, type MismatchPolicy, type SampleProblem, type TrainingRow, type TruncationPolicy } from "./prepare-data.js";
import { noPairsDetail, type PreferenceExample } from "./preference-rows.js";
import { renderTrainingExample } from "./render-example.js";
import { tokenizeSegments } from "./segment-tokens.js";
import type { TrainingTokenizer } from "./tokenizer.js";

export interface PreferenceTokenOptions {
  /** Tokens per sequence (chosen and rejected each), BOS and the final end-of-turn included. */
  maxLength: number;
  /** drop (default): a pair with a sequence over maxLength is left out, reported. truncate: both are cut. */
  truncation?: TruncationPolicy;
  /** As for SFT: a segment/whole tokenization mismatch is skipped (default) or trained on its segment tokens. */
  onMismatch?: MismatchPolicy;
}

/**
 * A pair as the DPO and reward-model trainers take it: two sequences that share the prompt's tokens
 * (positions 0..promptLength-1), each marked trainable on its answer (and end-of-turn) only.
 */
export interface TokenizedPreferencePair {
  pair: PreferenceExample;
  promptLength: number;
  chosen: TrainingRow;
  rejected: TrainingRow;
}

export interface PreparedPreferences {
  pairs: TokenizedPreferencePair[];
  /** Pairs left out, with file:line: rendering, a tokenization mismatch, too long, prompts that differ. */
  problems: SampleProblem[];
  stats: { pairs: number; used: number; truncated: number };
}

/**
 * The rendered prompt + answer with only the final answer trainable: earlier assistant turns are
 * context for a preference, not something to learn (the SFT renderer marks every reply).
 */
function onlyLastAnswerTrainable(rendered: RenderedFormat): RenderedFormat {
  const last = rendered.segments.findLastIndex((segment) => segment.trainable);
  let start = last;
  while (start > 0 && rendered.segments[start - 1].trainable) start--;
  return { ...rendered, segments: rendered.segments.map((segment, i) => (segment.trainable && i < start ? { ...segment, trainable: false } : segment)) };
}

/**
 * The prompt + one answer rendered in the model's prompt format and tokenized as SFT tokenizes a
 * sample, only the answer trainable: the row, or none with why (`note` also says when the
 * segment-by-segment tokens were used under --on-mismatch segments).
 */
export function tokenizeAnswer(
  where: { file: string; line: number; prompt: readonly ChatMessage[] },
  answer: string,
  format: PromptFormat,
  tokenizer: TrainingTokenizer,
  onMismatch: MismatchPolicy = "skip",
): { row?: TrainingRow; note?: string } {
  let rendered: RenderedFormat;
  try {
    rendered = renderTrainingExample({ file: where.file, line: where.line, messages: [...where.prompt, { role: "assistant", content: answer }] }, format, tokenizer);
  } catch (error) {
    return { note: `cannot render with prompt format "${format.name}": ${(error as Error).message}` };
  }
  const result = tokenizeSegments(onlyLastAnswerTrainable(rendered), tokenizer);
  if (result.ok) return { row: { tokens: Int32Array.from(result.value.tokens), trainable: result.value.trainable } };
  if (onMismatch === "segments" && result.segmentTokens) {
    return { row: { tokens: Int32Array.from(result.segmentTokens.tokens), trainable: result.segmentTokens.trainable }, note: `${result.reason}; trained on the segment-by-segment tokens (--on-mismatch segments)` };
  }
  return { note: result.reason };
}

/**
 * Renders and tokenizes both sides of every pair as SFT renders and tokenizes a sample (the model's
 * prompt format, segment-by-segment tokens checked against the whole text's), then checks that both
 * sequences start with the same prompt tokens. Problems are reported per pair, never thrown; no usable
 * pair at all is a NoUsableRowsError.
 */
export function tokenizePreferencePairs(pairs: readonly PreferenceExample[], format: PromptFormat, tokenizer: TrainingTokenizer, options: PreferenceTokenOptions): PreparedPreferences {
  if (!Number.isInteger(options.maxLength) || options.maxLength < 2) throw new InvalidArgumentError("maxLength", `max length must be an integer of at least 2, got ${options.maxLength}`);
  const truncation = options.truncation ?? "drop";
  if (!truncationPolicies.includes(truncation)) throw new InvalidArgumentError("truncation", `truncation must be ${truncationPolicies.join(" or ")}, got "${truncation}"`);
  const problems: SampleProblem[] = [];
  const tokenized: TokenizedPreferencePair[] = [];
  let truncated = 0;
  for (const pair of pairs) {
    const problem = (message: string) => problems.push({ file: pair.file, line: pair.line, message });
    const sides: TrainingRow[] = [];
    for (const [name, answer] of [["chosen", pair.chosen], ["rejected", pair.rejected]] as const) {
      const result = tokenizeAnswer(pair, answer, format, tokenizer, options.onMismatch);
      if (result.note) problem(`${name}: ${result.note}`);
      if (!result.row) break;
      sides.push(result.row);
    }
    if (sides.length !== 2) continue;
    let [chosen, rejected] = sides;
    const promptLength = chosen.trainable.indexOf(1);
    if (promptLength !== rejected.trainable.indexOf(1) || chosen.tokens.subarray(0, promptLength).some((id, i) => id !== rejected.tokens[i])) {
      problem("the chosen and rejected sequences do not start with the same prompt tokens");
      continue;
    }
    const longest = Math.max(chosen.tokens.length, rejected.tokens.length);
    if (longest > options.maxLength) {
      if (truncation === "drop") {
        problem(`${longest} tokens is longer than the maximum length ${options.maxLength} (truncation policy "drop")`);
        continue;
      }
      // position 0 is never a target, and a side with no answer token left compares nothing
      if (promptLength + 1 > options.maxLength) {
        problem(`the prompt alone is ${promptLength} tokens: after truncation to ${options.maxLength} no answer token is left`);
        continue;
      }
      const cut = (row: TrainingRow): TrainingRow => ({ tokens: row.tokens.slice(0, options.maxLength), trainable: row.trainable.slice(0, options.maxLength) });
      [chosen, rejected] = [cut(chosen), cut(rejected)];
      truncated++;
    }
    tokenized.push({ pair, promptLength, chosen, rejected });
  }
  if (tokenized.length === 0) {
    const file = pairs[0]?.file ?? "(no pairs)";
    throw new NoUsableRowsError("data", file, `${noPairsDetail(pairs.length, problems)} with prompt format "${format.name}"`);
  }
  return { pairs: tokenized, problems, stats: { pairs: pairs.length, used: tokenized.length, truncated } };
}
