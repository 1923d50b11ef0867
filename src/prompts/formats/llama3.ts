import type { ChatMessage } from "../../spec/messages.js";
import { parseConversation, wantsGenerationPrompt } from "../conversation.js";
import { SegmentBuilder } from "../segments.js";
import type { PromptFormat, RenderOptions, RenderedFormat } from "../types.js";
import { LLAMA3_BEGIN_OF_TEXT, LLAMA3_END_HEADER, LLAMA3_END_OF_TEXT, LLAMA3_END_OF_TURN, LLAMA3_START_HEADER } from "./tokens.js";

/**
 * Llama 3 instruct: <|begin_of_text|> once, then per message
 * <|start_header_id|>{role}<|end_header_id|>\n\n{content.strip()}<|eot_id|>, and generation opens the
 * assistant header. Content is stripped as Meta's ChatFormat.encode_message and the HF template's
 * `| trim` do. "<|start_header_id|>" is an extra stop for a model that runs past its <|eot_id|>.
 */
export const llama3Format: PromptFormat = {
  name: "llama-3",
  description: "Llama 3 instruct: <|start_header_id|>role<|end_header_id|>\\n\\ncontent<|eot_id|>",
  reference: "Meta Llama 3 model card (prompt format) and meta-llama/llama3 llama/tokenizer.py ChatFormat",
  supportsSystem: true,
  stops: [LLAMA3_END_OF_TURN, LLAMA3_END_OF_TEXT, LLAMA3_START_HEADER],
  render(messages: ChatMessage[], options: RenderOptions = {}): RenderedFormat {
    const conversation = parseConversation(messages, "llama-3");
    const generationPrompt = wantsGenerationPrompt(conversation, options.addGenerationPrompt, "llama-3");
    const bos = options.bosToken ?? LLAMA3_BEGIN_OF_TEXT;
    const out = new SegmentBuilder().special(bos);
    const header = (role: string, attributes: { messageIndex?: number; role: ChatMessage["role"] }) =>
      out.special(LLAMA3_START_HEADER, attributes).text(role, attributes).special(LLAMA3_END_HEADER, attributes).text("\n\n", attributes);
    messages.forEach((message, index) => {
      const attributes = { messageIndex: index, role: message.role };
      const trainable = message.role === "assistant";
      header(message.role, attributes);
      out.text(message.content.trim(), { ...attributes, trainable });
      out.special(LLAMA3_END_OF_TURN, { ...attributes, trainable });
    });
    if (generationPrompt) header("assistant", { role: "assistant" });
    // A model whose EOS differs (e.g. <|end_of_text|> vs <|eot_id|>) also stops on its own EOS.
    const eos = options.eosToken !== undefined ? [options.eosToken] : [];
    return out.build([LLAMA3_END_OF_TURN, LLAMA3_END_OF_TEXT, LLAMA3_START_HEADER, ...eos], bos);
  },
};
