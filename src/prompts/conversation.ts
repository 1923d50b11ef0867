import { z } from "zod";
import { PromptFormatError } from "../errors/index.js";
import type { ChatMessage } from "../spec/messages.js";

/** The edge schema for messages that arrive as JSON (files, HTTP bodies). */
export const chatMessageSchema = z.object({
  role: z.enum(["system", "user", "assistant"]),
  content: z.string(),
});
export const chatMessagesSchema = z.array(chatMessageSchema);

/** Every message is {role, content} with a known role and string content, and there is at least one. */
export function checkMessageShapes(messages: readonly ChatMessage[], formatName: string): void {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new PromptFormatError(`${formatName}: messages must be a non-empty array`);
  }
  messages.forEach((message, index) => {
    const parsed = chatMessageSchema.safeParse(message);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `.${issue.path.join(".")}` : "";
      throw new PromptFormatError(`${formatName}: messages[${index}]${where}: ${issue?.message ?? "invalid message"}`);
    }
  });
}

/** A user message and the assistant reply that follows it (absent for the turn awaiting a reply). */
export interface ConversationTurn {
  user: string;
  userIndex: number;
  assistant?: string;
  assistantIndex?: number;
}

export interface ParsedConversation {
  system?: { content: string; index: number };
  turns: ConversationTurn[];
  /** True when the last message is the user's, i.e. the assistant's turn may be opened. */
  awaitingReply: boolean;
}

/**
 * Checks the shape every registry format needs: an optional leading system message, then user and
 * assistant strictly alternating, starting with the user. (Meta's LLaMA-2 reference asserts the same.)
 * Messages are checked at run time too because JavaScript callers can pass anything.
 */
export function parseConversation(messages: readonly ChatMessage[], formatName: string): ParsedConversation {
  checkMessageShapes(messages, formatName);
  const conversation: ParsedConversation = { turns: [], awaitingReply: false };
  let start = 0;
  if (messages[0].role === "system") {
    conversation.system = { content: messages[0].content, index: 0 };
    start = 1;
  }
  for (let index = start; index < messages.length; index++) {
    const { role, content } = messages[index];
    const expected = (index - start) % 2 === 0 ? "user" : "assistant";
    if (role !== expected) {
      const why = role === "system" ? "a system message may only come first" : "roles must alternate user/assistant after an optional leading system message";
      throw new PromptFormatError(`${formatName}: messages[${index}] has role "${role}" where "${expected}" was expected (${why})`);
    }
    if (role === "user") conversation.turns.push({ user: content, userIndex: index });
    else {
      const turn = conversation.turns[conversation.turns.length - 1];
      turn.assistant = content;
      turn.assistantIndex = index;
    }
  }
  if (conversation.turns.length === 0) {
    throw new PromptFormatError(`${formatName}: the conversation needs at least one user message`);
  }
  conversation.awaitingReply = messages[messages.length - 1].role === "user";
  return conversation;
}

/** Whether to open the assistant's turn; asking for it after an assistant reply is a caller mistake. */
export function wantsGenerationPrompt(
  conversation: ParsedConversation,
  addGenerationPrompt: boolean | undefined,
  formatName: string,
): boolean {
  const wanted = addGenerationPrompt ?? true;
  if (wanted && !conversation.awaitingReply) {
    throw new PromptFormatError(
      `${formatName}: the last message is the assistant's, so no new assistant turn can be opened; ` +
        `end with a user message or render with addGenerationPrompt: false`,
    );
  }
  return wanted;
}
