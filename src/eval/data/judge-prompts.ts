import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import { readJsonl } from "./jsonl.js";

/** One MT-bench judge prompt (FastChat `judge_prompts.jsonl`). */
export interface JudgePrompt {
  name: string;
  type: "single" | "pairwise";
  systemPrompt: string;
  promptTemplate: string;
  category: string;
  outputFormat: string;
}

const judgePromptRowSchema = z
  .object({
    name: z.string().min(1),
    type: z.enum(["single", "pairwise"]),
    system_prompt: z.string(),
    prompt_template: z.string(),
    description: z.string().optional(),
    category: z.string(),
    output_format: z.string(),
  })
  .transform(
    (row): JudgePrompt => ({
      name: row.name,
      type: row.type,
      systemPrompt: row.system_prompt,
      promptTemplate: row.prompt_template,
      category: row.category,
      outputFormat: row.output_format,
    }),
  );

export function loadJudgePrompts(path: string): Map<string, JudgePrompt> {
  return new Map(readJsonl(path, judgePromptRowSchema, { parameter: "judge prompts" }).map((prompt) => [prompt.name, prompt]));
}

/** FastChat's NEED_REF_CATS: categories graded against a reference answer. */
export const referenceCategories = new Set(["math", "reasoning", "coding", "arena-hard-200"]);

/** The prompt FastChat's llm_judge uses for a question category, turn and mode. */
export function judgePromptName(mode: "single" | "pairwise", category: string, multiTurn: boolean): string {
  const withReference = referenceCategories.has(category);
  const stem = mode === "single" ? (withReference ? "single-math-v1" : "single-v1") : withReference ? "pair-math-v1" : "pair-v2";
  return multiTurn ? `${stem}-multi-turn` : stem;
}

export function selectJudgePrompt(prompts: Map<string, JudgePrompt>, mode: "single" | "pairwise", category: string, multiTurn: boolean): JudgePrompt {
  const name = judgePromptName(mode, category, multiTurn);
  const prompt = prompts.get(name);
  if (!prompt) throw new InvalidArgumentError("judge prompts", `judge prompt "${name}" is missing (have: ${[...prompts.keys()].join(", ")})`);
  return prompt;
}

/**
 * Fills `{name}` placeholders in one pass (as Python's str.format does for these templates), so
 * braces inside answers (code!) are never read as placeholders. A placeholder without a value is an error.
 */
export function fillTemplate(template: string, values: Record<string, string>, templateName = "template"): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new InvalidArgumentError(templateName, `${templateName} needs "{${key}}" but no value was given`);
    return value;
  });
}
