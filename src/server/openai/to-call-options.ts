// OpenAI request bodies → our CallOptions: the only place the HTTP field names meet the spec's.
import { InvalidArgumentError, UnsupportedFeatureError } from "../../errors/index.js";
import type { CallOptions, ChatImage, ChatMessage, ChatMessagePart, ResponseFormat } from "../../spec/index.js";
import { MEDIA_MARKER } from "../../spec/messages.js";
import type { ChatCompletionRequest, CompletionRequest, ImageUrlPart } from "./request-schemas.js";

/** The checked image of an `image_url` part (see server/images/chat-images.ts). */
export type ImageOfPart = (part: ImageUrlPart) => ChatImage;

const noImages: ImageOfPart = () => {
  throw new UnsupportedFeatureError("images are not supported on this endpoint");
};

type SharedFields = Pick<
  ChatCompletionRequest,
  | "temperature"
  | "top_p"
  | "top_k"
  | "min_p"
  | "repeat_penalty"
  | "frequency_penalty"
  | "presence_penalty"
  | "seed"
  | "stop"
  | "n"
  | "response_format"
  | "prompt_format"
>;

function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as T;
}

function toResponseFormat(format: ChatCompletionRequest["response_format"]): ResponseFormat | undefined {
  if (!format) return undefined;
  if (format.type === "text") return { type: "text" };
  if (format.type === "json_object") return { type: "json" };
  return { type: "json", name: format.json_schema.name, ...(format.json_schema.schema ? { schema: format.json_schema.schema } : {}) };
}

function sharedOptions(body: SharedFields): CallOptions {
  return defined<CallOptions>({
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    topK: body.top_k ?? undefined,
    minP: body.min_p ?? undefined,
    repeatPenalty: body.repeat_penalty ?? undefined,
    frequencyPenalty: body.frequency_penalty ?? undefined,
    presencePenalty: body.presence_penalty ?? undefined,
    seed: body.seed ?? undefined,
    stop: body.stop == null ? undefined : typeof body.stop === "string" ? [body.stop] : body.stop,
    n: body.n ?? undefined,
    responseFormat: toResponseFormat(body.response_format),
    promptFormat: body.prompt_format,
  });
}

function messageText(message: ChatCompletionRequest["messages"][number], index: number): string {
  if (message.content === null) {
    if (message.role === "assistant") return "";
    throw new InvalidArgumentError(`messages[${index}].content`, `'messages[${index}].content' must be a string for role ${message.role}`);
  }
  if (typeof message.content === "string") return message.content;
  // Each image's place in the text is llama.cpp's media marker, so a rendered prompt shows where its tokens go.
  return message.content.map((part) => (part.type === "text" ? part.text : MEDIA_MARKER)).join("");
}

/** The message's text and images in order, when it has images. */
function messageParts(message: ChatCompletionRequest["messages"][number], imageOf: ImageOfPart): ChatMessagePart[] | undefined {
  if (!Array.isArray(message.content) || !message.content.some((part) => part.type === "image_url")) return undefined;
  return message.content.map((part) => (part.type === "text" ? { type: "text", text: part.text } : { type: "image", image: imageOf(part) }));
}

export function chatRequestToCallOptions(body: ChatCompletionRequest, imageOf: ImageOfPart = noImages): CallOptions {
  const messages: ChatMessage[] = body.messages.map((message, index) => {
    const parts = messageParts(message, imageOf);
    return {
      // "developer" is OpenAI's newer name for the system role.
      role: message.role === "developer" ? "system" : message.role,
      content: messageText(message, index),
      ...(parts ? { parts } : {}),
    };
  });
  const topLogprobs = body.top_logprobs ?? undefined;
  if (topLogprobs !== undefined && topLogprobs > 0 && !body.logprobs) {
    throw new InvalidArgumentError("top_logprobs", "'top_logprobs' requires 'logprobs' to be true");
  }
  return {
    ...sharedOptions(body),
    messages,
    ...defined({
      maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
      logprobs: body.logprobs ?? undefined,
      topLogprobs: body.logprobs ? topLogprobs : undefined,
    }),
  };
}

export function completionRequestToCallOptions(body: CompletionRequest): CallOptions {
  if (body.echo) throw new UnsupportedFeatureError("'echo' is not supported by this server");
  if (body.suffix) throw new UnsupportedFeatureError("'suffix' (fill-in-the-middle) is not supported by this server");
  if (body.best_of != null && body.best_of !== (body.n ?? 1)) {
    throw new InvalidArgumentError("best_of", "'best_of' other than n is not supported by this server");
  }
  const prompt = typeof body.prompt === "string" ? body.prompt : body.prompt[0];
  const logprobs = body.logprobs ?? undefined;
  return {
    ...sharedOptions(body),
    prompt,
    ...defined({
      // OpenAI's completions API defaults to 16 tokens when max_tokens is absent.
      maxTokens: body.max_tokens ?? 16,
      logprobs: logprobs === undefined ? undefined : true,
      topLogprobs: logprobs,
    }),
  };
}
