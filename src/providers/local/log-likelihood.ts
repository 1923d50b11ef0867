import { ContextLengthExceededError, InvalidArgumentError } from "../../errors/index.js";
import type { LogLikelihoodRequest, LogLikelihoodResult } from "../../spec/index.js";
import type { ControlledEvaluateInputItem, LlamaContextSequence, LlamaModel, Token } from "./llama-runtime.js";
import { withBos } from "./prompt-tokens.js";
import { stateResetGateFor } from "./state-reset-gate.js";

/**
 * Splits context+continuation into tokens the way lm-evaluation-harness does: tokenize the whole
 * text once (so the boundary tokenizes as the model would see it), and call continuation every
 * token after the longest common prefix with the context's own tokenization.
 */
export function splitContinuation(model: LlamaModel, request: LogLikelihoodRequest): { tokens: Token[]; continuationStart: number } {
  const addBos = model.tokens.shouldPrependBosToken;
  // Plain text unless the caller says it holds markup: "</s>" in a benchmark row is five characters.
  const special = request.parseSpecial ?? false;
  const whole = withBos(model, model.tokenize(request.context + request.continuation, special), addBos);
  const context = withBos(model, model.tokenize(request.context, special), addBos);
  let common = 0;
  while (common < context.length && common < whole.length && context[common] === whole[common]) common++;
  if (common === 0) {
    throw new InvalidArgumentError("context", "the context is empty and the model adds no BOS token, so the first token has nothing to condition on");
  }
  return { tokens: whole, continuationStart: common };
}

/**
 * Sum of natural-log probabilities of the continuation's tokens, from the raw logits at each
 * position: logprob = logit(token) - max - ln(sum(exp(logit - max))).
 */
export async function scoreContinuation(
  model: LlamaModel,
  sequence: LlamaContextSequence,
  request: LogLikelihoodRequest,
  contextSize: number,
): Promise<LogLikelihoodResult> {
  const { tokens, continuationStart } = splitContinuation(model, request);
  return scoreTokens(sequence, tokens, continuationStart, contextSize);
}

/**
 * The same score for tokens given as ids (context exactly as given, BOS included only if the caller put
 * it there): tools that must match llama.cpp token for token, like perplexity, skip re-tokenization.
 */
export async function scoreTokens(
  sequence: LlamaContextSequence,
  tokens: Token[],
  continuationStart: number,
  contextSize: number,
): Promise<LogLikelihoodResult> {
  if (continuationStart < 1) throw new InvalidArgumentError("contextTokens", "the context needs at least one token to condition on");
  if (tokens.length > contextSize) throw new ContextLengthExceededError(tokens.length, contextSize);
  const tokenCount = tokens.length - continuationStart;
  if (tokenCount === 0) return { logprob: 0, tokenCount: 0, isGreedy: true };

  // Reuse the cached prefix (multiple-choice questions share their context).
  const keep = Math.min(sequence.compareContextTokens(tokens).firstDifferentIndex, continuationStart - 1);
  const gate = stateResetGateFor(sequence.context);
  if (keep === 0) {
    if (sequence.nextTokenIndex > 0) await gate.reset(() => sequence.clearHistory());
  } else if (sequence.nextTokenIndex > keep) {
    await gate.reset(() => sequence.eraseContextTokenRanges([{ start: keep, end: sequence.nextTokenIndex }]));
  }

  // Position i's logits predict token i+1; the last token needs no prediction.
  const input: ControlledEvaluateInputItem[] = tokens.slice(keep, tokens.length - 1).map((token, offset) => {
    const index = keep + offset;
    if (index + 1 < continuationStart) return token;
    const next = tokens[index + 1];
    return [
      token,
      {
        generateNext: {
          token: true,
          totalLogitWeight: true,
          logits: { filter: { tokens: [next], includeTop: 1 } },
          options: { temperature: 0 },
        },
      },
    ];
  });
  const outputs = await sequence.controlledEvaluate(input);
  let logprob = 0;
  let isGreedy = true;
  for (let offset = 0; offset < input.length; offset++) {
    const index = keep + offset;
    if (index + 1 < continuationStart) continue;
    const next = tokens[index + 1];
    const output = outputs[offset]?.next;
    const logits = output?.logits;
    const total = output?.totalLogitWeight;
    if (!logits || total === undefined || !logits.has(next)) throw new Error(`llama.cpp returned no logits at position ${index}`);
    const max = logits.values().next().value as number;
    logprob += logits.get(next)! - max - Math.log(total);
    if (output.token !== next) isGreedy = false;
  }
  return { logprob, tokenCount, isGreedy };
}
