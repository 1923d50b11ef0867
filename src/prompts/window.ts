import { ContextLengthExceededError, InvalidArgumentError } from "../errors/index.js";
import type { ChatMessage } from "../spec/messages.js";
import type { WindowReport, WindowStrategy } from "../spec/prompt.js";

export interface WindowOptions {
  /** Tokens of the prompt these messages render to (format and tokenizer are the caller's business). */
  countTokens: (messages: ChatMessage[]) => number | Promise<number>;
  /** The most prompt tokens allowed (context size minus room for the reply). */
  maxPromptTokens: number;
}

export interface WindowResult {
  messages: ChatMessage[];
  report: WindowReport;
  /** countTokens of the kept messages. */
  promptTokens: number;
}

/**
 * Fits a conversation into the prompt budget. Leading system messages are pinned; the rest is cut into
 * turns, each starting at a user message, and only whole turns are ever dropped, oldest first. The
 * turn holding the last user message is never dropped: when it alone does not fit, that is an error.
 * - keep-all: nothing is dropped; too long is a ContextLengthExceededError naming the size.
 * - last-turns: keep the last `turns` turns; still too long is an error.
 * - token-budget: drop the fewest oldest turns that make it fit (`strategy.maxPromptTokens` overrides).
 */
export async function applyWindowStrategy(
  messages: ChatMessage[],
  strategy: WindowStrategy,
  options: WindowOptions,
): Promise<WindowResult> {
  if (!Array.isArray(messages) || messages.length === 0) throw new InvalidArgumentError("messages", "messages must be a non-empty array");
  const budget = strategy?.type === "token-budget" && strategy.maxPromptTokens !== undefined ? strategy.maxPromptTokens : options.maxPromptTokens;
  if (!Number.isInteger(budget) || budget < 1) {
    throw new InvalidArgumentError("maxPromptTokens", `maxPromptTokens must be a positive integer, got ${String(budget)}`);
  }
  const count = async (kept: ChatMessage[]): Promise<number> => {
    const tokens = await options.countTokens(kept);
    if (!Number.isFinite(tokens) || tokens < 0) throw new InvalidArgumentError("countTokens", `countTokens returned ${String(tokens)}, not a token count`);
    return tokens;
  };
  const { pinned, turns } = splitTurns(messages);
  const keep = (dropTurns: number) => [...pinned, ...turns.slice(dropTurns).flat()];
  const result = (strategyName: WindowStrategy["type"], kept: ChatMessage[], promptTokens: number): WindowResult => ({
    messages: kept,
    report: { strategy: strategyName, droppedMessages: messages.length - kept.length, keptMessages: kept.length },
    promptTokens,
  });

  switch (strategy?.type) {
    case "keep-all": {
      const tokens = await count(messages);
      if (tokens > budget) {
        throw new ContextLengthExceededError(
          tokens,
          budget,
          `the conversation is ${tokens} prompt tokens but at most ${budget} fit; the keep-all strategy drops nothing ` +
            `(use last-turns or token-budget to drop old turns)`,
        );
      }
      return result("keep-all", messages, tokens);
    }
    case "last-turns": {
      if (!Number.isInteger(strategy.turns) || strategy.turns < 1) {
        throw new InvalidArgumentError("windowStrategy.turns", `turns must be a positive integer, got ${String(strategy.turns)}`);
      }
      const kept = keep(Math.max(0, turns.length - strategy.turns));
      const tokens = await count(kept);
      if (tokens > budget) {
        throw new ContextLengthExceededError(
          tokens,
          budget,
          `the last ${strategy.turns} turn(s) are ${tokens} prompt tokens but at most ${budget} fit`,
        );
      }
      return result("last-turns", kept, tokens);
    }
    case "token-budget": {
      const allTokens = await count(messages);
      if (allTokens <= budget) return result("token-budget", messages, allTokens);
      // Binary search for the fewest dropped turns that fit; prompts only shrink as turns go.
      const mostDroppable = turns.length - 1;
      const lastTurnTokens = mostDroppable > 0 ? await count(keep(mostDroppable)) : allTokens;
      if (lastTurnTokens > budget) {
        throw new ContextLengthExceededError(
          lastTurnTokens,
          budget,
          `even with only the system prompt and the last user turn the prompt is ${lastTurnTokens} tokens but at most ${budget} fit`,
        );
      }
      let fits = mostDroppable;
      let fitsTokens = lastTurnTokens;
      let tooLong = 0;
      while (fits - tooLong > 1) {
        const middle = Math.floor((fits + tooLong) / 2);
        const tokens = await count(keep(middle));
        if (tokens <= budget) {
          fits = middle;
          fitsTokens = tokens;
        } else {
          tooLong = middle;
        }
      }
      return result("token-budget", keep(fits), fitsTokens);
    }
    default:
      throw new InvalidArgumentError(
        "windowStrategy.type",
        `unknown window strategy ${JSON.stringify((strategy as { type?: unknown } | undefined)?.type)}; known: keep-all, last-turns, token-budget`,
      );
  }
}

/** Leading system messages, then turns that each start at a user message (anything before the first user is its own turn). */
export function splitTurns(messages: ChatMessage[]): { pinned: ChatMessage[]; turns: ChatMessage[][] } {
  let start = 0;
  while (start < messages.length && messages[start].role === "system") start++;
  const turns: ChatMessage[][] = [];
  for (let index = start; index < messages.length; index++) {
    const message = messages[index];
    if (message.role === "user" || turns.length === 0) turns.push([message]);
    else turns[turns.length - 1].push(message);
  }
  return { pinned: messages.slice(0, start), turns };
}
