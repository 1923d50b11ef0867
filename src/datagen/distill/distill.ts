import type { ChatMessage, LanguageModel } from "../../spec/index.js";
import type { Conversation, Turn } from "../formats/records.js";
import { runItemStage, type ItemStageSummary } from "../run/item-stage.js";
import { Teacher, type SamplingSettings } from "../teacher/teacher.js";
import type { RunOptions } from "../run/run-options.js";

export interface DistillPrompt {
  id: string;
  prompt: string;
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
}

/** The user simulator's view: it is the "assistant" that writes the human's turns. */
export function userSimulatorMessages(prompt: string, turns: Turn[]): ChatMessage[] {
  return [
    { role: "system", content: prompt },
    ...turns.map((turn): ChatMessage => ({ role: turn.role === "user" ? "assistant" : "user", content: turn.content })),
  ];
}

/**
 * Koala/Vicuna-style distillation: each prompt goes to the teacher; a second model playing the user
 * adds K follow-ups, each answered by the teacher. Rows are ShareGPT conversations in
 * `conversations.jsonl`; the run is resumable like every generation run.
 */
export async function runDistill(run: DistillRun): Promise<ItemStageSummary> {
  const settings = run.settings;
  return runItemStage<DistillPrompt, Record<string, unknown>>({
    label: "distill",
    outputDirectory: run.outputDirectory,
    outputFile: "conversations.jsonl",
    settings: { method: "distill", ...settings },
    items: run.prompts,
    models: run.user ? [run.teacher, run.user] : [run.teacher],
    concurrency: run.concurrency ?? 4,
    prices: run.prices,
    retry: run.retry,
    progress: run.progress,
    signal: run.signal,
    async process(item, _index, meter, signal) {
      const teacher = new Teacher(run.teacher, meter, { retry: run.retry });
      const user = new Teacher(run.user ?? run.teacher, meter, { retry: run.retry });
      const turns: Turn[] = [{ role: "user", content: item.prompt }];
      const system: ChatMessage[] = settings.system ? [{ role: "system", content: settings.system }] : [];
      let outcome = "done";
      for (let round = 0; round <= settings.followUps; round++) {
        const reply = await teacher.chat([...system, ...turns.map((t): ChatMessage => ({ role: t.role, content: t.content }))], settings.teacherSampling, signal);
        if (reply.text.trim() === "") {
          outcome = "empty-reply";
          turns.pop();
          break;
        }
        turns.push({ role: "assistant", content: reply.text.trim() });
        if (round === settings.followUps) break;
        const followUp = await user.chat(userSimulatorMessages(settings.userSimulatorPrompt, turns), settings.userSampling, signal);
        if (followUp.text.trim() === "") {
          outcome = "empty-follow-up";
          break;
        }
        turns.push({ role: "user", content: followUp.text.trim() });
      }
      if (turns.length === 0) return { rows: [], outcome };
      const conversation: Conversation = { id: item.id, system: settings.system, turns };
      return {
        rows: [{ id: conversation.id, model: run.teacher.modelId, conversations: [...(settings.system ? [{ from: "system", value: settings.system }] : []), ...turns.map((t) => ({ from: t.role === "user" ? "human" : "gpt", value: t.content }))] }],
        outcome,
      };
    },
  });
}
