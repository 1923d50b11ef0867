import { UpstreamError } from "../../errors/index.js";
import { getPromptFormat } from "../../prompts/index.js";
import type { CallOptions } from "../../spec/call-options.js";
import type { LanguageModel, ModelDescription } from "../../spec/language-model.js";
import type { RenderedPrompt } from "../../spec/prompt.js";
import type { CallWarning, Choice, GenerateResult } from "../../spec/results.js";
import type { ChatMessage } from "../../spec/messages.js";
import type { StreamPart, StreamResult } from "../../spec/stream-parts.js";
import { windowRemoteConversation } from "./conversation-window.js";
import { errorFromResponse, extractErrorDetails, statusOfStreamError } from "./error-mapping.js";
import { type OpenResponse, openResponse, readJsonBody, type TransportSettings } from "./http-transport.js";
import { describeRemoteModel } from "./model-description.js";
import { type PreparedPrompt, preparePrompt } from "./prompt-preparation.js";
import { createPromptTokenCounter } from "./prompt-token-counter.js";
import { remoteLogLikelihood } from "./remote-log-likelihood.js";
import { applyServerTemplate, createServerTokenizer } from "./server-tokenizer.js";
import { buildRequestBody } from "./request-body.js";
import { mapFinishReason, mapLogprobs, mapStopReason, mapUsage, measureTimings, splitCompletionTokens } from "./response-mapping.js";
import { chatResponseSchema, completionResponseSchema } from "./response-schemas.js";
import { type OpenAICompatibleSettings, type ResolvedSettings, resolveSettings } from "./settings.js";
import { StreamAssembler } from "./stream-assembly.js";
import { partStreamFromResponse } from "./stream-reader.js";

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

/**
 * A server that cannot stream (or fails before streaming) may answer a stream request with plain
 * JSON and status 200; reading that as SSE would only report a confusing "ended without [DONE]".
 */
async function rejectNonStreamAnswer(open: OpenResponse, url: string, modelId: string): Promise<void> {
  const contentType = open.response.headers.get("content-type") ?? "";
  if (!contentType.includes("application/json")) return;
  const payload = await readJsonBody(open, url);
  if (extractErrorDetails(payload)) {
    throw errorFromResponse({ status: statusOfStreamError(extractErrorDetails(payload)), body: payload, url, modelId });
  }
  throw new UpstreamError(`${url} answered a stream request with JSON instead of server-sent events (does it support "stream": true?)`, 200, payload);
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

interface GenerateContext {
  settings: ResolvedSettings;
  options: CallOptions;
  prepared: PreparedPrompt;
  warnings: CallWarning[];
  startedAt: number;
  finishedAt: number;
  endpoint: string;
}

/** Map a whole (non-streamed) chat or completions response to our GenerateResult. */
function generateResultFrom(payload: unknown, context: GenerateContext): GenerateResult {
  const { settings, options, warnings } = context;
  const schema = settings.api === "chat" ? chatResponseSchema : completionResponseSchema;
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UpstreamError(
      `${context.endpoint} returned a malformed response (${issue.path.join(".") || "body"}: ${issue.message})`,
      200,
      payload,
    );
  }
  const response = parsed.data;
  if (response.choices.length === 0) throw new UpstreamError(`${context.endpoint} returned no choices`, 200, payload);
  const keepAlternatives = (options.topLogprobs ?? 0) > 0;
  const wire = [...response.choices]
    .sort((a, b) => a.index - b.index)
    .map((choice) => {
      const text = "message" in choice ? (choice.message.content ?? "") : (choice.text ?? "");
      const logprobs = mapLogprobs(choice.logprobs, keepAlternatives);
      return { choice, text, logprobs, countedTokens: logprobs?.length };
    });
  const counted = wire.reduce((sum, entry) => sum + (entry.countedTokens ?? 0), 0);
  const usage = mapUsage(response.usage, counted);
  if (!response.usage) warnings.push({ type: "other", message: "the server reported no usage; token counts are what we could count" });
  const split = splitCompletionTokens(usage.completionTokens, wire);
  if (split.estimated) {
    warnings.push({ type: "other", message: "per-choice completion tokens are estimated from text length (the server reports only a total)" });
  }
  const choices: Choice[] = wire.map((entry, position) => {
    const mapped = mapFinishReason(entry.choice.finish_reason, entry.choice.index);
    if (mapped.warning) warnings.push(mapped.warning);
    const choice: Choice = {
      index: entry.choice.index,
      text: entry.text,
      finishReason: mapped.finishReason,
      completionTokens: split.perChoice[position],
    };
    const stopReason = mapStopReason(entry.choice.stop_reason);
    if (stopReason !== undefined) choice.stopReason = stopReason;
    if (entry.logprobs) choice.logprobs = entry.logprobs;
    return choice;
  });
  if ((options.logprobs || (options.topLogprobs ?? 0) > 0) && choices.every((choice) => !choice.logprobs)) {
    warnings.push({ type: "unsupported-setting", setting: "logprobs", message: "logprobs were requested but the server returned none" });
  }
  const requested = options.n ?? 1;
  if (requested > 1 && choices.length !== requested && settings.flavor !== "ollama") {
    warnings.push({ type: "other", message: `${requested} choices requested, the server returned ${choices.length}` });
  }
  return {
    modelId: settings.model,
    choices,
    usage,
    timings: measureTimings({
      startedAt: context.startedAt,
      finishedAt: context.finishedAt,
      completionTokens: usage.completionTokens,
      choicesStarted: choices.length,
      server: response.timings,
    }),
    warnings,
    prompt: context.prepared.rendered,
  };
}
