import { getPromptFormat } from "../../prompts/index.js";
import type { CallOptions } from "../../spec/call-options.js";
import type { LanguageModel, ModelDescription } from "../../spec/language-model.js";
import type { RenderedPrompt } from "../../spec/prompt.js";
import type { ChatMessage } from "../../spec/messages.js";
import type { CallWarning } from "../../spec/results.js";
import type { StreamPart, StreamResult } from "../../spec/stream-parts.js";
import { windowRemoteConversation } from "./conversation-window.js";
import { generateResultFrom } from "./generate-result.js";
import { openResponse, readJsonBody, type TransportSettings } from "./http-transport.js";
import { describeRemoteModel } from "./model-description.js";
import { type PreparedPrompt, preparePrompt } from "./prompt-preparation.js";
import { createPromptTokenCounter } from "./prompt-token-counter.js";
import { remoteLogLikelihood } from "./remote-log-likelihood.js";
import { buildRequestBody } from "./request-body.js";
import { applyServerTemplate, createServerTokenizer } from "./server-tokenizer.js";
import { type OpenAICompatibleSettings, type ResolvedSettings, resolveSettings } from "./settings.js";
import { StreamAssembler } from "./stream-assembly.js";
import { partStreamFromResponse, rejectNonStreamAnswer } from "./stream-reader.js";

export const OPENAI_COMPATIBLE_PROVIDER = "openai-compatible";

/**
 * A model behind any OpenAI-compatible server (OpenAI, vLLM, llama-server, Ollama), spoken to with
 * fetch and SSE. Results have the same shape as a local model's; what the server cannot honour is a warning.
 */
export function createOpenAICompatibleModel(input: OpenAICompatibleSettings): LanguageModel {
  const settings = resolveSettings(input);
  const transport: TransportSettings = {
    fetch: settings.fetch,
    headers: settings.headers,
    timeoutMs: settings.timeoutMs,
    retry: settings.retry,
    modelId: settings.model,
  };
  const endpoint = `${settings.baseURL}/${settings.api === "chat" ? "chat/completions" : "completions"}`;
  const tokenizer = createServerTokenizer(settings, transport);

  const countPromptTokens = createPromptTokenCounter(settings, transport, tokenizer);
  let contextSizeAnswer: Promise<number | undefined> | undefined;
  const contextSize = () =>
    (contextSizeAnswer ??= describeRemoteModel(settings, transport).then(
      (description) => description.contextSize,
      () => undefined,
    ));

  /** What goes on the wire, after the window strategy dropped (and reported) old turns. */
  const prepare = async (options: CallOptions): Promise<{ prepared: PreparedPrompt; warnings: CallWarning[] }> => {
    const prepareWith = (messages: ChatMessage[] | undefined) => preparePrompt(settings, { ...options, messages }, getPromptFormat);
    const checked = prepareWith(options.messages);
    if (!options.windowStrategy || !checked.rendered.messages) return { prepared: checked, warnings: [] };
    const windowed = await windowRemoteConversation({
      strategy: options.windowStrategy,
      messages: checked.rendered.messages ?? [],
      maxTokens: options.maxTokens,
      countTokens: countPromptTokens ? (messages) => countPromptTokens(messages, prepareWith) : undefined,
      contextSize,
    });
    const prepared = prepareWith(windowed.messages);
    if (windowed.report) prepared.rendered.window = windowed.report;
    return { prepared, warnings: windowed.warnings };
  };

  const model: LanguageModel = {
    specificationVersion: "camelid-v1",
    provider: OPENAI_COMPATIBLE_PROVIDER,
    modelId: settings.model,

    async doGenerate(options) {
      const startedAt = performance.now();
      const { prepared, warnings: windowWarnings } = await prepare(options);
      const { body, warnings } = buildBody(settings, options, prepared, false);
      warnings.push(...windowWarnings);
      const open = await openResponse(transport, { method: "POST", url: endpoint, body, abortSignal: options.abortSignal });
      const payload = await readJsonBody(open, endpoint);
      const finishedAt = performance.now();
      return generateResultFrom(payload, { settings, options, prepared, warnings, startedAt, finishedAt, endpoint });
    },

    async doStream(options) {
      const startedAt = performance.now();
      const { prepared, warnings: windowWarnings } = await prepare(options);
      const { body, warnings } = buildBody(settings, options, prepared, true);
      warnings.push(...windowWarnings);
      const open = await openResponse(transport, { method: "POST", url: endpoint, body, abortSignal: options.abortSignal });
      await rejectNonStreamAnswer(open, endpoint, settings.model);
      const assembler = new StreamAssembler({
        api: settings.api,
        requestedChoices: body.n === undefined ? 1 : Number(body.n),
        keepAlternatives: (options.topLogprobs ?? 0) > 0,
        startedAt,
        url: endpoint,
        modelId: settings.model,
        warnings,
      });
      // One warnings array: stream-start and StreamResult share it, and warnings found mid-stream
      // (odd finish reasons, missing usage) are appended to it as the stream runs.
      const start: StreamPart = { type: "stream-start", warnings, prompt: prepared.rendered };
      const stream = partStreamFromResponse(open, assembler, [start], endpoint);
      const result: StreamResult = { stream, warnings, prompt: prepared.rendered };
      return result;
    },

    async renderPrompt(options): Promise<RenderedPrompt> {
      const { prepared } = await prepare(options);
      if (settings.api === "chat" && settings.flavor === "llama-server" && prepared.messages) {
        return applyServerTemplate(settings, transport, prepared, options.abortSignal);
      }
      if (tokenizer && prepared.prompt !== undefined) {
        return { ...prepared.rendered, tokens: await tokenizer.tokenize(prepared.prompt, { addBos: true, parseSpecial: true }) };
      }
      return prepared.rendered;
    },

    describe(): Promise<ModelDescription> {
      return describeRemoteModel(settings, transport);
    },
  };
  if (tokenizer) {
    model.tokenize = tokenizer.tokenize;
    model.detokenize = tokenizer.detokenize;
  }
  // Prompt logprobs need `echo`: vLLM has it, OpenAI only on its base completion models.
  if (settings.flavor === "vllm" || (settings.flavor === "openai" && settings.api === "completions")) {
    model.logLikelihood = (requests, callOptions) => remoteLogLikelihood(settings, transport, requests, callOptions?.abortSignal);
  }
  return model;
}

function buildBody(settings: ResolvedSettings, options: CallOptions, prepared: PreparedPrompt, stream: boolean) {
  return buildRequestBody({
    model: settings.model,
    api: settings.api,
    flavor: settings.flavor,
    options,
    stream,
    messages: prepared.messages,
    prompt: prepared.prompt,
    formatStops: prepared.formatStops,
  });
}
