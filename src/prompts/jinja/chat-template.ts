import { Template } from "@huggingface/jinja";
import { PromptFormatError } from "../../errors/index.js";
import type { ChatMessage } from "../../spec/messages.js";
import { checkMessageShapes } from "../conversation.js";
import { DEFAULT_BOS, DEFAULT_EOS, WELL_KNOWN_END_OF_TURN_TOKENS, WELL_KNOWN_SPECIAL_TOKENS } from "../formats/tokens.js";
import { SegmentBuilder, uniqueNonEmpty } from "../segments.js";
import type { PromptFormat, RenderOptions, RenderedFormat } from "../types.js";
import { locateContent, type RenderedSpan } from "./content-spans.js";
import { splitAtSpecialTokens } from "./special-tokens.js";

/** The registry-style name of a model's own template (PromptFormatChoice.name uses it too). */
export const CHAT_TEMPLATE_FORMAT_NAME = "gguf-jinja";

export interface ChatTemplateFormatSettings {
  name?: string;
  description?: string;
  reference?: string;
  /** The model's BOS/EOS strings (GGUF tokenizer.ggml.bos/eos_token_id); "<s>"/"</s>" when unknown. */
  bosToken?: string;
  eosToken?: string;
  /** The vocabulary's special-token strings; a built-in list of well-known ones when unknown. */
  specialTokens?: string[];
  /** Stop strings; by default the EOS token plus the well-known end-of-turn tokens the template mentions. */
  stops?: string[];
}

/**
 * A PromptFormat backed by a model's `tokenizer.chat_template`, rendered with @huggingface/jinja
 * the way transformers' apply_chat_template calls it (messages, add_generation_prompt, bos_token,
 * eos_token; the library provides raise_exception, whose message we pass on in a PromptFormatError). The output is text; only special-token strings that the template
 * itself emitted become special segments, never any inside message content (see content-spans.ts).
 */
export function createChatTemplateFormat(source: string, settings: ChatTemplateFormatSettings = {}): PromptFormat {
  const name = settings.name ?? CHAT_TEMPLATE_FORMAT_NAME;
  if (typeof source !== "string" || source.trim() === "") {
    throw new PromptFormatError(`${name}: the chat template is empty`);
  }
  let template: Template;
  try {
    template = new Template(source);
  } catch (error) {
    throw new PromptFormatError(`${name}: the chat template does not parse: ${messageOf(error)}`, { cause: error });
  }

  const stopsFor = (eos: string) =>
    settings.stops ?? uniqueNonEmpty([eos, ...WELL_KNOWN_END_OF_TURN_TOKENS.filter((token) => source.includes(token))]);

  const renderText = (messages: ChatMessage[], options: RenderOptions, bos: string, eos: string): string =>
    template.render({
      messages: messages.map((message) => ({ role: message.role, content: message.content })),
      add_generation_prompt: options.addGenerationPrompt ?? true,
      bos_token: bos,
      eos_token: eos,
    });

  const format: PromptFormat = {
    name,
    description: settings.description ?? "the model's own chat template (tokenizer.chat_template), rendered with Jinja",
    reference: settings.reference ?? "GGUF metadata tokenizer.chat_template; transformers apply_chat_template semantics",
    supportsSystem: true,
    stops: stopsFor(settings.eosToken ?? DEFAULT_EOS),
    render(messages: ChatMessage[], options: RenderOptions = {}): RenderedFormat {
      checkMessageShapes(messages, name);
      const bos = options.bosToken ?? settings.bosToken ?? DEFAULT_BOS;
      const eos = options.eosToken ?? settings.eosToken ?? DEFAULT_EOS;
      let text: string;
      try {
        text = renderText(messages, options, bos, eos);
      } catch (error) {
        // raise_exception() and runtime failures both arrive as plain Errors; the message tells which.
        throw new PromptFormatError(`${name}: the chat template could not render this conversation: ${messageOf(error)}`, { cause: error });
      }
      const spans = locateContent(text, messages, (placeholders) => renderText(placeholders, options, bos, eos));
      const stops = stopsFor(eos);
      const specialTokens = uniqueNonEmpty([bos, eos, ...(options.specialTokens ?? settings.specialTokens ?? WELL_KNOWN_SPECIAL_TOKENS)]);
      return buildSegments(spans, messages, specialTokens, new Set(stops)).build(stops, bos);
    },
  };
  format.supportsSystem = acceptsSystemMessage(format);
  return format;
}

function buildSegments(
  spans: RenderedSpan[],
  messages: ChatMessage[],
  specialTokens: string[],
  endOfTurnTokens: Set<string>,
): SegmentBuilder {
  const out = new SegmentBuilder();
  let afterAssistantContent: number | undefined;
  for (const span of spans) {
    if (span.messageIndex !== undefined) {
      const role = messages[span.messageIndex].role;
      out.text(span.text, { messageIndex: span.messageIndex, role, trainable: role === "assistant" });
      afterAssistantContent = role === "assistant" ? span.messageIndex : undefined;
      continue;
    }
    const pieces = splitAtSpecialTokens(span.text, specialTokens);
    // The end-of-turn marker right after an assistant reply (only whitespace between) is trained too.
    let closesReply = afterAssistantContent !== undefined ? endOfTurnLength(pieces, endOfTurnTokens) : 0;
    for (const piece of pieces) {
      const attributes =
        closesReply > 0 && afterAssistantContent !== undefined
          ? { messageIndex: afterAssistantContent, role: "assistant" as const, trainable: true }
          : {};
      if (piece.special) out.special(piece.text, attributes);
      else out.text(piece.text, attributes);
      if (closesReply > 0) closesReply--;
    }
    afterAssistantContent = undefined;
  }
  return out;
}

/** How many leading pieces form "optional whitespace + end-of-turn token"; 0 when they do not. */
function endOfTurnLength(pieces: { text: string; special: boolean }[], endOfTurnTokens: Set<string>): number {
  for (let index = 0; index < pieces.length; index++) {
    const piece = pieces[index];
    if (piece.special) return endOfTurnTokens.has(piece.text) ? index + 1 : 0;
    if (piece.text.trim() !== "") return 0;
  }
  return 0;
}

/** Templates such as Mistral's raise on a system message; probe once so callers can know. */
function acceptsSystemMessage(format: PromptFormat): boolean {
  try {
    format.render(
      [
        { role: "system", content: "s" },
        { role: "user", content: "u" },
      ],
      { addGenerationPrompt: true },
    );
    return true;
  } catch {
    return false;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
