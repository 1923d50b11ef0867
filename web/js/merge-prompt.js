// @ts-check
// The Collaboration aggregator's prompt: a template the user edits, filled with the question and
// every answer. Placeholders: {question} and {answers}; unknown braces are left alone.

export const defaultMergePrompt = `You are given a question and several candidate answers written by different assistants.
Combine them into one answer that keeps what is correct and useful in each, fixes mistakes, and removes repetition.
Reply with the combined answer only.

Question:
{question}

Candidate answers:
{answers}`;

/** @param {string} template @param {string} question @param {{model: string, text: string}[]} answers */
export function fillMergePrompt(template, question, answers) {
  const block = answers.map((answer, i) => `### Answer ${i + 1} (${answer.model})\n${answer.text.trim()}`).join("\n\n");
  return template.replace(/\{(question|answers)\}/g, (_, key) => (key === "question" ? question : block));
}
