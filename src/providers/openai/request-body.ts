import { Buffer } from "node:buffer";
import { InvalidArgumentError } from "../../errors/index.js";
import type { CallOptions } from "../../spec/call-options.js";
import type { ChatMessage } from "../../spec/messages.js";
import type { CallWarning } from "../../spec/results.js";
import type { ServerFlavor } from "./settings.js";

export type RequestBody = Record<string, unknown>;

export interface BodyInput {
  model: string;
  api: "chat" | "completions";
  flavor: ServerFlavor;
  options: CallOptions;
  stream: boolean;
  /** Chat: the messages to send. */
  messages?: ChatMessage[];
  /** Completions: the prompt text (the caller's raw prompt, or messages rendered by a prompt format). */
  prompt?: string;
  /** Stop strings of the prompt format used for rendering, merged with the caller's. */
  formatStops?: string[];
}

/** Names of the provider-option keys whose entries are copied verbatim into the body. */
export const providerOptionKeys = (flavor: ServerFlavor) => ["openai-compatible", flavor];

/** Fields the provider owns: letting providerOptions override them would break the response parsing. */
const reservedFields = new Set(["model", "messages", "prompt", "stream", "stream_options", "n"]);

/**
 * Map CallOptions to an OpenAI chat/completions body for one server flavor. Every option the flavor
 * cannot take becomes a warning: nothing is dropped silently.
 */
export function buildRequestBody(input: BodyInput): { body: RequestBody; warnings: CallWarning[] } {
  const { options, flavor, api } = input;
  validateNumbers(options);
  const warnings: CallWarning[] = [];
  const unsupported = (setting: string, why: string) =>
    warnings.push({ type: "unsupported-setting", setting, message: `${setting} ignored: ${why}` });

  const body: RequestBody = { model: input.model };
  if (api === "chat") body.messages = input.messages?.map(wireMessage);
  else body.prompt = input.prompt;

  if (options.maxTokens !== undefined) {
    // OpenAI deprecated max_tokens on chat (reasoning models reject it); every other server wants max_tokens.
    body[flavor === "openai" && api === "chat" ? "max_completion_tokens" : "max_tokens"] = options.maxTokens;
  }
  setIfDefined(body, "temperature", options.temperature);
  setIfDefined(body, "top_p", options.topP);
  setIfDefined(body, "seed", options.seed);
  setIfDefined(body, "presence_penalty", options.presencePenalty);
  setIfDefined(body, "frequency_penalty", options.frequencyPenalty);

  const stops = [...(options.stop ?? []), ...(input.formatStops ?? [])].filter((stop, index, all) => stop !== "" && all.indexOf(stop) === index);
  if (stops.length > 0) body.stop = stops;

  const n = options.n ?? 1;
  if (n > 1) {
    if (flavor === "ollama") unsupported("n", "Ollama's OpenAI-compatible API returns a single choice");
    else body.n = n;
  }

  addLogprobs(body, input, unsupported);
  addResponseFormat(body, input, unsupported);
  addSamplingExtras(body, options, flavor, unsupported);

  if (options.addBos !== undefined) unsupported("addBos", "the remote server decides whether to add BOS");
  if (options.promptFormat !== undefined && api === "chat") {
    unsupported("promptFormat", "with api \"chat\" the server applies its own template (use api \"completions\" to choose the format)");
  }

  for (const key of providerOptionKeys(flavor)) {
    for (const [field, value] of Object.entries(options.providerOptions?.[key] ?? {})) {
      if (reservedFields.has(field)) unsupported(`providerOptions.${key}.${field}`, "the provider sets this field itself");
      else body[field] = value;
    }
  }

  if (input.stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return { body, warnings };
}

function addLogprobs(body: RequestBody, input: BodyInput, unsupported: (setting: string, why: string) => void): void {
  const { options, api } = input;
  const wanted = wantsLogprobs(options);
  if (!wanted) return;
  if (api === "chat") {
    body.logprobs = true;
    if (options.topLogprobs !== undefined) body.top_logprobs = options.topLogprobs;
    return;
  }
  // The legacy completions API takes one integer: how many alternatives per position (the chosen
  // token's own logprob always comes with it). OpenAI caps it at 5.
  const alternatives = Math.max(1, options.topLogprobs ?? 1);
  if (input.flavor === "openai" && alternatives > 5) {
    unsupported("topLogprobs", `the completions API returns at most 5 alternatives; ${alternatives} requested, 5 sent`);
    body.logprobs = 5;
  } else body.logprobs = alternatives;
}

function addResponseFormat(body: RequestBody, input: BodyInput, unsupported: (setting: string, why: string) => void): void {
  const format = input.options.responseFormat;
  if (!format || format.type === "text") return;
  if (input.api === "chat") {
    body.response_format = format.schema
      ? { type: "json_schema", json_schema: { name: format.name ?? "response", schema: format.schema, strict: true } }
      : { type: "json_object" };
    return;
  }
  // The completions endpoint has no standard JSON mode; the servers that constrain it each use their own field.
  switch (input.flavor) {
    case "llama-server":
      body.json_schema = format.schema ?? {};
      return;
    case "vllm":
      body.response_format = format.schema
        ? { type: "json_schema", json_schema: { name: format.name ?? "response", schema: format.schema } }
        : { type: "json_object" };
      return;
    default:
      unsupported("responseFormat", `the ${input.flavor} completions API cannot constrain output to JSON; use api "chat"`);
  }
}

/** topK / minP / repeat penalty are not OpenAI fields; vLLM and llama-server take their own names for them. */
function addSamplingExtras(
  body: RequestBody,
  options: CallOptions,
  flavor: ServerFlavor,
  unsupported: (setting: string, why: string) => void,
): void {
  const extras: Array<[keyof CallOptions, number | undefined]> = [
    ["topK", options.topK],
    ["minP", options.minP],
    ["repeatPenalty", options.repeatPenalty],
    ["repeatLastN", options.repeatLastN],
  ];
  const fieldNames: Record<ServerFlavor, Partial<Record<keyof CallOptions, string>>> = {
    vllm: { topK: "top_k", minP: "min_p", repeatPenalty: "repetition_penalty" },
    "llama-server": { topK: "top_k", minP: "min_p", repeatPenalty: "repeat_penalty", repeatLastN: "repeat_last_n" },
    // Ollama's /v1 endpoints decode into a fixed struct without these fields (ollama/ollama#11325):
    // they would be dropped on the floor, so we say so.
    ollama: {},
    openai: {},
  };
  for (const [setting, value] of extras) {
    if (value === undefined) continue;
    const field = fieldNames[flavor][setting];
    if (field) body[field] = value;
    else unsupported(setting, `the ${flavor} OpenAI-compatible API has no such parameter`);
  }
}

/**
 * A message as OpenAI's chat API takes it: text as a string, or (with images) the content parts in
 * order. An image goes as the data: URI the client sent; a fetched http(s) image (or one taken from the
 * store by hash) as a data: URI of the bytes that were checked and logged, so the upstream sees exactly
 * the logged image.
 */
function wireMessage(message: ChatMessage): { role: string; content: unknown } {
  if (!message.parts) return { role: message.role, content: message.content };
  return {
    role: message.role,
    content: message.parts.map((part) =>
      part.type === "text"
        ? { type: "text", text: part.text }
        : {
            type: "image_url",
            image_url: {
              url: part.image.url !== undefined && /^data:/i.test(part.image.url) ? part.image.url : `data:${part.image.mimeType};base64,${Buffer.from(part.image.bytes).toString("base64")}`,
              ...(part.image.detail ? { detail: part.image.detail } : {}),
            },
          },
    ),
  };
}

function setIfDefined(body: RequestBody, field: string, value: unknown): void {
  if (value !== undefined) body[field] = value;
}

/** Reject values no server would accept, naming the option, before a request is sent. */
function validateNumbers(options: CallOptions): void {
  const check = (name: keyof CallOptions, valid: (value: number) => boolean, rule: string) => {
    const value = options[name];
    if (value === undefined) return;
    if (typeof value !== "number" || !Number.isFinite(value) || !valid(value)) {
      throw new InvalidArgumentError(name, `${name} must be ${rule} (got ${JSON.stringify(value)})`);
    }
  };
  check("maxTokens", (value) => Number.isInteger(value) && value >= 1, "an integer ≥ 1");
  check("n", (value) => Number.isInteger(value) && value >= 1 && value <= 128, "an integer from 1 to 128");
  check("temperature", (value) => value >= 0, "≥ 0");
  check("topP", (value) => value >= 0 && value <= 1, "between 0 and 1");
  check("topK", (value) => Number.isInteger(value) && value >= 0, "an integer ≥ 0");
  check("minP", (value) => value >= 0 && value <= 1, "between 0 and 1");
  check("topLogprobs", (value) => Number.isInteger(value) && value >= 0 && value <= 20, "an integer from 0 to 20");
  check("seed", (value) => Number.isInteger(value), "an integer");
  if (options.stop !== undefined && (!Array.isArray(options.stop) || options.stop.some((stop) => typeof stop !== "string"))) {
    throw new InvalidArgumentError("stop", "stop must be an array of strings");
  }
}

/** Same rule as the local provider: asking for alternatives (even 0 of them) asks for logprobs. */
export function wantsLogprobs(options: CallOptions): boolean {
  return options.logprobs === true || options.topLogprobs !== undefined;
}
