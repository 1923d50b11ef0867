import { InvalidArgumentError } from "../../errors/index.js";
import { contentHash } from "../../hashing/content-hash.js";
import type { ChatMessage, LanguageModel } from "../../spec/index.js";
import type { Conversation } from "../formats/records.js";
import { randomFor } from "../random.js";
import { runItemStage, type ItemStageSummary } from "../run/item-stage.js";
import { stageRunOptions, type RunOptions } from "../run/run-options.js";
import { Teacher, type SamplingSettings } from "../teacher/teacher.js";
import { truncatedFile } from "../distill/distill.js";

/**
 * Ghost Attention data (LLaMA-2 §3.3). For a multi-turn dialogue [u_1, a_1, …, u_n, a_n] and an
 * instruction `inst` that must hold throughout, the paper samples the answers from the model with
 * `inst + u_i` as every user turn, then trains on a sample where the instruction stays in the first
 * user turn only, with the loss set to 0 on every token of the previous turns, assistant messages
 * included: only the last answer is learned.
 */
export interface GattDialogue {
  id: string;
  system?: string;
  /** The dialogue's user turns u_1 … u_n; its own assistant answers are resampled, so they are not kept. */
  users: string[];
  /** The instruction this dialogue holds (sampled from the list per dialogue). */
  instruction: string;
}

/** Between the instruction and the user turn: the paper writes "inst + u_i" and gives no separator. */
export const defaultInstructionSeparator = "\n\n";

export interface GattSettings {
  sampling: SamplingSettings;
  separator: string;
  /** Seed of the per-dialogue instruction draw. */
  seed: number;
}

export const defaultGattSettings: GattSettings = { sampling: { temperature: 0.7, maxTokens: 1024 }, separator: defaultInstructionSeparator, seed: 0 };

export interface GattRun extends RunOptions {
  teacher: LanguageModel;
  dialogues: GattDialogue[];
  settings: GattSettings;
  /** The instruction list, fingerprinted so a resume with another list is refused by name. */
  instructions: string[];
}


/**
 * The instruction of dialogue `index`: drawn uniformly from the list with a generator of (seed, index)
 * alone, so a resumed or re-limited run gives each dialogue the same instruction.
 */
export function instructionFor(instructions: readonly string[], seed: number, index: number): string {
  if (instructions.length === 0) throw new InvalidArgumentError("instructions", "no instruction to sample from");
  return instructions[Math.floor(randomFor(seed, index)() * instructions.length)];
}

/**
 * Dialogues from conversation records: their user turns, in order. A record without a user turn, or
 * with tool turns (they have no "inst + u_i" form), is reported (record number and id), never silently used.
 */
export function gattDialogues(records: readonly Conversation[], instructions: readonly string[], seed: number): { dialogues: GattDialogue[]; problems: string[] } {
  const dialogues: GattDialogue[] = [];
  const problems: string[] = [];
  records.forEach((record, index) => {
    const problem = (message: string) => problems.push(`record ${index + 1}${record.id !== undefined ? ` (id ${record.id})` : ""}: ${message}`);
    if (record.turns.some((turn) => turn.kind !== undefined)) return problem("a dialogue with tool turns cannot be used for Ghost Attention");
    const users = record.turns.filter((turn) => turn.role === "user").map((turn) => turn.content);
    if (users.length === 0) return problem("the dialogue has no user turn");
    if (users.some((user) => user.trim() === "")) return problem("the dialogue has an empty user turn");
    dialogues.push({ id: record.id ?? String(index), ...(record.system ? { system: record.system } : {}), users, instruction: instructionFor(instructions, seed, index) });
  });
  return { dialogues, problems };
}

/** "inst + u_i": what the teacher sees as every user turn, and the training sample as its first. */
export const withInstruction = (instruction: string, user: string, separator: string) => `${instruction}${separator}${user}`;

/**
 * Samples the answers turn by turn (each conditions on the answers sampled before it) with the
 * instruction on every user turn, and writes the training sample: ShareGPT messages with the
 * instruction in the first user turn only and `"weight": 0` on every assistant message but the last
 * (the OpenAI fine-tuning field; `camelid train` gives those tokens no loss). A dialogue whose answer
 * comes back empty is counted and written nowhere; one cut by max tokens ends there and goes to
 * truncated.jsonl with the cut message marked. Resumable like every datagen run.
 */
export async function runGatt(run: GattRun): Promise<ItemStageSummary> {
  const settings = run.settings;
  return runItemStage<GattDialogue, Record<string, unknown>>({
    label: "gatt",
    outputDirectory: run.outputDirectory,
    outputFile: "conversations.jsonl",
    extraFiles: [truncatedFile],
    settings: { method: "gatt", ...settings },
    inputs: { "instructions (--instruction/--instructions)": contentHash(run.instructions) },
    itemsName: "the dialogues (--in)",
    items: run.dialogues,
    models: [run.teacher],
    ...stageRunOptions(run, 4),
    async process(dialogue, _index, meter, signal) {
      const teacher = new Teacher(run.teacher, meter, { retry: run.retry });
      const sampled: ChatMessage[] = dialogue.system ? [{ role: "system", content: dialogue.system }] : [];
      const answers: string[] = [];
      let cut = false;
      for (const user of dialogue.users) {
        sampled.push({ role: "user", content: withInstruction(dialogue.instruction, user, settings.separator) });
        // a copy: the conversation grows after the request, and what was sent must stay what it was
        const reply = await teacher.chat([...sampled], settings.sampling, signal);
        const answer = reply.text.trim();
        if (answer === "") return { rows: [], outcome: "empty-reply" };
        sampled.push({ role: "assistant", content: answer });
        answers.push(answer);
        if (reply.finishReason === "length") {
          cut = true;
          break;
        }
      }
      const conversations: Record<string, unknown>[] = dialogue.system ? [{ from: "system", value: dialogue.system }] : [];
      answers.forEach((answer, turn) => {
        const last = turn === answers.length - 1;
        conversations.push({ from: "human", value: turn === 0 ? withInstruction(dialogue.instruction, dialogue.users[0], settings.separator) : dialogue.users[turn] });
        conversations.push({ from: "gpt", value: answer, ...(last ? {} : { weight: 0 }), ...(last && cut ? { truncated: true } : {}) });
      });
      const row = { id: dialogue.id, model: run.teacher.modelId, conversations, gatt: { instruction: dialogue.instruction, instruction_sha256: contentHash(dialogue.instruction) } };
      return cut ? { rows: [{ ...row, truncated: true }], outcome: "truncated", file: truncatedFile } : { rows: [row], outcome: "done" };
    },
  });
}
