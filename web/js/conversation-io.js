// @ts-check
// Conversation formats for export, and the window strategies the playground applies before a
// request (the server's chat endpoint takes the messages as given).

/** @typedef {import("../../src/spec/index.js").ChatMessage} ChatMessage */
/**
 * What an export needs of a conversation (the server's, with its system prompt): its active branch's
 * messages (with their ids once saved) and, once saved, that branch's last message and the count of all.
 * @typedef {{ id?: string, model?: string | null, system_prompt?: string | null, activeLeafId?: number | null, messageCount?: number, messages: readonly (ChatMessage & { id?: number })[] }} ExportedConversation
 */

/**
 * ShareGPT JSON: one record per conversation, `conversations: [{from: human|gpt|system, value}]`,
 * the shape FastChat and LLaMA-Factory read. A conversation with branches (regenerated answers,
 * edited turns) exports its active branch, `conversation.messages`, the one on screen; `branch`
 * says which: the id of its last message, and how many messages all branches hold.
 * @param {ExportedConversation} conversation
 */
export function toShareGpt(conversation) {
  const turns = [];
  if (conversation.system_prompt) turns.push({ from: "system", value: conversation.system_prompt });
  for (const message of conversation.messages) {
    if (message.role === "system") turns.push({ from: "system", value: message.content });
    else turns.push({ from: message.role === "user" ? "human" : "gpt", value: message.content });
  }
  const record = { id: conversation.id, model: conversation.model ?? undefined, conversations: turns };
  const branch = branchOf(conversation);
  return [branch ? { ...record, branch } : record];
}

/**
 * Which branch `conversation.messages` is: the active one, named by its last message's id, with the
 * count of messages in every branch (more than the export's own when other branches exist).
 * Undefined for a conversation that never had message ids (an unsaved one).
 * @param {ExportedConversation} conversation
 */
export function branchOf(conversation) {
  const leaf = conversation.activeLeafId ?? conversation.messages.at(-1)?.id;
  if (leaf === undefined || leaf === null) return undefined;
  return { selection: "active", leaf_message_id: leaf, messages: conversation.messages.length, messages_in_all_branches: conversation.messageCount ?? conversation.messages.length };
}

/**
 * OpenAI messages JSONL: one line `{"messages": [...]}` per conversation (fine-tuning format, so no
 * other keys): the active branch, like toShareGpt; the file name says which branch (chat.js).
 * @param {ExportedConversation} conversation
 */
export function toOpenAiJsonl(conversation) {
  const messages = [];
  if (conversation.system_prompt) messages.push({ role: "system", content: conversation.system_prompt });
  for (const message of conversation.messages) messages.push({ role: message.role, content: message.content });
  return `${JSON.stringify({ messages })}\n`;
}

/**
 * The system message (if any) stays; the rest is trimmed from the oldest end.
 * @template {ChatMessage} M
 * @param {readonly M[]} messages
 */
function split(messages) {
  const system = messages.filter((m) => m.role === "system");
  const rest = messages.filter((m) => m.role !== "system");
  return { system, rest };
}

/**
 * Keeps the last `turns` (at least 1) user turns, each with the answers that followed it.
 * @template {ChatMessage} M
 * @param {readonly M[]} messages
 * @param {number} turns
 * @returns {{ messages: M[], dropped: number }}
 */
export function lastTurns(messages, turns) {
  const { system, rest } = split(messages);
  let seen = 0;
  let start = rest.length;
  for (let i = rest.length - 1; i >= 0; i--) {
    if (rest[i].role === "user") {
      seen += 1;
      if (seen > turns) break;
      start = i;
    }
  }
  return { messages: [...system, ...rest.slice(start)], dropped: start };
}

/**
 * Drops the oldest turns until the rendered prompt fits `maxPromptTokens`, asking `countTokens`
 * (the server's dry run) for the exact count. At most one call per dropped turn, plus one.
 * @template {ChatMessage} M
 * @param {readonly M[]} messages
 * @param {number} maxPromptTokens
 * @param {(messages: M[]) => Promise<number | null>} countTokens
 * @returns {Promise<{ messages: M[], dropped: number, tokens: number | null }>}
 */
export async function fitTokenBudget(messages, maxPromptTokens, countTokens) {
  const { system, rest } = split(messages);
  const userStarts = rest.map((m, i) => (m.role === "user" ? i : -1)).filter((i) => i >= 0);
  for (let k = 0; k < userStarts.length; k++) {
    const candidate = [...system, ...rest.slice(userStarts[k])];
    const count = await countTokens(candidate);
    if (count === null || count <= maxPromptTokens) return { messages: candidate, dropped: userStarts[k], tokens: count };
  }
  const last = [...system, ...rest.slice(userStarts.at(-1) ?? 0)];
  return { messages: last, dropped: userStarts.at(-1) ?? 0, tokens: null };
}
