import { InvalidArgumentError } from "../../errors/index.js";
import { applyWindowStrategy, fitPromptFormat, resolvePromptFormat, type PromptFormatFit, type PromptFormatRequest, type PromptSegment, type ResolvedPromptFormat } from "../../prompts/index.js";
import type { CallOptions, ChatMessage, RenderedPrompt } from "../../spec/index.js";
import type { LlamaModel, Token } from "./llama-runtime.js";

/** What the prompt builder needs to know about a loaded model (read once from its GGUF metadata). */
export interface ModelPromptInfo {
  model: LlamaModel;
  /** general.name, else the model id. */
  modelName: string;
  architecture?: string;
  chatTemplate?: string;
  /** The prompt format named in the model options (a call's promptFormat wins over it). */
  defaultPromptFormat?: string;
}

/** Tokens of a run of text; special-token strings become special tokens only when `special`. */
function tokenizeRun(model: LlamaModel, text: string, special: boolean): Token[] {
  if (text === "") return [];
  return model.tokenize(text, special);
}

/**
 * Tokenizes a rendered prompt segment by segment: format markup with special-token parsing,
 * message content without (a user typing "<s>" gets the characters, not the token). Adjacent
 * segments of the same kind are joined first, because SentencePiece adds its dummy-prefix space
 * at the start of every tokenize call, which must happen only where llama.cpp would put it for
 * the whole text (text start and after a special token).
 */
export function tokenizeSegments(model: LlamaModel, segments: readonly PromptSegment[]): Token[] {
  const runs: { text: string; special: boolean }[] = [];
  for (const segment of segments) {
    const last = runs[runs.length - 1];
    if (last && last.special === segment.special) last.text += segment.text;
    else runs.push({ text: segment.text, special: segment.special });
  }
  return runs.flatMap((run) => tokenizeRun(model, run.text, run.special));
}

export function withBos(model: LlamaModel, tokens: Token[], addBos: boolean): Token[] {
  const bos = model.tokens.bos;
  if (!addBos || bos === null || tokens[0] === bos) return tokens;
  return [bos, ...tokens];
}

function formatRequest(info: ModelPromptInfo, explicit: string | undefined): PromptFormatRequest {
  const { model } = info;
  return {
    explicit: explicit ?? info.defaultPromptFormat,
    chatTemplate: info.chatTemplate,
    modelName: info.modelName,
    architecture: info.architecture,
    bosToken: model.tokens.bosString ?? undefined,
    eosToken: model.tokens.eosString ?? undefined,
  };
}

export function resolveFormatFor(info: ModelPromptInfo, explicit: string | undefined): ResolvedPromptFormat {
  return resolvePromptFormat(formatRequest(info, explicit));
}

/** The same choice `train` makes for this model, and whether the vocabulary can write it (see prompts/fit). */
export function fitFormatFor(info: ModelPromptInfo, explicit: string | undefined): PromptFormatFit {
  return fitPromptFormat(formatRequest(info, explicit), (text) => info.model.tokenize(text, true).length);
}

export interface BuiltPrompt {
  rendered: RenderedPrompt;
  tokens: Token[];
}

/**
 * The exact prompt a call evaluates: a raw prompt (special tokens parsed, as llama-server does) or
 * messages rendered with the chosen format and fitted to the context with the window strategy.
 */
export async function buildPrompt(info: ModelPromptInfo, options: CallOptions, contextSize: number): Promise<BuiltPrompt> {
  const { model } = info;
  if (options.prompt !== undefined) {
    const tokens = withBos(model, tokenizeRun(model, options.prompt, true), options.addBos ?? model.tokens.shouldPrependBosToken);
    return {
      tokens,
      rendered: {
        text: options.prompt,
        tokens,
        format: { name: "raw", source: "raw", reason: "a raw prompt was given" },
        formatStops: [],
      },
    };
  }
  const messages = options.messages as ChatMessage[];
  if (messages.length === 0) throw new InvalidArgumentError("messages", "messages must not be empty");
  const { format, choice } = resolveFormatFor(info, options.promptFormat);
  const renderOptions = {
    addGenerationPrompt: true,
    bosToken: model.tokens.bosString ?? undefined,
    eosToken: model.tokens.eosString ?? undefined,
  };
  const render = (kept: ChatMessage[]) => {
    const rendered = format.render(kept, renderOptions);
    const tokens = withBos(model, tokenizeSegments(model, rendered.segments), !rendered.startsWithBos && model.tokens.shouldPrependBosToken);
    return { rendered, tokens };
  };
  const window = await applyWindowStrategy(messages, options.windowStrategy ?? { type: "keep-all" }, {
    countTokens: (kept) => render(kept).tokens.length,
    // At least one token of room for the reply.
    maxPromptTokens: Math.max(1, contextSize - 1),
  });
  const { rendered, tokens } = render(window.messages);
  return {
    tokens,
    rendered: {
      text: rendered.text,
      tokens,
      format: choice,
      formatStops: rendered.stops,
      messages: window.messages,
      window: window.report,
    },
  };
}
