import type { ChatMessage } from "../../spec/messages.js";
import { parseConversation, wantsGenerationPrompt } from "../conversation.js";
import { SegmentBuilder } from "../segments.js";
import type { PromptFormat, RenderOptions, RenderedFormat } from "../types.js";
import { CHATML_END, CHATML_START } from "./tokens.js";

/**
 * ChatML: each message is <|im_start|>{role}\n{content}<|im_end|>\n, and generation opens
 * <|im_start|>assistant\n. No default system prompt is added (Qwen's own template adds one; use the
 * model's template for that). "<|im_start|>" is an extra stop for models that run past their <|im_end|>.
 */
export const chatmlFormat: PromptFormat = {
  name: "chatml",
  description: "ChatML: <|im_start|>role\\ncontent<|im_end|> (OpenAI; used by Qwen, OpenHermes, SmolLM2, ...)",
  reference: "OpenAI openai-python chatml.md (Chat Markup Language); Qwen/Qwen2 tokenizer_config.json chat_template",
  supportsSystem: true,
  stops: [CHATML_END, CHATML_START],
  render(messages: ChatMessage[], options: RenderOptions = {}): RenderedFormat {
    const conversation = parseConversation(messages, "chatml");
    const generationPrompt = wantsGenerationPrompt(conversation, options.addGenerationPrompt, "chatml");
    const out = new SegmentBuilder();
    messages.forEach((message, index) => {
      const attributes = { messageIndex: index, role: message.role };
      const trainable = message.role === "assistant";
      out.special(CHATML_START, attributes);
      out.text(`${message.role}\n`, attributes);
      out.text(message.content, { ...attributes, trainable });
      out.special(CHATML_END, { ...attributes, trainable });
      out.text("\n", attributes);
    });
    if (generationPrompt) out.special(CHATML_START, { role: "assistant" }).text("assistant\n", { role: "assistant" });
    return out.build([CHATML_END, CHATML_START], options.bosToken);
  },
};
