// The exact prompt a local engine evaluates, as token ids, whichever program holds the tokenizer: the
// in-process engine tokenizes through node-llama-cpp, the llama-server engine through the server's own
// /tokenize (the same llama.cpp code). Both render, window and tokenize here, so the prompt logged for a
// call is the one the model saw, engine for engine.
import { InvalidArgumentError } from "../errors/index.js";
import type { ProjectorImageTokens } from "../gguf/projector-image-tokens.js";
import type { CallOptions, ChatMessage, RenderedPrompt } from "../spec/index.js";
import { fitPromptFormat, type PromptFormatFit, type SpecialTokenCounter } from "./fit.js";
import { resolvePromptFormat, type PromptFormatRequest, type ResolvedPromptFormat } from "./select.js";
import type { PromptSegment } from "./types.js";
import { imagesOf, tokenizeWithImages } from "./media-tokens.js";
import { applyWindowStrategy } from "./window.js";

/** A model's tokenizer as the prompt builder needs it. */
export interface PromptTokenizer {
  /** Token ids of one run of text; special-token strings become special tokens only when `special`. */
  tokenize(text: string, special: boolean): number[] | Promise<number[]>;
  /** The BOS token id, if the vocabulary has one. */
  bos: number | null;
  bosString?: string;
  eosString?: string;
  /** Whether the tokenizer puts BOS in front of a text (tokenizer.ggml.add_bos_token, or the vocabulary type's default). */
  addBos: boolean;
}

/** What the prompt builder needs to know about a loaded model (read once from its GGUF metadata). */
export interface PromptModelInfo {
  tokenizer: PromptTokenizer;
  /** general.name, else the model id. */
  modelName: string;
  architecture?: string;
  chatTemplate?: string;
  /** The prompt format named in the model options (a call's promptFormat wins over it). */
  defaultPromptFormat?: string;
  /** What one image becomes, for a model that sees (llama-server with --mmproj): prompts with images are counted as mtmd evaluates them. */
  imageTokens?: ProjectorImageTokens;
}

export interface TokenizedPrompt {
  rendered: RenderedPrompt;
  tokens: number[];
  /** Positions the prompt takes in the context: tokens.length, plus the images' embeddings (those of known size). */
  count: number;
}

/**
 * A rendered prompt's segments as runs to tokenize: format markup with special-token parsing, message
 * content without (a user typing "<s>" gets the characters, not the token). Adjacent segments of the same
 * kind are joined first, because SentencePiece adds its dummy-prefix space at the start of every tokenize
 * call, which must happen only where llama.cpp would put it for the whole text (text start and after a
 * special token).
 */
export function segmentRuns(segments: readonly PromptSegment[]): { text: string; special: boolean }[] {
  const runs: { text: string; special: boolean }[] = [];
  for (const segment of segments) {
    const last = runs[runs.length - 1];
    if (last && last.special === segment.special) last.text += segment.text;
    else runs.push({ text: segment.text, special: segment.special });
  }
  return runs.filter((run) => run.text !== "");
}

/** The runs are tokenized side by side: through llama-server each one is an HTTP round trip. */
export async function tokenizeRuns(tokenizer: PromptTokenizer, segments: readonly PromptSegment[]): Promise<number[]> {
  const pieces = await Promise.all(segmentRuns(segments).map((run) => tokenizer.tokenize(run.text, run.special)));
  return pieces.flat();
}

/** `tokens` with BOS in front when wanted and not already there. */
export function prependBos<T extends number>(tokens: T[], bos: T | null, addBos: boolean): T[] {
  if (!addBos || bos === null || tokens[0] === bos) return tokens;
  return [bos, ...tokens];
}

export function promptFormatRequestFor(info: PromptModelInfo, explicit: string | undefined): PromptFormatRequest {
  return {
    explicit: explicit ?? info.defaultPromptFormat,
    chatTemplate: info.chatTemplate,
    modelName: info.modelName,
    architecture: info.architecture,
    bosToken: info.tokenizer.bosString,
    eosToken: info.tokenizer.eosString,
  };
}

export function resolveModelPromptFormat(info: PromptModelInfo, explicit: string | undefined): ResolvedPromptFormat {
  return resolvePromptFormat(promptFormatRequestFor(info, explicit));
}

/** The same choice `train` makes for this model, and whether the vocabulary can write it (see prompts/fit). */
export function fitModelPromptFormat(info: PromptModelInfo, explicit: string | undefined, countSpecial: SpecialTokenCounter): PromptFormatFit {
  return fitPromptFormat(promptFormatRequestFor(info, explicit), countSpecial);
}

/**
 * The exact prompt a call evaluates: a raw prompt (special tokens parsed, as llama-server does) or
 * messages rendered with the chosen format and fitted to the context with the window strategy.
 */
export async function buildTokenizedPrompt(info: PromptModelInfo, options: CallOptions, contextSize: number): Promise<TokenizedPrompt> {
  const { tokenizer } = info;
  if (options.prompt !== undefined) {
    const raw = options.prompt === "" ? [] : await tokenizer.tokenize(options.prompt, true);
    const tokens = prependBos(raw, tokenizer.bos, options.addBos ?? tokenizer.addBos);
    return {
      tokens,
      count: tokens.length,
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
  const { format, choice } = resolveModelPromptFormat(info, options.promptFormat);
  const renderOptions = { addGenerationPrompt: true, bosToken: tokenizer.bosString, eosToken: tokenizer.eosString };
  const render = async (kept: ChatMessage[]) => {
    const rendered = format.render(kept, renderOptions);
    const images = info.imageTokens ? imagesOf(kept) : [];
    if (info.imageTokens && images.length > 0) return { rendered, ...(await tokenizeWithImages(tokenizer, rendered.text, images, info.imageTokens)) };
    const tokens = prependBos(await tokenizeRuns(tokenizer, rendered.segments), tokenizer.bos, !rendered.startsWithBos && tokenizer.addBos);
    return { rendered, tokens, count: tokens.length, images: undefined };
  };
  const window = await applyWindowStrategy(messages, options.windowStrategy ?? { type: "keep-all" }, {
    countTokens: async (kept) => (await render(kept)).count,
    // At least one token of room for the reply.
    maxPromptTokens: Math.max(1, contextSize - 1),
  });
  const { rendered, tokens, count, images } = await render(window.messages);
  return {
    tokens,
    count,
    rendered: {
      text: rendered.text,
      tokens,
      ...(images ? { images, tokenCount: images.some((image) => image.tokens === null) ? null : count } : {}),
      format: choice,
      formatStops: rendered.stops,
      messages: window.messages,
      window: window.report,
    },
  };
}
