import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import { readJsonl } from "./jsonl.js";

/**
 * The verdict formats FastChat's judges understand (`output_format` in judge_prompts.jsonl):
 * a 1-10 grade, a letter verdict, or a grade per assistant turned into a verdict with TIE_DELTA.
 */
export const singleOutputFormats = ["[[rating]]"] as const;
export const pairwiseOutputFormats = ["[[A]]", "[[rating_a,rating_b]]"] as const;
export type SingleOutputFormat = (typeof singleOutputFormats)[number];
export type PairwiseOutputFormat = (typeof pairwiseOutputFormats)[number];

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
  requireKnownOutputFormat(prompt);
  return prompt;
}

/** FastChat raises on an output_format it cannot read; so do we, before the first judge call rather than after. */
function requireKnownOutputFormat(prompt: JudgePrompt): void {
  const known: readonly string[] = prompt.type === "single" ? singleOutputFormats : pairwiseOutputFormats;
  if (!known.includes(prompt.outputFormat)) {
    throw new InvalidArgumentError(
      "judge prompts",
      `judge prompt "${prompt.name}" (${prompt.type}) has output_format "${prompt.outputFormat}"; ${prompt.type} judges read ${known.map((f) => `"${f}"`).join(" or ")}`,
    );
  }
}

/**
 * Python's `str.format` for templates with named fields, which is how FastChat fills every judge
 * and review prompt: one pass over the template, so braces inside answers (code!) are never read as
 * placeholders; `{{` and `}}` are literal braces; a lone brace or a field without a value is an error.
 */
export function fillTemplate(template: string, values: Record<string, string>, templateName = "template"): string {
  return template.replace(/\{\{|\}\}|\{([^{}]*)\}|[{}]/g, (token: string, field: string | undefined) => {
    if (token === "{{") return "{";
    if (token === "}}") return "}";
    if (field === undefined) throw new InvalidArgumentError(templateName, `${templateName} has a single "${token}" (write "${token}${token}" for a literal brace)`);
    if (!/^[A-Za-z_]\w*$/.test(field)) throw new InvalidArgumentError(templateName, `${templateName} has the field "{${field}}"; only named fields like {question} are supported`);
    const value = values[field];
    if (value === undefined) throw new InvalidArgumentError(templateName, `${templateName} needs "{${field}}" but no value was given`);
    return value;
  });
}
