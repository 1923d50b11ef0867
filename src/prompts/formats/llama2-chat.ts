import type { ChatMessage } from "../../spec/messages.js";
import { parseConversation, wantsGenerationPrompt } from "../conversation.js";
import { SegmentBuilder, stripPieces, type PendingPiece } from "../segments.js";
import type { PromptFormat, RenderOptions, RenderedFormat } from "../types.js";
import { DEFAULT_BOS, DEFAULT_EOS } from "./tokens.js";

const B_INST = "[INST]";
const E_INST = "[/INST]";
const B_SYS = "<<SYS>>\n";
const E_SYS = "\n<</SYS>>\n\n";

/**
 * Meta's `chat_completion` (llama/generation.py), reproduced exactly: every exchange is encoded as
 * `<s>` + f"{B_INST} {prompt.strip()} {E_INST} {answer.strip()} " + `</s>`, the last prompt as
 * `<s>` + f"{B_INST} {prompt.strip()} {E_INST}"; the system prompt is glued in front of the first user
 * message as B_SYS + system + E_SYS before that strip. BOS and EOS are real special segments.
 * The prompt always ends with "[/INST]", so addGenerationPrompt changes nothing here.
 * "[INST]" is an extra stop: a model that misses its EOS starts the next user turn with it.
 */
export const llama2ChatFormat: PromptFormat = {
  name: "llama-2-chat",
  description: "Llama 2 chat: <s>[INST] <<SYS>>\\n...\\n<</SYS>>\\n\\n... [/INST] ... </s>",
  reference: "Meta llama/generation.py chat_completion (facebookresearch/llama, llama-2 branch): B_INST/E_INST, B_SYS/E_SYS",
  supportsSystem: true,
  stops: [DEFAULT_EOS, B_INST],
  render(messages: ChatMessage[], options: RenderOptions = {}): RenderedFormat {
    const conversation = parseConversation(messages, "llama-2-chat");
    wantsGenerationPrompt(conversation, options.addGenerationPrompt, "llama-2-chat");
    const bos = options.bosToken ?? DEFAULT_BOS;
    const eos = options.eosToken ?? DEFAULT_EOS;
    const out = new SegmentBuilder();

    conversation.turns.forEach((turn, turnIndex) => {
      const user = { messageIndex: turn.userIndex, role: "user" as const };
      const prompt: PendingPiece[] = [];
      const system = conversation.system;
      if (turnIndex === 0 && system) {
        prompt.push({ text: B_SYS, ...user });
        prompt.push({ text: system.content, messageIndex: system.index, role: "system" });
        prompt.push({ text: E_SYS, ...user });
      }
      prompt.push({ text: turn.user, ...user });
      out.special(bos, user);
      out.text(`${B_INST} `, user);
      out.pieces(stripPieces(prompt));
      out.text(` ${E_INST}`, user);
      if (turn.assistant === undefined || turn.assistantIndex === undefined) return;
      const assistant = { messageIndex: turn.assistantIndex, role: "assistant" as const };
      out.text(" ", assistant);
      out.text(turn.assistant.trim(), { ...assistant, trainable: true });
      out.text(" ", { ...assistant, trainable: true });
      out.special(eos, { ...assistant, trainable: true });
    });
    return out.build([eos, B_INST], bos);
  },
};
