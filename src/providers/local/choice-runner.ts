// One completion on one llama.cpp sequence: prompt evaluation (reusing the sequence's cached
// prefix), the decode loop, whole-character streaming, stop strings, EOG tokens and limits.
import type { FinishReason, TokenLogprob, TopLogprob } from "../../spec/index.js";
import type { LlamaContextSequence, LlamaGrammar, LlamaModel, NodeLlamaCpp, SequenceEvaluateOptions, Token } from "./llama-runtime.js";
import { SeededRandom } from "../../random/seeded-random.js";
import { logNormalizer, sampleToken, type LogitEntry } from "./logit-sampler.js";
import { penaltiesActive, type SamplingSettings } from "./sampling.js";
import { decodeLockstepFor, type DecodeLockstep } from "./decode-lockstep.js";
import { stateResetGateFor } from "./state-reset-gate.js";
import { StopStringMatcher } from "./stop-matcher.js";
import { IncrementalTokenDecoder, type TokenBytesTable } from "./token-bytes.js";

export interface ChoiceRequest {
  library: NodeLlamaCpp;
  model: LlamaModel;
  sequence: LlamaContextSequence;
  tokenTable: TokenBytesTable;
  promptTokens: Token[];
  /** Already capped by the room left in the context. */
  maxTokens: number;
  sampling: SamplingSettings;
  stops: readonly string[];
  grammar?: LlamaGrammar;
  /** Number of alternatives per position; undefined: no logprobs. */
  topLogprobs?: number;
  /** The sequence's index among its context's sequences (= its llama.cpp sequence id): batch order. */
  slotIndex: number;
  /** Reuse the sequence's cached prompt prefix (llama-server's cache_prompt). */
  reusePrefix: boolean;
  signal: AbortSignal;
  onText(text: string, logprobs: TokenLogprob[] | undefined): void;
}

export interface ChoiceOutcome {
  finishReason: FinishReason;
  stopReason?: string;
  completionTokens: number;
  /** Prompt tokens actually evaluated (the rest came from the sequence's cache). */
  evaluatedPromptTokens: number;
  /** The whole prompt's size as the engine reported it (llama-server's tokens_evaluated), when it reports one. */
  reportedPromptTokens?: number;
  startedAt: number;
  firstTokenAt?: number;
  endedAt: number;
}

/** Brings the sequence to the longest usable cached prefix; returns the tokens still to evaluate. */
async function alignSequence(sequence: LlamaContextSequence, promptTokens: Token[], reusePrefix: boolean): Promise<Token[]> {
  let keep = 0;
  if (reusePrefix) {
    // At least the last prompt token is evaluated again: its logits give the first new token.
    keep = Math.min(sequence.compareContextTokens(promptTokens).firstDifferentIndex, promptTokens.length - 1);
  }
  const gate = stateResetGateFor(sequence.context);
  if (keep === 0) {
    // A never-used (or already empty) sequence needs no reset, and so no pause of the others.
    if (sequence.nextTokenIndex > 0) await gate.reset(() => sequence.clearHistory());
  } else if (sequence.nextTokenIndex > keep) {
    await gate.reset(() => sequence.eraseContextTokenRanges([{ start: keep, end: sequence.nextTokenIndex }]));
  }
  return promptTokens.slice(keep);
}

const tokenTextDecoder = new TextDecoder("utf-8", { fatal: false });

function describeToken(table: TokenBytesTable, token: number, logprob: number): TopLogprob {
  const bytes = table[token] ?? new Uint8Array(0);
  return { token: tokenTextDecoder.decode(bytes), logprob, bytes: [...bytes] };
}

export async function runChoice(request: ChoiceRequest): Promise<ChoiceOutcome> {
  const { model, sequence, signal } = request;
  const toEvaluate = await alignSequence(sequence, request.promptTokens, request.reusePrefix);
  // Prefill is timed from here: dropping the old state is bookkeeping, not prompt evaluation.
  const startedAt = performance.now();
  const outcome: ChoiceOutcome = {
    finishReason: "length",
    completionTokens: 0,
    evaluatedPromptTokens: toEvaluate.length,
    startedAt,
    endedAt: startedAt,
  };
  const history: Token[] = [...request.promptTokens];
  const decoder = new IncrementalTokenDecoder(request.tokenTable);
  const stopMatcher = new StopStringMatcher(request.stops);
  let pendingLogprobs: TokenLogprob[] = [];

  /** Handles one generated token; returns true when generation must end. */
  const accept = (token: Token, logprob?: TokenLogprob): boolean => {
    outcome.firstTokenAt ??= performance.now();
    if (signal.aborted) {
      outcome.finishReason = "abort";
      return true;
    }
    if (model.isEogToken(token)) {
      outcome.finishReason = "stop";
      outcome.stopReason = model.detokenize([token], true);
      return true;
    }
    outcome.completionTokens++;
    history.push(token);
    if (logprob) pendingLogprobs.push(logprob);
    const matched = stopMatcher.push(decoder.push(token));
    if (matched.stop !== undefined) {
      if (matched.text) request.onText(matched.text, undefined);
      pendingLogprobs = [];
      outcome.finishReason = "stop";
      outcome.stopReason = matched.stop;
      return true;
    }
    if (matched.text) {
      request.onText(matched.text, pendingLogprobs.length ? pendingLogprobs : undefined);
      pendingLogprobs = [];
    }
    if (outcome.completionTokens >= request.maxTokens) {
      outcome.finishReason = "length";
      return true;
    }
    return false;
  };

  if (request.maxTokens > 0 && !signal.aborted) {
    const rest = await prefillInChunks(sequence, toEvaluate, signal);
    if (signal.aborted) outcome.finishReason = "abort";
    else if (request.topLogprobs === undefined) await decodeNative(request, rest, history, accept);
    else await decodeWithLogprobs(request, rest, history, accept);
  } else if (signal.aborted) {
    outcome.finishReason = "abort";
  } else if (toEvaluate.length > 0) {
    // maxTokens 0: evaluate the prompt anyway, so usage and the cache are what the caller expects.
    await sequence.evaluateWithoutGeneratingNewTokens(toEvaluate);
  }

  if (outcome.finishReason !== "stop") {
    const rest = stopMatcher.push(decoder.flush()).text + stopMatcher.flush();
    if (rest || pendingLogprobs.length) request.onText(rest, pendingLogprobs.length ? pendingLogprobs : undefined);
  }
  outcome.endedAt = performance.now();
  return outcome;
}

/**
 * A long prompt is evaluated one batch at a time, checking the AbortSignal in between, so an abort
 * frees the sequence after at most one batch instead of after the whole prompt. Returns the tokens
 * left for the generating call (at least the last one: its logits give the first new token).
 */
export async function prefillInChunks(
  sequence: Pick<LlamaContextSequence, "context" | "evaluateWithoutGeneratingNewTokens">,
  tokens: Token[],
  signal: AbortSignal,
): Promise<Token[]> {
  const chunk = Math.max(1, sequence.context.batchSize);
  let start = 0;
  while (tokens.length - start > chunk && !signal.aborted) {
    await sequence.evaluateWithoutGeneratingNewTokens(tokens.slice(start, start + chunk));
    start += chunk;
    const paused = stateResetGateFor(sequence.context).whenOpen();
    if (paused) await paused;
  }
  return tokens.slice(start);
}

/** The fast path: node-llama-cpp's evaluate loop with native sampling (and grammar). */
async function decodeNative(
  request: ChoiceRequest,
  toEvaluate: Token[],
  history: Token[],
  accept: (token: Token) => boolean,
): Promise<void> {
  const { sampling } = request;
  // Greedy needs no truncation samplers or seed: leaving them out keeps llama.cpp's chain minimal.
  const options: SequenceEvaluateOptions =
    sampling.temperature > 0
      ? { temperature: sampling.temperature, topK: sampling.topK, topP: sampling.topP, minP: sampling.minP, seed: sampling.seed, yieldEogToken: true }
      : { temperature: 0, yieldEogToken: true };
  if (penaltiesActive(sampling)) {
    options.repeatPenalty = {
      punishTokens: () => history.slice(-sampling.repeatLastN),
      maxPunishTokens: sampling.repeatLastN,
      penalty: sampling.repeatPenalty,
      frequencyPenalty: sampling.frequencyPenalty,
      presencePenalty: sampling.presencePenalty,
    };
  }
  if (request.grammar) {
    options.grammarEvaluationState = new request.library.LlamaGrammarEvaluationState({
      model: request.model,
      grammar: request.grammar,
    });
  }
  const step = betweenTokens(request.sequence.context, request.slotIndex);
  try {
    for await (const token of request.sequence.evaluate(toEvaluate, options)) {
      step.joinOnce();
      if (accept(token)) break;
      const paused = step.wait();
      if (paused) await paused;
    }
  } finally {
    step.leave();
  }
}

/**
 * What a generation does between two tokens: let a pending sequence reset of another request through
 * (state-reset-gate.ts), then wait until the context's other generations have their tokens too, so the
 * next step is decoded as one batch (decode-lockstep.ts). Nothing to await in the common single case.
 */
function betweenTokens(context: object, slotIndex: number) {
  const gate = stateResetGateFor(context);
  const lockstep: DecodeLockstep = decodeLockstepFor(context);
  let joined = false;
  const arriveAfter = async (paused: Promise<void>) => {
    await paused;
    await lockstep.arrive(slotIndex);
  };
  return {
    /** Joins the lockstep with the first generated token (the prompt is evaluated by then). */
    joinOnce(): void {
      if (joined) return;
      joined = true;
      lockstep.join();
    },
    wait(): Promise<void> | undefined {
      const paused = gate.whenOpen();
      return paused ? arriveAfter(paused) : lockstep.arrive(slotIndex);
    },
    leave(): void {
      if (joined) lockstep.leave();
      joined = false;
    },
  };
}

/**
 * The logprobs path: raw logits for every step through controlledEvaluate, sampling in JS (see
 * logit-sampler.ts). Slower per token, so only used when logprobs are asked for.
 */
async function decodeWithLogprobs(
  request: ChoiceRequest,
  toEvaluate: Token[],
  history: Token[],
  accept: (token: Token, logprob: TokenLogprob) => boolean,
): Promise<void> {
  const random = new SeededRandom(request.sampling.seed);
  const top = request.topLogprobs ?? 0;
  const step = betweenTokens(request.sequence.context, request.slotIndex);
  try {
    await logprobsLoop();
  } finally {
    step.leave();
  }

  async function logprobsLoop(): Promise<void> {
    let input = toEvaluate;
    for (;;) {
      const last = input.length - 1;
      const items = input.map((token, index) =>
        index === last ? ([token, { generateNext: { logits: true as const } }] as [Token, { generateNext: { logits: true } }]) : token,
      );
      const output = await request.sequence.controlledEvaluate(items);
      const logits = output[last]?.next.logits;
      if (!logits || logits.size === 0) throw new Error("llama.cpp returned no logits for the next token");
      const entries: LogitEntry[] = [];
      for (const [id, logit] of logits) entries.push({ token: id, logit });
      const normalizer = logNormalizer(entries);
      const token = sampleToken(entries, request.sampling, history, random) as Token;
      const chosen = logits.get(token)!;
      // `entries` keeps the library's order: highest logit first.
      const topLogprobs = entries.slice(0, top).map((entry) => describeToken(request.tokenTable, entry.token, entry.logit - normalizer));
      const logprob: TokenLogprob = {
        ...describeToken(request.tokenTable, token, chosen - normalizer),
        tokenId: token,
        ...(top > 0 ? { topLogprobs } : {}),
      };
      step.joinOnce();
      if (accept(token, logprob)) return;
      input = [token];
      const paused = step.wait();
      if (paused) await paused;
    }
  }
}
