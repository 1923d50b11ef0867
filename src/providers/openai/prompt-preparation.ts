import { InvalidArgumentError, PromptFormatError, UnsupportedFeatureError } from "../../errors/index.js";
import { chatMessagesSchema, type PromptFormat } from "../../prompts/index.js";
import type { CallOptions } from "../../spec/call-options.js";
import type { ChatMessage } from "../../spec/messages.js";
import type { RenderedPrompt } from "../../spec/prompt.js";
import type { ResolvedSettings } from "./settings.js";

export interface PreparedPrompt {
  /** api "chat": the messages to send. */
  messages?: ChatMessage[];
  /** api "completions": the text to send. */
  prompt?: string;
  formatStops: string[];
  rendered: RenderedPrompt;
}

/** Looks a registry format up by name; injected so this module does not pick the registry itself. */
export type PromptFormatLookup = (name: string) => PromptFormat;

/**
 * Decide what goes on the wire for this call: messages for the chat API (the server applies its own
 * template, which we report as "remote"), or text for the completions API (a raw prompt as is, or
 * messages rendered by an explicitly chosen prompt format, never a guessed one).
 */
export function preparePrompt(settings: ResolvedSettings, options: CallOptions, lookupFormat: PromptFormatLookup): PreparedPrompt {
  const hasMessages = options.messages !== undefined;
  const hasPrompt = options.prompt !== undefined;
  if (hasMessages === hasPrompt) {
    throw new InvalidArgumentError("messages", "give exactly one of messages or prompt");
  }
  if (hasPrompt) {
    if (typeof options.prompt !== "string") throw new InvalidArgumentError("prompt", "prompt must be a string");
    if (settings.api === "chat") {
      throw new InvalidArgumentError("prompt", 'a raw prompt needs api "completions"; the chat API only takes messages');
    }
    return {
      prompt: options.prompt,
      formatStops: [],
      rendered: {
        text: options.prompt,
        format: { name: "raw", source: "raw", reason: "raw prompt sent as is" },
        formatStops: [],
      },
    };
  }

  const parsed = chatMessagesSchema.safeParse(options.messages);
  if (!parsed.success || parsed.data.length === 0) {
    const issue = parsed.success ? undefined : parsed.error.issues[0];
    const where = issue ? `messages${issue.path.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("")}` : "messages";
    throw new InvalidArgumentError(where, issue ? `${where}: ${issue.message}` : "messages must not be empty");
  }
  // The schema keeps role and content; a message's images ride along untouched.
  const messages: ChatMessage[] = parsed.data.map((message, index) => {
    const parts = options.messages?.[index]?.parts;
    return parts ? { ...message, parts } : message;
  });

  if (settings.api === "chat") {
    return {
      messages,
      formatStops: [],
      rendered: {
        text: "",
        format: remoteFormatChoice(settings),
        formatStops: [],
        messages,
      },
    };
  }

  if (messages.some((message) => message.parts?.some((part) => part.type === "image"))) {
    throw new UnsupportedFeatureError(`images need api "chat" (the ${settings.flavor} server at ${settings.baseURL} is configured with api "completions", which takes text only)`);
  }
  const chosen = options.promptFormat ?? settings.promptFormat;
  if (chosen === undefined) {
    throw new PromptFormatError(
      `api "completions" with messages needs an explicit promptFormat (per call or in the model settings): ` +
        `the server's own template is only applied by api "chat"`,
    );
  }
  const format = typeof chosen === "string" ? lookupFormat(chosen) : chosen;
  const renderedFormat = format.render(messages, { addGenerationPrompt: true });
  let text = renderedFormat.text;
  let reason = options.promptFormat !== undefined ? "named in the call's promptFormat" : "named in the model settings' promptFormat";
  // OpenAI-compatible servers add BOS themselves when they tokenize a completions prompt; a BOS
  // already rendered into the text would become a second one.
  const firstSegment = renderedFormat.segments[0];
  if (renderedFormat.startsWithBos && firstSegment?.special && text.startsWith(firstSegment.text)) {
    text = text.slice(firstSegment.text.length);
    reason += `; leading BOS "${firstSegment.text}" left for the server to add`;
  }
  return {
    prompt: text,
    formatStops: renderedFormat.stops,
    rendered: {
      text,
      format: { name: format.name, source: "explicit", reason },
      formatStops: renderedFormat.stops,
      messages,
    },
  };
}

export function remoteFormatChoice(settings: ResolvedSettings): RenderedPrompt["format"] {
  return {
    name: "remote",
    source: "remote",
    reason: `the ${settings.flavor} server at ${settings.baseURL} applies the model's own chat template`,
  };
}
