import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import type { ChatMessage } from "../../spec/index.js";
import { contentHash } from "../../hashing/content-hash.js";

/**
 * Context distillation (LLaMA-2 §4.2.4): the teacher answers with a safety preprompt in front of the
 * prompt, and the conversation is stored without it, so that fine-tuning on it bakes the behaviour in.
 * The paper prefixes the preprompt to the prompt (`prefix`, the default); `system` sends it as a system
 * message instead. Its "answer templates" (how to answer a prompt of a given risk category) are
 * appended to the preprompt for prompts of that category. The paper applies the preprompt to adversarial
 * prompts only, since on helpful ones it causes false refusals: `onlyFor` names the categories or kinds
 * (a prompt row's `category`/`kind` field) that get it.
 */
export const prepromptPlacements = ["prefix", "system"] as const;
export type PrepromptPlacement = (typeof prepromptPlacements)[number];
export const isPrepromptPlacement = (value: string): value is PrepromptPlacement => (prepromptPlacements as readonly string[]).includes(value);

/** Between preprompt, answer template and prompt (the paper shows them as paragraphs; it gives no separator). */
export const prepromptSeparator = "\n\n";

export interface ContextDistillation {
  preprompt: string;
  placement: PrepromptPlacement;
  /** Only prompts whose category or kind is one of these get the preprompt; absent: every prompt. */
  onlyFor?: string[];
  /** Category → answer template, appended to the preprompt for prompts of that category. */
  answerTemplates?: Record<string, string>;
}

/** What decides whether and how a prompt is preprompted: the prompt row's labels. */
export interface PromptLabels {
  category?: string;
  kind?: string;
}

export interface AppliedPreprompt {
  /** The preprompt, with the category's answer template appended when there is one. */
  text: string;
  /** The category whose answer template was appended. */
  answerTemplate?: string;
}

export function prepromptFor(labels: PromptLabels, distillation: ContextDistillation | undefined): AppliedPreprompt | undefined {
  if (!distillation) return undefined;
  const { onlyFor, answerTemplates } = distillation;
  if (onlyFor && !onlyFor.some((name) => name === labels.category || name === labels.kind)) return undefined;
  const template = labels.category !== undefined && answerTemplates && Object.hasOwn(answerTemplates, labels.category) ? answerTemplates[labels.category] : undefined;
  if (template === undefined) return { text: distillation.preprompt };
  return { text: `${distillation.preprompt}${prepromptSeparator}${template}`, answerTemplate: labels.category };
}

/**
 * The teacher's view of a conversation: the stored messages with the preprompt put in (before the first
 * user turn, or as/in front of the system message). The stored conversation itself never holds it.
 */
export function withPreprompt(messages: ChatMessage[], applied: AppliedPreprompt | undefined, placement: PrepromptPlacement): ChatMessage[] {
  if (!applied) return messages;
  if (placement === "system") {
    const system = messages[0]?.role === "system" ? messages[0] : undefined;
    const rest = system ? messages.slice(1) : messages;
    return [{ role: "system", content: system ? `${applied.text}${prepromptSeparator}${system.content}` : applied.text }, ...rest];
  }
  const first = messages.findIndex((message) => message.role === "user");
  return messages.map((message, index) => (index === first ? { ...message, content: `${applied.text}${prepromptSeparator}${message.content}` } : message));
}

/** The metadata a stored row carries when its answers were made with the preprompt. */
export function prepromptRecord(applied: AppliedPreprompt, distillation: ContextDistillation) {
  return {
    preprompt_sha256: contentHash(distillation.preprompt),
    placement: distillation.placement,
    ...(applied.answerTemplate !== undefined ? { answer_template: applied.answerTemplate, answer_template_sha256: contentHash(distillation.answerTemplates![applied.answerTemplate]) } : {}),
  };
}

/** The run's input fingerprint: a resume with another preprompt or other templates is refused by name. */
export function contextDistillationInputs(distillation: ContextDistillation | undefined): Record<string, string> {
  if (!distillation) return {};
  return {
    "preprompt (--preprompt)": contentHash(distillation.preprompt),
    ...(distillation.answerTemplates ? { "answer templates (--answer-templates)": contentHash(distillation.answerTemplates) } : {}),
  };
}

/** `--preprompt TEXT` or `--preprompt @FILE` (the file's text, surrounding whitespace trimmed). */
export function readPreprompt(value: string, resolvePath: (path: string) => string): string {
  let text = value;
  if (value.startsWith("@")) {
    const path = resolvePath(value.slice(1));
    if (!existsSync(path)) throw new InvalidArgumentError("preprompt", `--preprompt @FILE: file not found: ${path}`);
    text = readFileSync(path, "utf8");
  }
  text = text.trim();
  if (text === "") throw new InvalidArgumentError("preprompt", "--preprompt is empty");
  return text;
}

const answerTemplatesSchema = z.record(z.string(), z.string().min(1));

/** `--answer-templates FILE`: a JSON object mapping a category to its answer template text. */
export function readAnswerTemplates(path: string): Record<string, string> {
  if (!existsSync(path)) throw new InvalidArgumentError("answer-templates", `file not found: ${path}`);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new InvalidArgumentError("answer-templates", `${path}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  const parsed = answerTemplatesSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidArgumentError("answer-templates", `${path}: must be a JSON object of category → template text${issue.path.length ? ` (at "${issue.path.join(".")}": ${issue.message})` : ""}`);
  }
  if (Object.keys(parsed.data).length === 0) throw new InvalidArgumentError("answer-templates", `${path}: holds no templates`);
  return parsed.data;
}
