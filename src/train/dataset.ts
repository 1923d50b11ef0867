import { z } from "zod";
import { InvalidArgumentError } from "../errors/index.js";
import { decodeConversation, RowFormatError } from "../datagen/formats/codecs.js";
import { detectFormat } from "../datagen/formats/dataset-io.js";
import { NoUsableRowsError } from "../datagen/formats/data-file-errors.js";
import { readRowsFile } from "../datagen/formats/json-rows.js";
import type { RowProblem, Turn } from "../datagen/formats/records.js";
import type { AlpacaExample } from "../prompts/index.js";
import type { ChatMessage } from "../spec/messages.js";

/** The dataset layouts training reads; the row schemas are the datagen codecs' (one place for them). */
export const trainingDataFormats = ["alpaca", "sharegpt", "openai"] as const;
export type TrainingDataFormat = (typeof trainingDataFormats)[number];

/** One training conversation and where it came from, so that every later problem can name file:line. */
export interface TrainingExample {
  file: string;
  line: number;
  messages: ChatMessage[];
  /**
   * The Alpaca record itself when the row was one: with the "alpaca" prompt format it is rendered with
   * Stanford's own template, including the "### Input:" variant that a chat conversation cannot express.
   */
  alpaca?: AlpacaExample;
  /**
   * Indexes into `messages` of assistant replies that carry no loss: a message with `"weight": 0` (the
   * OpenAI fine-tuning format's per-message field, read from ShareGPT messages too). Ghost Attention
   * samples (`camelid data gatt`) zero every reply but the last this way. Absent: every reply trains.
   */
  untrained?: number[];
}

export interface TrainingDataset {
  format: TrainingDataFormat;
  examples: TrainingExample[];
  /** Rows that could not be read, with file:line. */
  problems: RowProblem[];
}

/** A decoded conversation's system prompt and turns as chat messages; a tool turn is a RowFormatError. */
export function trainableMessages(system: string | undefined, turns: readonly Turn[]): ChatMessage[] {
  const messages: ChatMessage[] = system ? [{ role: "system", content: system }] : [];
  for (const turn of turns) {
    // The prompt formats have no tool syntax yet: a tool turn rendered as plain text would teach the wrong thing.
    if (turn.kind !== undefined) throw new RowFormatError(`a ${turn.kind} turn cannot be trained on (the prompt formats have no tool-call syntax)`);
    messages.push({ role: turn.role, content: turn.content });
  }
  return messages;
}

const alpacaRecord = z.object({ instruction: z.string(), input: z.string().optional(), output: z.string(), history: z.array(z.unknown()).optional(), system: z.string().optional() }).loose();

/**
 * A message's loss weight, as the OpenAI fine-tuning format writes it: `"weight": 0` or `1` (absent: 1).
 * Anything else is a row problem rather than a silently trained (or silently skipped) reply.
 */
function messageWeight(extra: Record<string, unknown> | undefined): 0 | 1 {
  const weight = extra?.weight;
  if (weight === undefined || weight === 1) return 1;
  if (weight === 0) return 0;
  throw new RowFormatError(`"weight" must be 0 or 1, got ${JSON.stringify(weight)}`);
}

/**
 * Reads Alpaca JSON (instruction/input/output), ShareGPT (conversations: [{from, value}]) or OpenAI
 * messages JSONL, as a JSON array or JSONL, format given or detected from the rows. Every row is
 * validated (zod); a bad row is a problem with file:line, and `strict` makes any problem an error.
 */
export function readTrainingDataset(path: string, options: { format?: TrainingDataFormat; strict?: boolean } = {}): TrainingDataset {
  const { rows } = readRowsFile(path, "data");
  const detected = options.format ?? rows.map((row) => detectFormat(row.value)).find((format) => format !== undefined);
  if (detected === undefined || !(trainingDataFormats as readonly string[]).includes(detected)) {
    throw new InvalidArgumentError(
      "format",
      `${path}: ${detected ? `"${detected}" rows cannot be trained on${detected === "dpo" ? " by SFT (preference pairs: camelid train --method reward trains a reward model on them, and --method dpo|reward --export trl|axolotl writes a GPU recipe)" : ""}` : "cannot tell the format from its rows"}; use --data-format ${trainingDataFormats.join("|")}`,
    );
  }
  const format = detected as TrainingDataFormat;
  const examples: TrainingExample[] = [];
  const problems: RowProblem[] = [];
  for (const row of rows) {
    if (row.error !== undefined) {
      problems.push({ file: path, line: row.line, message: row.error });
      continue;
    }
    try {
      const conversation = decodeConversation(format, row.value);
      const messages = trainableMessages(conversation.system, conversation.turns);
      // A reply's "weight": 0 (Ghost Attention's earlier turns) keeps it in the prompt but out of the loss.
      const offset = messages.length - conversation.turns.length;
      const untrained = conversation.turns.flatMap((turn, i) => (messageWeight(turn.extra) === 0 && turn.role === "assistant" ? [offset + i] : []));
      if (!messages.some((message) => message.role === "assistant")) throw new RowFormatError("the conversation has no assistant reply to learn from");
      if (untrained.length > 0 && untrained.length === messages.filter((message) => message.role === "assistant").length) {
        throw new RowFormatError('every assistant reply has "weight": 0: nothing to learn from');
      }
      const example: TrainingExample = { file: path, line: row.line, messages, ...(untrained.length > 0 ? { untrained } : {}) };
      const record = format === "alpaca" ? alpacaRecord.safeParse(row.value) : undefined;
      if (record?.success && !record.data.history?.length && record.data.system === undefined) {
        example.alpaca = { instruction: record.data.instruction, input: record.data.input ?? "", output: record.data.output };
      }
      examples.push(example);
    } catch (error) {
      if (!(error instanceof RowFormatError)) throw error;
      problems.push({ file: path, line: row.line, message: error.message });
    }
  }
  if (options.strict && problems.length > 0) {
    const first = problems[0];
    throw new InvalidArgumentError("data", `${problems.length} malformed row(s); first: ${first.file}:${first.line}: ${first.message}`);
  }
  if (examples.length === 0) throw new NoUsableRowsError("data", path, `all ${problems.length} rows are malformed; first: line ${problems[0].line}: ${problems[0].message}`);
  return { format, examples, problems };
}
