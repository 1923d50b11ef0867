import { InvalidArgumentError } from "../../errors/index.js";
import { readRowsFile } from "../formats/json-rows.js";
import type { DistillPrompt } from "./distill.js";

/**
 * Prompts from any JSON/JSONL rows: prompt/question/text fields, MT-bench `turns[0]`, Alpaca
 * instruction (+ input), or a ShareGPT/OpenAI row's first user message; a string `category` and `kind`
 * come along (context distillation chooses prompts by them). Rows without a prompt are
 * reported as file:line problems; a file with no prompt at all is an error.
 */
export function promptsFromFile(path: string): { prompts: DistillPrompt[]; problems: string[] } {
  const { rows } = readRowsFile(path, "prompts");
  const prompts: DistillPrompt[] = [];
  const problems: string[] = [];
  rows.forEach((row, index) => {
    const value = row.value as Record<string, unknown> | undefined;
    if (!value || typeof value !== "object") return void problems.push(`${path}:${row.line}: ${row.error ?? "not an object"}`);
    const id = String(value.id ?? value.question_id ?? index);
    const turns = value.turns;
    let text: unknown = value.prompt ?? value.question ?? value.text ?? (Array.isArray(turns) ? turns[0] : undefined);
    if (text === undefined && typeof value.instruction === "string") text = value.input ? `${value.instruction}\n\n${value.input}` : value.instruction;
    if (text === undefined && Array.isArray(value.conversations)) text = (value.conversations as { from?: string; value?: string }[]).find((m) => m.from === "human" || m.from === "user")?.value;
    if (text === undefined && Array.isArray(value.messages)) text = (value.messages as { role?: string; content?: string }[]).find((m) => m.role === "user")?.content;
    if (typeof text !== "string" || text.trim() === "") return void problems.push(`${path}:${row.line}: no prompt (prompt, instruction, question, text, turns[0] or a first user message)`);
    const labels = Object.fromEntries((["category", "kind"] as const).flatMap((field) => (typeof value[field] === "string" ? [[field, value[field]]] : [])));
    prompts.push({ id, prompt: text, ...labels });
  });
  if (prompts.length === 0) throw new InvalidArgumentError("prompts", problems[0] ?? `${path}: no prompts`);
  return { prompts, problems };
}
