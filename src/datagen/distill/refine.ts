import type { LanguageModel } from "../../spec/index.js";
import { shareGptFrom } from "../formats/codecs.js";
import type { Conversation } from "../formats/records.js";
import { runItemStage, type ItemStageSummary } from "../run/item-stage.js";
import { Teacher, type SamplingSettings } from "../teacher/teacher.js";
import { stageRunOptions, type RunOptions } from "../run/run-options.js";

/** MiniGPT-4's second-stage fixing prompt (Zhu et al., 2023, section 3.2). */
export const miniGpt4FixPrompt =
  "Fix the error in the given paragraph. Remove any repeating sentences, meaningless characters, not English sentences, and so on. Remove unnecessary repetition. Rewrite any incomplete sentences. Return directly the results without explanation. Return directly the input paragraph if it is already correct without explanation.";

export interface RefineSettings {
  fixPrompt: string;
  sampling: SamplingSettings;
  /** Which turns to fix (MiniGPT-4 fixed the model's descriptions: the assistant's). */
  roles: ("user" | "assistant")[];
}

export const defaultRefineSettings: RefineSettings = { fixPrompt: miniGpt4FixPrompt, sampling: { temperature: 0, maxTokens: 1024 }, roles: ["assistant"] };

/**
 * A post-processing pass: every selected turn goes to the fixer with the fixing prompt; rows keep both
 * versions (ShareGPT messages with `value` = fixed text and `original` = what was there). A fixer that
 * returns nothing, or whose reply stopped at max tokens (a cut text is no fix), leaves the original in
 * place and is counted.
 */
export async function runRefine(run: RunOptions & {
  fixer: LanguageModel;
  records: Conversation[];
  settings: RefineSettings;
}): Promise<ItemStageSummary> {
  return runItemStage<Conversation, Record<string, unknown>>({
    label: "refine",
    outputDirectory: run.outputDirectory,
    outputFile: "refined.jsonl",
    settings: { method: "refine", ...run.settings },
    itemsName: "the records (--in)",
    items: run.records,
    models: [run.fixer],
    ...stageRunOptions(run, 4),
    async process(record, index, meter, signal) {
      const fixer = new Teacher(run.fixer, meter, { retry: run.retry });
      let changed = 0;
      let empty = 0;
      let cut = 0;
      const messages: Record<string, unknown>[] = record.system ? [{ from: "system", value: record.system }] : [];
      for (const turn of record.turns) {
        const from = shareGptFrom(turn);
        // System messages and tool calls/results are data, not prose to fix.
        if (turn.role === "system" || turn.kind !== undefined || !run.settings.roles.includes(turn.role)) {
          messages.push({ from, value: turn.content });
          continue;
        }
        const reply = await fixer.chat([{ role: "system", content: run.settings.fixPrompt }, { role: "user", content: turn.content }], run.settings.sampling, signal);
        const truncated = reply.finishReason === "length";
        const fixed = truncated ? "" : reply.text.trim();
        if (truncated) cut++;
        else if (fixed === "") empty++;
        else if (fixed !== turn.content.trim()) changed++;
        messages.push({ from, value: fixed === "" ? turn.content : fixed, original: turn.content, ...(truncated ? { fix_truncated: true } : {}) });
      }
      return {
        rows: [{ id: record.id ?? String(index), conversations: messages, refined_by: run.fixer.modelId }],
        outcome: cut > 0 ? "fixer-truncated" : empty > 0 ? "fixer-returned-nothing" : changed > 0 ? "changed" : "unchanged",
      };
    },
  });
}
