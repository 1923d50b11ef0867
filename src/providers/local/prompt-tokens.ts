import {
  buildTokenizedPrompt,
  fitModelPromptFormat,
  prependBos,
  resolveModelPromptFormat,
  segmentRuns,
  type PromptFormatFit,
  type PromptModelInfo,
  type PromptSegment,
  type ResolvedPromptFormat,
} from "../../prompts/index.js";
import type { CallOptions, RenderedPrompt } from "../../spec/index.js";
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

/** The engine-neutral view of the model: node-llama-cpp's tokenizer is llama.cpp's own, called in process. */
function promptModelInfo(info: ModelPromptInfo): PromptModelInfo {
  const { model } = info;
  return {
    tokenizer: {
      tokenize: (text, special) => model.tokenize(text, special),
      bos: model.tokens.bos,
      bosString: model.tokens.bosString ?? undefined,
      eosString: model.tokens.eosString ?? undefined,
      addBos: model.tokens.shouldPrependBosToken,
    },
    modelName: info.modelName,
    architecture: info.architecture,
    chatTemplate: info.chatTemplate,
    defaultPromptFormat: info.defaultPromptFormat,
  };
}

/** Tokenizes a rendered prompt segment by segment (see prompts' segmentRuns for why runs are joined). */
export function tokenizeSegments(model: LlamaModel, segments: readonly PromptSegment[]): Token[] {
  return segmentRuns(segments).flatMap((run) => model.tokenize(run.text, run.special));
}

export function withBos(model: LlamaModel, tokens: Token[], addBos: boolean): Token[] {
  return prependBos(tokens, model.tokens.bos, addBos);
}

export function resolveFormatFor(info: ModelPromptInfo, explicit: string | undefined): ResolvedPromptFormat {
  return resolveModelPromptFormat(promptModelInfo(info), explicit);
}

/** The same choice `train` makes for this model, and whether the vocabulary can write it (see prompts/fit). */
export function fitFormatFor(info: ModelPromptInfo, explicit: string | undefined): PromptFormatFit {
  return fitModelPromptFormat(promptModelInfo(info), explicit, (text) => info.model.tokenize(text, true).length);
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
  const built = await buildTokenizedPrompt(promptModelInfo(info), options, contextSize);
  return { rendered: built.rendered, tokens: built.tokens as Token[] };
}
