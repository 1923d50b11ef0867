import { applyWindowStrategy } from "../../prompts/index.js";
import type { ChatMessage } from "../../spec/messages.js";
import type { WindowReport, WindowStrategy } from "../../spec/prompt.js";
import type { CallWarning } from "../../spec/results.js";

export interface RemoteWindowInput {
  strategy: WindowStrategy | undefined;
  messages: ChatMessage[];
  /** Room kept for the reply when the budget comes from the context size. */
  maxTokens?: number;
  /** Prompt tokens of these messages as the server will see them; undefined when the server cannot count. */
  countTokens?: (messages: ChatMessage[]) => Promise<number>;
  /** The server's context size, when it tells (asked lazily: only token budgets need it). */
  contextSize: () => Promise<number | undefined>;
}

export interface RemoteWindowResult {
  messages: ChatMessage[];
  report?: WindowReport;
  warnings: CallWarning[];
}

/**
 * The conversation-window strategies, applied before the request so a remote model drops history
 * exactly like a local one and reports it. Counting tokens needs the server's tokenizer
 * (llama-server, vLLM); without one, last-turns still works (it counts turns), keep-all is left to
 * the server's own context check, and token-budget cannot be honoured, which is said in a warning.
 */
export async function windowRemoteConversation(input: RemoteWindowInput): Promise<RemoteWindowResult> {
  const { strategy, messages, countTokens } = input;
  if (!strategy) return { messages, warnings: [] };
  const unlimited = { countTokens: () => 0, maxPromptTokens: Number.MAX_SAFE_INTEGER };

  if (strategy.type === "token-budget") {
    const budget = strategy.maxPromptTokens ?? (await budgetFromContext(input));
    if (!countTokens || budget === undefined) {
      const missing = !countTokens ? "this server cannot count tokens (llama-server and vLLM can)" : "the server does not report its context size (set windowStrategy.maxPromptTokens)";
      return {
        messages,
        warnings: [{ type: "unsupported-setting", setting: "windowStrategy", message: `windowStrategy token-budget ignored: ${missing}; the whole conversation was sent` }],
      };
    }
    const result = await applyWindowStrategy(messages, strategy, { countTokens, maxPromptTokens: budget });
    return { messages: result.messages, report: result.report, warnings: [] };
  }

  const budget = countTokens ? await budgetFromContext(input) : undefined;
  const limits = countTokens && budget !== undefined ? { countTokens, maxPromptTokens: budget } : unlimited;
  const result = await applyWindowStrategy(messages, strategy, limits);
  return { messages: result.messages, report: result.report, warnings: [] };
}

async function budgetFromContext(input: RemoteWindowInput): Promise<number | undefined> {
  const contextSize = await input.contextSize();
  return contextSize === undefined ? undefined : contextSize - (input.maxTokens ?? 0);
}
