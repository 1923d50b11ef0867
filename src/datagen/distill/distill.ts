import type { ChatMessage, LanguageModel } from "../../spec/index.js";
import type { Turn } from "../formats/records.js";
import { runItemStage, type ItemStageSummary } from "../run/item-stage.js";
import { Teacher, type SamplingSettings } from "../teacher/teacher.js";
import { stageRunOptions, type RunOptions } from "../run/run-options.js";
import { contextDistillationInputs, prepromptFor, prepromptRecord, withPreprompt, type ContextDistillation } from "./context-distillation.js";

export interface DistillPrompt {
  id: string;
  prompt: string;
  /** The prompt row's `category` and `kind` (a safety prompt set's labels), when it has them. */
  category?: string;
  kind?: string;
}

/** What the simulated user is told; it sees the conversation with roles swapped (its own turns are the human's). */
export const defaultUserSimulatorPrompt =
  "You are a curious person chatting with an AI assistant. Read the conversation and write the next message the person would send: one natural follow-up question or request that builds on the assistant's last answer. Write only that message, with no preamble.";

export interface DistillSettings {
  /** Follow-up turns written by the simulated user (0 = single-turn, as Alpaca-style distillation). */
  followUps: number;
  system?: string;
  userSimulatorPrompt: string;
  teacherSampling: SamplingSettings;
  userSampling: SamplingSettings;
}

export const defaultDistillSettings: DistillSettings = {
  followUps: 0,
  userSimulatorPrompt: defaultUserSimulatorPrompt,
  teacherSampling: { temperature: 0.7, maxTokens: 1024 },
  userSampling: { temperature: 0.9, maxTokens: 256 },
};

export interface DistillRun extends RunOptions {
  teacher: LanguageModel;
  /** Plays the user for follow-ups (may be the teacher itself). */
  user?: LanguageModel;
  prompts: DistillPrompt[];
  settings: DistillSettings;
  /** Answers made with a safety preprompt that the stored conversations leave out (LLaMA-2 §4.2.4). */
  contextDistillation?: ContextDistillation;
}

/** Opens the simulated user's conversation, so that its view starts with a user message. */
export const userSimulatorOpener = "Start the conversation.";

/**
 * The user simulator's view: it is the "assistant" that writes the human's turns, so roles are swapped.
 * Strict-alternation templates (Llama-2, ChatML in camelid's registry, most Jinja templates) need the
 * system message, then user first and strictly alternating: a fixed opener from the "user" comes before
 * the human's first turn (which the simulator "wrote"), and the view always ends on the teacher's reply.
 */
export function userSimulatorMessages(prompt: string, turns: Turn[]): ChatMessage[] {
  return [
    { role: "system", content: prompt },
    { role: "user", content: userSimulatorOpener },
    ...turns.map((turn): ChatMessage => ({ role: turn.role === "user" ? "assistant" : "user", content: turn.content })),
  ];
}

/** Where conversations with a reply cut by max tokens go (marked), apart from the complete ones. */
export const truncatedFile = "truncated.jsonl";

/**
 * Koala/Vicuna-style distillation: each prompt goes to the teacher; a second model playing the user
 * adds K follow-ups, each answered by the teacher. Rows are ShareGPT conversations in
 * `conversations.jsonl`; a conversation in which a reply stopped at max tokens (finish reason
 * "length") ends there and goes to `truncated.jsonl` with that message marked `truncated: true`, so a
 * cut answer is never stored as a complete turn. The run is resumable like every generation run.
 * With context distillation the teacher sees the preprompt and the stored row does not: the row records
 * its hash in `context_distillation` instead (the simulated user sees the stored conversation).
 */
export async function runDistill(run: DistillRun): Promise<ItemStageSummary> {
  const settings = run.settings;
  const distillation = run.contextDistillation;
  return runItemStage<DistillPrompt, Record<string, unknown>>({
    label: "distill",
    outputDirectory: run.outputDirectory,
    outputFile: "conversations.jsonl",
    extraFiles: [truncatedFile],
    // The preprompt and templates are fingerprinted as inputs (by hash); how they are applied is a setting.
    settings: { method: "distill", ...settings, ...(distillation ? { contextDistillation: { placement: distillation.placement, onlyFor: distillation.onlyFor ?? null } } : {}) },
    inputs: contextDistillationInputs(distillation),
    itemsName: "the prompts (--prompts)",
    items: run.prompts,
    models: run.user ? [run.teacher, run.user] : [run.teacher],
    ...stageRunOptions(run, 4),
    async process(item, _index, meter, signal) {
      const teacher = new Teacher(run.teacher, meter, { retry: run.retry });
      const user = new Teacher(run.user ?? run.teacher, meter, { retry: run.retry });
      const turns: Turn[] = [{ role: "user", content: item.prompt }];
      const system: ChatMessage[] = settings.system ? [{ role: "system", content: settings.system }] : [];
      const preprompt = prepromptFor(item, distillation);
      let outcome = "done";
      let cut = false;
      for (let round = 0; round <= settings.followUps; round++) {
        const stored = [...system, ...turns.map((t): ChatMessage => ({ role: t.role, content: t.content }))];
        const reply = await teacher.chat(withPreprompt(stored, preprompt, distillation?.placement ?? "prefix"), settings.teacherSampling, signal);
        if (reply.text.trim() === "") {
          outcome = "empty-reply";
          turns.pop();
          break;
        }
        turns.push({ role: "assistant", content: reply.text.trim() });
        if (reply.finishReason === "length") {
          cut = true;
          break;
        }
        if (round === settings.followUps) break;
        const followUp = await user.chat(userSimulatorMessages(settings.userSimulatorPrompt, turns), settings.userSampling, signal);
        if (followUp.text.trim() === "") {
          outcome = "empty-follow-up";
          break;
        }
        turns.push({ role: "user", content: followUp.text.trim() });
        if (followUp.finishReason === "length") {
          cut = true;
          break;
        }
      }
      if (turns.length === 0) return { rows: [], outcome };
      const messages = [
        ...(settings.system ? [{ from: "system", value: settings.system }] : []),
        ...turns.map((t, position) => ({ from: t.role === "user" ? "human" : "gpt", value: t.content, ...(cut && position === turns.length - 1 ? { truncated: true } : {}) })),
      ];
      const row = { id: item.id, model: run.teacher.modelId, conversations: messages, ...(preprompt ? { context_distillation: prepromptRecord(preprompt, distillation!) } : {}) };
      return cut ? { rows: [{ ...row, truncated: true }], outcome: "truncated", file: truncatedFile } : { rows: [row], outcome };
    },
  });
}
