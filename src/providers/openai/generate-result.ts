import { UpstreamError } from "../../errors/index.js";
import type { CallOptions } from "../../spec/call-options.js";
import type { CallWarning, Choice, GenerateResult } from "../../spec/results.js";
import type { PreparedPrompt } from "./prompt-preparation.js";
import { wantsLogprobs } from "./request-body.js";
import { mapFinishReason, mapLogprobs, mapStopReason, mapUsage, measureTimings, splitCompletionTokens } from "./response-mapping.js";
import { chatResponseSchema, completionResponseSchema } from "./response-schemas.js";
import type { ResolvedSettings } from "./settings.js";

export interface GenerateContext {
  settings: ResolvedSettings;
  options: CallOptions;
  prepared: PreparedPrompt;
  warnings: CallWarning[];
  startedAt: number;
  finishedAt: number;
  endpoint: string;
}

/** Map a whole (non-streamed) chat or completions response to our GenerateResult. */
export function generateResultFrom(payload: unknown, context: GenerateContext): GenerateResult {
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
  if (wantsLogprobs(options)) {
    if (choices.every((choice) => !choice.logprobs)) {
      warnings.push({ type: "unsupported-setting", setting: "logprobs", message: "logprobs were requested but the server returned none" });
    }
    for (const choice of choices) choice.logprobs ??= [];
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
