import { settleRequest, type SettledRequest } from "./failures.js";
import type { SamplingSettings, Teacher, TeacherCompletion } from "./teacher.js";

export type BatchOutcome = SettledRequest<TeacherCompletion>[];

/**
 * One request batch. The originals (Alpaca's utils.openai_completion, Self-Instruct's
 * gpt3_api.make_requests) send a batch's prompts in one completions call, so when a prompt overflows
 * the context, the shrunk max_tokens holds for every prompt of the batch. camelid sends one request
 * per prompt (chat servers take one prompt per call) and then restores that: a reply produced under a
 * larger max_tokens than the batch's is kept when it used no more tokens than the batch's limit (it is
 * a sample the smaller limit could have given), and asked again with the batch's max_tokens otherwise.
 */
export async function completeBatch(teacher: Teacher, prompts: string[], sampling: SamplingSettings, signal: AbortSignal): Promise<BatchOutcome> {
  const first = await Promise.all(prompts.map((prompt) => settleRequest(() => teacher.complete(prompt, sampling, signal), signal)));
  const limits = first.flatMap((outcome) => (outcome.ok && outcome.value.maxTokens !== undefined ? [outcome.value.maxTokens] : []));
  if (limits.length === 0) return first;
  const batchLimit = Math.min(...limits);
  return Promise.all(
    first.map((outcome, slot) =>
      outcome.ok && (outcome.value.maxTokens ?? 0) > batchLimit && outcome.value.completionTokens > batchLimit
        ? settleRequest(() => teacher.complete(prompts[slot], { ...sampling, maxTokens: batchLimit }, signal), signal)
        : outcome,
    ),
  );
}
