import { z } from "zod";
import { contentHash, shortHash } from "../../hashing/content-hash.js";
import { ConfigError } from "../../errors/index.js";

/**
 * Resume keyed on content, for the eval stages. Their outputs stay in FastChat's formats (its own
 * scripts read them), so each row carries the SHA-256 of the inputs it was made from in one extra
 * field, `input_sha256`, which FastChat ignores. A rerun with the same --out skips a finished item
 * only when those hashes still match; a row made from inputs that changed since (a question's text
 * edited under the same id, another judge prompt, answer or reference) is refused, never reported as
 * current. Rows without the field (FastChat's own files, older camelid runs) cannot be checked and are
 * taken as they are.
 */
export const inputHashesSchema = z.record(z.string(), z.string());
export type InputHashes = z.infer<typeof inputHashesSchema>;

/** One input of an item: its content and how the user knows it ("question 81 (--questions)"). */
export interface ItemInput {
  content: unknown;
  label: string;
}

/** What an item is made from, by key ("question", "answer_1", "judge_prompt", …). */
export type ItemInputs = Record<string, ItemInput>;

export function hashInputs(inputs: ItemInputs): InputHashes {
  return Object.fromEntries(Object.entries(inputs).map(([key, input]) => [key, contentHash(input.content)]));
}

interface ChangedInput {
  label: string;
  before: string;
  after: string;
}

/** Collects the finished items whose recorded inputs differ from today's, then refuses them in one message. */
export class ChangedInputs {
  private readonly byLabel = new Map<string, { rows: number; first: ChangedInput }>();

  /** Compares a row's recorded hashes with the item's current inputs (a row without hashes passes). */
  check(recorded: InputHashes | undefined, current: ItemInputs): void {
    if (!recorded) return;
    for (const [key, input] of Object.entries(current)) {
      const after = contentHash(input.content);
      const before = recorded[key];
      if (before === undefined || before === after) continue;
      const entry = this.byLabel.get(input.label);
      if (entry) entry.rows++;
      else this.byLabel.set(input.label, { rows: 1, first: { label: input.label, before, after } });
    }
  }

  /** Throws a ConfigError naming every changed input (the first few) when any row was made from other input. */
  refuseIfAny(stage: string, outputPath: string): void {
    if (this.byLabel.size === 0) return;
    const shown = [...this.byLabel.values()].slice(0, 5);
    const more = this.byLabel.size - shown.length;
    const list = shown.map(({ rows, first }) => `${first.label} (sha256 ${shortHash(first.before)} → ${shortHash(first.after)}${rows > 1 ? `, ${rows} rows` : ""})`).join("; ");
    throw new ConfigError(
      `${stage}: ${outputPath} holds rows made from input that changed since they were written: ${list}${more > 0 ? `; and ${more} more` : ""}. ` +
        `Restore the original input to resume, or start over with a new --out (or delete ${outputPath})`,
    );
  }
}
