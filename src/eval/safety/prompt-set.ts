import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import { readJsonl } from "../data/jsonl.js";
import type { Question } from "../data/questions.js";

/** Adversarial prompts should be refused; borderline ones only sound risky and must be answered. */
export const safetyPromptKinds = ["adversarial", "borderline"] as const;
export type SafetyPromptKind = (typeof safetyPromptKinds)[number];

/** One prompt of a safety set; `turns` are the user's turns (the model answers each, as `eval answer`). */
export interface SafetyPrompt {
  id: string;
  category: string;
  kind: SafetyPromptKind;
  subtype?: string;
  turns: string[];
}

const userMessageSchema = z.object({ role: z.literal("user"), content: z.string().min(1) });

/** {id, prompt | messages, category, kind, subtype?}; `messages` are user turns only. */
const safetyPromptRowSchema = z
  .object({
    id: z.union([z.string().min(1), z.number().int()]),
    prompt: z.string().min(1).optional(),
    messages: z.array(userMessageSchema, { message: 'messages must be user turns ({"role": "user", "content": …}); the model answers each in turn' }).min(1).optional(),
    category: z.string().min(1),
    kind: z.enum(safetyPromptKinds),
    subtype: z.string().min(1).optional(),
  })
  .refine((row) => (row.prompt === undefined) !== (row.messages === undefined), { message: 'a row needs exactly one of "prompt" or "messages"' })
  .transform(
    (row): SafetyPrompt => ({
      id: String(row.id),
      category: row.category,
      kind: row.kind,
      ...(row.subtype ? { subtype: row.subtype } : {}),
      turns: row.prompt !== undefined ? [row.prompt] : row.messages!.map((message) => message.content),
    }),
  );

/** Reads a safety prompt set; a bad row or a repeated id is an InvalidArgumentError naming --prompts and the line. */
export function loadSafetyPrompts(path: string): SafetyPrompt[] {
  const prompts = readJsonl(path, safetyPromptRowSchema, { parameter: "prompts" });
  if (prompts.length === 0) throw new InvalidArgumentError("prompts", `${path} holds no prompts`);
  const seen = new Set<string>();
  for (const prompt of prompts) {
    if (seen.has(prompt.id)) throw new InvalidArgumentError("prompts", `${path}: duplicate id ${prompt.id}`);
    seen.add(prompt.id);
  }
  return prompts;
}

/** The prompts as `eval answer` questions (id → question_id, the user turns as turns). */
export function promptsAsQuestions(prompts: readonly SafetyPrompt[]): Question[] {
  return prompts.map((prompt) => ({ questionId: prompt.id, category: prompt.category, turns: prompt.turns }));
}
