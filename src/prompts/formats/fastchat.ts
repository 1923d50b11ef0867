import type { ChatMessage } from "../../spec/messages.js";
import { parseConversation, wantsGenerationPrompt } from "../conversation.js";
import { SegmentBuilder } from "../segments.js";
import type { PromptFormat, RenderOptions, RenderedFormat } from "../types.js";
import { DEFAULT_EOS } from "./tokens.js";

const FASTCHAT_CONVERSATION_PY = "FastChat fastchat/conversation.py (lm-sys/FastChat)";

/**
 * FastChat's "role: message" separator styles. ADD_COLON_SINGLE puts one separator after every
 * message; ADD_COLON_TWO alternates `sep` (after the user) and `sep2` (after the assistant), where
 * sep2 is "</s>", the EOS token: it is emitted as a real special segment (FastChat's HF tokenizer
 * turned that text into the EOS id), and it is the model's own token when the caller passes one.
 */
interface ColonStyleDefinition {
  name: string;
  description: string;
  reference: string;
  /** FastChat's `system` string; a caller's system message replaces it when `systemMessageReplaces`. */
  defaultSystem: string;
  systemMessageReplaces: boolean;
  userRole: string;
  assistantRole: string;
  /** Separator after the system text and after each user message. */
  separator: string;
  /** Separator after each assistant message; "eos" means the EOS token (ADD_COLON_TWO's sep2). */
  assistantSeparator: string | "eos";
  /** Extra stop strings on top of the EOS token. */
  stopStrings: string[];
}

function colonStyleFormat(definition: ColonStyleDefinition): PromptFormat {
  const stopsFor = (eos: string) => (definition.assistantSeparator === "eos" ? [eos, ...definition.stopStrings] : [...definition.stopStrings, eos]);
  return {
    name: definition.name,
    description: definition.description,
    reference: definition.reference,
    supportsSystem: definition.systemMessageReplaces,
    stops: stopsFor(DEFAULT_EOS),
    render(messages: ChatMessage[], options: RenderOptions = {}): RenderedFormat {
      const conversation = parseConversation(messages, definition.name);
      const generationPrompt = wantsGenerationPrompt(conversation, options.addGenerationPrompt, definition.name);
      const eos = options.eosToken ?? DEFAULT_EOS;
      const out = new SegmentBuilder();

      const system = conversation.system;
      if (system && definition.systemMessageReplaces) {
        out.text(system.content, { messageIndex: system.index, role: "system" });
      } else {
        out.text(definition.defaultSystem);
      }
      out.text(definition.separator);

      conversation.turns.forEach((turn, turnIndex) => {
        const user = { messageIndex: turn.userIndex, role: "user" as const };
        out.text(`${definition.userRole}: `, user);
        if (turnIndex === 0 && system && !definition.systemMessageReplaces) {
          // No system slot in this format: the system prompt leads the first user message.
          out.text(system.content, { messageIndex: system.index, role: "system" });
          out.text("\n\n", user);
        }
        out.text(turn.user, user);
        out.text(definition.separator, user);
        if (turn.assistant === undefined || turn.assistantIndex === undefined) return;
        const assistant = { messageIndex: turn.assistantIndex, role: "assistant" as const };
        out.text(`${definition.assistantRole}: `, assistant);
        out.text(turn.assistant, { ...assistant, trainable: true });
        if (definition.assistantSeparator === "eos") out.special(eos, { ...assistant, trainable: true });
        else out.text(definition.assistantSeparator, { ...assistant, trainable: true });
      });
      if (generationPrompt) out.text(`${definition.assistantRole}:`, { role: "assistant" });
      return out.build(stopsFor(eos), options.bosToken);
    },
  };
}

/**
 * Vicuna v0: FastChat's "one_shot" template without its built-in example exchange (FastChat's
 * "zero_shot" renders the same bytes). The example text changed between FastChat versions, so the
 * caller adds one as ordinary messages when wanted. Stop: "###" (FastChat's stop_str).
 */
export const vicunaV0Format = colonStyleFormat({
  name: "vicuna-v0",
  description: 'Vicuna v0: "### Human: ... ### Assistant:" lines after the curious-human system prompt',
  reference: `${FASTCHAT_CONVERSATION_PY}, template "one_shot" (SeparatorStyle.ADD_COLON_SINGLE, sep "\\n### ", stop_str "###")`,
  defaultSystem:
    "A chat between a curious human and an artificial intelligence assistant. " +
    "The assistant gives helpful, detailed, and polite answers to the human's questions.",
  systemMessageReplaces: true,
  userRole: "Human",
  assistantRole: "Assistant",
  separator: "\n### ",
  assistantSeparator: "\n### ",
  stopStrings: ["###"],
});

/**
 * Vicuna v1.1 (also v1.3, v1.5). FastChat stops on EOS only; "USER:" is added because a model that
 * misses its EOS goes on to write the user's next line, the classic "never stops" symptom.
 */
export const vicunaV11Format = colonStyleFormat({
  name: "vicuna-v1.1",
  description: 'Vicuna v1.1/v1.3/v1.5: "USER: ... ASSISTANT: ...</s>" after the curious-user system prompt',
  reference: `${FASTCHAT_CONVERSATION_PY}, template "vicuna_v1.1" (SeparatorStyle.ADD_COLON_TWO, sep " ", sep2 "</s>")`,
  defaultSystem:
    "A chat between a curious user and an artificial intelligence assistant. " +
    "The assistant gives helpful, detailed, and polite answers to the user's questions.",
  systemMessageReplaces: true,
  userRole: "USER",
  assistantRole: "ASSISTANT",
  separator: " ",
  assistantSeparator: "eos",
  stopStrings: ["USER:"],
});

/**
 * Koala. Its fixed header is not a system prompt, so a system message is placed in front of the first
 * user message (separated by a blank line) instead of replacing the header.
 */
export const koalaFormat = colonStyleFormat({
  name: "koala",
  description: 'Koala: "BEGINNING OF CONVERSATION: USER: ... GPT: ...</s>"; no system slot',
  reference: `${FASTCHAT_CONVERSATION_PY}, template "koala_v1" (SeparatorStyle.ADD_COLON_TWO, sep " ", sep2 "</s>")`,
  defaultSystem: "BEGINNING OF CONVERSATION:",
  systemMessageReplaces: false,
  userRole: "USER",
  assistantRole: "GPT",
  separator: " ",
  assistantSeparator: "eos",
  stopStrings: ["USER:"],
});
