/**
 * What rejection sampling needs from a scorer: a number for one answer to one prompt, or why there is
 * none. An LLM judge implements it today (judge-scorer.ts); a reward model will (LLaMA-2 §3.2.2).
 */
export type AnswerScore = { kind: "score"; score: number } | { kind: "unscored"; reason: string };

export interface AnswerScorer {
  /** Recorded in every row ("judge:gpt-4/single-v1"). */
  readonly name: string;
  /** Content hash of everything that decides the scores (prompt template, model): a resume with another scorer is refused. */
  readonly fingerprint: string;
  score(prompt: string, answer: string, signal?: AbortSignal): Promise<AnswerScore>;
}
