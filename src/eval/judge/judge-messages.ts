import type { ChatMessage } from "../../spec/messages.js";
import type { Answer } from "../data/answers.js";
import type { JudgePrompt } from "../data/judge-prompts.js";
import { fillTemplate } from "../data/judge-prompts.js";
import type { Question } from "../data/questions.js";
import type { VicunaReviewPrompt } from "../data/vicuna-review-prompts.js";

/** The judge's input: system prompt + one user message, exactly as FastChat sends it. */
function messagesFor(systemPrompt: string, userPrompt: string): ChatMessage[] {
  return systemPrompt ? [{ role: "system", content: systemPrompt }, { role: "user", content: userPrompt }] : [{ role: "user", content: userPrompt }];
}

function turnValues(prefix: string, turns: readonly string[] | undefined): Record<string, string> {
  const values: Record<string, string> = {};
  (turns ?? []).forEach((text, index) => (values[`${prefix}_${index + 1}`] = text));
  return values;
}

/** Single-answer grading of one turn (turn 2 uses the multi-turn prompt with the whole conversation). */
export function singleGradingMessages(prompt: JudgePrompt, question: Question, answer: Answer, turn: number, reference?: readonly string[]): { messages: ChatMessage[]; userPrompt: string } {
  const values = {
    question: question.turns[turn - 1] ?? "",
    answer: answer.turns[turn - 1] ?? "",
    ...turnValues("question", question.turns),
    ...turnValues("answer", answer.turns),
    ...turnValues("ref_answer", reference),
  };
  const userPrompt = fillTemplate(prompt.promptTemplate, values, prompt.name);
  return { messages: messagesFor(prompt.systemPrompt, userPrompt), userPrompt };
}

/** Pairwise comparison of one turn with `first` shown as Assistant A and `second` as B. */
export function pairwiseMessages(prompt: JudgePrompt, question: Question, first: Answer, second: Answer, turn: number, reference?: readonly string[]): { messages: ChatMessage[]; userPrompt: string } {
  const values = {
    question: question.turns[turn - 1] ?? "",
    answer_a: first.turns[turn - 1] ?? "",
    answer_b: second.turns[turn - 1] ?? "",
    ...turnValues("question", question.turns),
    ...turnValues("answer_a", first.turns),
    ...turnValues("answer_b", second.turns),
    ...turnValues("ref_answer", reference),
  };
  const userPrompt = fillTemplate(prompt.promptTemplate, values, prompt.name);
  return { messages: messagesFor(prompt.systemPrompt, userPrompt), userPrompt };
}

/** The original Vicuna review: `first` is Assistant 1, `second` Assistant 2. */
export function vicunaReviewMessages(prompt: VicunaReviewPrompt, question: Question, first: Answer, second: Answer): { messages: ChatMessage[]; userPrompt: string } {
  const values = { ...prompt.defaults, question: question.turns[0], answer_1: first.turns[0] ?? "", answer_2: second.turns[0] ?? "" };
  const userPrompt = fillTemplate(prompt.promptTemplate, values, `review prompt ${prompt.promptId}`);
  return { messages: messagesFor(prompt.systemPrompt, userPrompt), userPrompt };
}
