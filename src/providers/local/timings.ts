import type { Timings } from "../../spec/index.js";
import type { ChoiceOutcome } from "./choice-runner.js";

/**
 * Call timings from the choices' outcomes: time to first token from the call, prefill rate over
 * the prompt tokens actually evaluated (cached prefixes excluded), decode rate over the tokens
 * after each choice's first one.
 */
export function summarizeTimings(calledAt: number, outcomes: ChoiceOutcome[]): Timings {
  const endedAt = Math.max(performance.now(), ...outcomes.map((o) => o.endedAt));
  const firsts = outcomes.flatMap((o) => (o.firstTokenAt !== undefined ? [o.firstTokenAt] : []));
  const firstTokenAt = firsts.length ? Math.min(...firsts) : endedAt;
  const evaluated = outcomes.reduce((sum, o) => sum + o.evaluatedPromptTokens, 0);
  const prefillEnd = firsts.length ? Math.max(...firsts) : endedAt;
  const prefillStart = outcomes.length ? Math.min(...outcomes.map((o) => o.startedAt)) : calledAt;
  // Tokens after each choice's first one were produced in the decode phase.
  const decodeTokens = outcomes.reduce((sum, o) => sum + Math.max(0, o.completionTokens - 1), 0);
  const decodeMs = endedAt - firstTokenAt;
  const prefillMs = prefillEnd - prefillStart;
  return {
    timeToFirstTokenMs: firstTokenAt - calledAt,
    totalMs: endedAt - calledAt,
    ...(evaluated > 0 && prefillMs > 0 ? { promptTokensPerSecond: (evaluated / prefillMs) * 1000 } : {}),
    tokensPerSecond: decodeTokens > 0 && decodeMs > 0 ? (decodeTokens / decodeMs) * 1000 : 0,
  };
}
