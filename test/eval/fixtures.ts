import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Answer } from "../../src/eval/data/answers.js";
import type { Question } from "../../src/eval/data/questions.js";

/** A fresh temporary directory per test (judgments and answers are written there, never in the repo). */
export function temporaryDirectory(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), "camelid-eval-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Two MT-bench-shaped questions: one judged without a reference, one (math) against a reference. */
export const twoTurnQuestions: Question[] = [
  { questionId: 81, category: "writing", turns: ["Write a haiku about llamas.", "Now make it rhyme."] },
  { questionId: 111, category: "math", turns: ["What is 2+2?", "And 3+3?"] },
];

export const references = new Map<string, Answer>([["111", { questionId: 111, modelId: "gpt-4", turns: ["4", "6"] }]]);

function answers(model: string, byQuestion: Record<number, string[]>): Map<string, Answer> {
  return new Map(Object.entries(byQuestion).map(([id, turns]) => [id, { questionId: Number(id), modelId: model, answerId: `${model}-${id}`, turns }]));
}

/** "good" answers win with the content-aware judge; "weak" ones lose. */
export function twoModelAnswers(): Map<string, Map<string, Answer>> {
  return new Map([
    ["alpha", answers("alpha", { 81: ["good haiku, long and careful", "good rhyme"], 111: ["good: 4", "good: 6"] })],
    ["beta", answers("beta", { 81: ["weak", "weak rhyme"], 111: ["weak 5", "weak 7"] })],
  ]);
}

/** The user message a judge received. */
export function userPrompt(options: { messages?: Array<{ role: string; content: string }> }): string {
  return options.messages?.find((m) => m.role === "user")?.content ?? "";
}
