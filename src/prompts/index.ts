export type { PromptFormat, PromptSegment, RenderOptions, RenderedFormat } from "./types.js";
export { promptFormats, promptFormatNames, findPromptFormat, getPromptFormat } from "./registry.js";
export { alpacaFormat, renderAlpacaExample, ALPACA_PREAMBLE_NO_INPUT, ALPACA_PREAMBLE_WITH_INPUT, type AlpacaExample } from "./formats/alpaca.js";
export { vicunaV0Format, vicunaV11Format, koalaFormat } from "./formats/fastchat.js";
export { llama2ChatFormat } from "./formats/llama2-chat.js";
export { chatmlFormat } from "./formats/chatml.js";
export { llama3Format } from "./formats/llama3.js";
export { WELL_KNOWN_SPECIAL_TOKENS, WELL_KNOWN_END_OF_TURN_TOKENS } from "./formats/tokens.js";
export { createChatTemplateFormat, CHAT_TEMPLATE_FORMAT_NAME, type ChatTemplateFormatSettings } from "./jinja/chat-template.js";
export { splitAtSpecialTokens } from "./jinja/special-tokens.js";
export {
  resolvePromptFormat,
  FALLBACK_PROMPT_FORMAT,
  NAME_HEURISTICS,
  ARCHITECTURE_HEURISTICS,
  type PromptFormatRequest,
  type ResolvedPromptFormat,
} from "./select.js";
export {
  fitPromptFormat,
  requireFittingPromptFormat,
  describeFormatMisfit,
  missingSpecialTokens,
  specialTextsOf,
  type PromptFormatFit,
  type SpecialTokenCounter,
} from "./fit.js";
export { applyWindowStrategy, splitTurns, type WindowOptions, type WindowResult } from "./window.js";
export {
  rankPromptFormats,
  CANONICAL_EXCHANGE,
  type RankPromptFormatsOptions,
  type PromptFormatScore,
  type PromptFormatRanking,
} from "./detect.js";
export { chatMessageSchema, chatMessagesSchema, parseConversation, type ParsedConversation, type ConversationTurn } from "./conversation.js";
export {
  buildTokenizedPrompt,
  fitModelPromptFormat,
  prependBos,
  promptFormatRequestFor,
  resolveModelPromptFormat,
  segmentRuns,
  tokenizeRuns,
  type PromptModelInfo,
  type PromptTokenizer,
  type TokenizedPrompt,
} from "./tokenized-prompt.js";
