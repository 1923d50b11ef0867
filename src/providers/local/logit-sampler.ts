// Sampling in JS from raw logits, used only when the caller asks for logprobs. OpenAI defines
// logprobs on the model's raw distribution, but node-llama-cpp reports probabilities after its
// sampler chain (top-k truncation, temperature), so for logprobs we take the raw logits and apply
// the same chain (penalties → top-k → top-p → min-p → temperature → draw) here.
import type { SeededRandom } from "../../random/seeded-random.js";
import type { SamplingSettings } from "./sampling.js";

/** Candidate tokens with their logits; `logits` keeps the raw values for logprobs. */
export interface LogitEntry {
  token: number;
  logit: number;
}

/** log(sum(exp(logit))) computed stably; logprob(token) = logit - logNormalizer. */
export function logNormalizer(entries: readonly LogitEntry[]): number {
  let max = -Infinity;
  for (const entry of entries) if (entry.logit > max) max = entry.logit;
  let sum = 0;
  for (const entry of entries) sum += Math.exp(entry.logit - max);
  return max + Math.log(sum);
}

function applyPenalties(entries: LogitEntry[], settings: SamplingSettings, history: readonly number[]): LogitEntry[] {
  if (settings.repeatLastN <= 0) return entries;
  const counts = new Map<number, number>();
  for (const token of history.slice(-settings.repeatLastN)) counts.set(token, (counts.get(token) ?? 0) + 1);
  if (counts.size === 0) return entries;
  return entries.map(({ token, logit }) => {
    const count = counts.get(token);
    if (count === undefined) return { token, logit };
    // llama.cpp's llama_sampler_penalties: divide positive logits, multiply negative ones.
    let penalized = logit > 0 ? logit / settings.repeatPenalty : logit * settings.repeatPenalty;
    penalized -= count * settings.frequencyPenalty + settings.presencePenalty;
    return { token, logit: penalized };
  });
}

/** Picks the next token the way llama.cpp's sampler chain would, with a seeded generator. */
export function sampleToken(
  rawEntries: readonly LogitEntry[],
  settings: SamplingSettings,
  history: readonly number[],
  random: SeededRandom,
): number {
  let entries = applyPenalties([...rawEntries], settings, history);
  entries.sort((a, b) => b.logit - a.logit);
  if (settings.temperature <= 0 || entries.length === 1) return entries[0].token;
  if (settings.topK > 0 && settings.topK < entries.length) entries = entries.slice(0, settings.topK);
  let probabilities = softmax(entries.map((e) => e.logit));
  if (settings.topP < 1) {
    let cumulative = 0;
    let keep = entries.length;
    for (let i = 0; i < probabilities.length; i++) {
      cumulative += probabilities[i];
      if (cumulative >= settings.topP) {
        keep = i + 1;
        break;
      }
    }
    entries = entries.slice(0, keep);
    probabilities = probabilities.slice(0, keep);
  }
  if (settings.minP > 0) {
    const threshold = probabilities[0] * settings.minP;
    const keep = Math.max(1, probabilities.filter((p) => p >= threshold).length);
    entries = entries.slice(0, keep);
  }
  probabilities = softmax(entries.map((e) => e.logit / settings.temperature));
  const draw = random.next();
  let cumulative = 0;
  for (let i = 0; i < entries.length; i++) {
    cumulative += probabilities[i];
    if (draw < cumulative) return entries[i].token;
  }
  return entries[entries.length - 1].token;
}

function softmax(logits: readonly number[]): number[] {
  let max = -Infinity;
  for (const logit of logits) if (logit > max) max = logit;
  const exps = logits.map((l) => Math.exp(l - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}
