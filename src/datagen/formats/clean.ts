import { IndexedRougePool } from "../rouge/indexed-pool.js";
import { rougeTokenize } from "../rouge/tokenize.js";
import { fastChatPostProcess, looksLikeHtml, MarkdownifyConverter } from "./html-to-markdown.js";
import type { Conversation, Turn } from "./records.js";

export type TokenCounter = (text: string) => number | Promise<number>;

/** FastChat's clean_sharegpt.py: a conversation with one of these (any case, any message) is dropped. */
export const fastChatBlockedWords = ["openai", "chatgpt"];
/** FastChat's split_long_conversation.py counts each message as its tokens + 6 (role name and separators). */
export const fastChatMessageOverhead = 6;

export type DedupMode = "fastchat" | "exact" | "none";
export const dedupModes: DedupMode[] = ["fastchat", "exact", "none"];

export interface CleanOptions {
  htmlToMarkdown?: boolean;
  /** Drop conversations with any of these words, case-insensitively (default FastChat's; [] = off). */
  blockedWords?: string[];
  /** Keep conversations whose letters are mostly in this script ("latin", "han", "cyrillic", …). */
  script?: string;
  /** Share of letters that must be in `script` (default 0.8). */
  scriptShare?: number;
  /** Split conversations longer than this many tokens (per `countTokens`) into several. */
  maxTokens?: number;
  countTokens?: TokenCounter;
  /** Tokens added per message when splitting (default FastChat's 6). */
  messageOverhead?: number;
  /**
   * "fastchat" (default): drop a repeated id, and a conversation whose second message and message
   * count equal a kept one's (FastChat's key); "exact": drop only identical conversations; "none".
   */
  dedup?: DedupMode;
  /** Drop a conversation whose ROUGE-L F1 with an earlier kept one is above this (e.g. 0.9); 0 = off. */
  nearDuplicateThreshold?: number;
}

export type CleanDropReason = "empty" | "wrong-role" | "not-alternating" | "blocked-words" | "empty-message" | "language" | "duplicate-id" | "duplicate" | "near-duplicate";

export interface CleanReport {
  input: number;
  output: number;
  converted: number;
  split: number;
  dropped: Record<CleanDropReason, number>;
}

/**
 * FastChat's clean_sharegpt.py, then its split_long_conversation.py, on the common conversation
 * shape. Per conversation, in FastChat's order: a leading non-user turn and a trailing user turn are
 * dropped; then message by message, a turn out of user/assistant order drops the conversation
 * ("not-alternating"), as does a blocked word ("blocked-words", checked on the raw text); every message
 * is cleaned (assistant HTML → Markdown, FastChat's noise rules); then a repeated id or FastChat's
 * duplicate key drops it. Extensions: empty messages, a script (language) filter and near-duplicates
 * are dropped too. Kept conversations longer than the token budget are split at turn pairs.
 */
export async function cleanConversations(records: Conversation[], options: CleanOptions = {}): Promise<{ records: Conversation[]; report: CleanReport }> {
  const dropped: Record<CleanDropReason, number> = { empty: 0, "wrong-role": 0, "not-alternating": 0, "blocked-words": 0, "empty-message": 0, language: 0, "duplicate-id": 0, duplicate: 0, "near-duplicate": 0 };
  let converted = 0;
  let split = 0;
  const out: Conversation[] = [];
  const seenIds = new Set<string>();
  const seenKeys = new Set<string>();
  const dedup = options.dedup ?? "fastchat";
  const blockedWords = (options.blockedWords ?? fastChatBlockedWords).map((word) => word.toLowerCase()).filter(Boolean);
  const converter = options.htmlToMarkdown !== false ? new MarkdownifyConverter() : undefined;
  const nearPool = options.nearDuplicateThreshold ? new IndexedRougePool({ threshold: options.nearDuplicateThreshold }) : undefined;

  for (const [index, original] of records.entries()) {
    let turns = original.turns;
    if (turns.length > 0 && turns[0].role !== "user") turns = turns.slice(1);
    if (turns.length > 0 && turns.at(-1)!.role === "user") turns = turns.slice(0, -1);
    if (turns.length === 0) {
      dropped[original.turns.length === 0 ? "empty" : "wrong-role"]++;
      continue;
    }
    const rejection = orderOrBlockedWord(turns, blockedWords);
    if (rejection) {
      dropped[rejection]++;
      continue;
    }
    turns = turns.map((turn) => {
      if (converter && turn.role === "assistant" && looksLikeHtml(turn.content)) {
        converted++;
        return { ...turn, content: converter.convert(turn.content) };
      }
      return { ...turn, content: fastChatPostProcess(turn.content) };
    });
    if (turns.some((turn) => turn.content.trim() === "")) {
      dropped["empty-message"]++;
      continue;
    }
    if (options.script && scriptShare(turns, options.script) < (options.scriptShare ?? 0.8)) {
      dropped.language++;
      continue;
    }
    const conversation: Conversation = { ...original, id: original.id ?? String(index), turns };
    if (dedup !== "none") {
      if (dedup === "fastchat" && original.id !== undefined && seenIds.has(original.id)) {
        dropped["duplicate-id"]++;
        continue;
      }
      const key = dedup === "fastchat" ? JSON.stringify([turns[1]?.content ?? "", turns.length]) : JSON.stringify([conversation.system ?? "", turns]);
      if (seenKeys.has(key)) {
        dropped.duplicate++;
        continue;
      }
      seenKeys.add(key);
      if (original.id !== undefined) seenIds.add(original.id);
    }
    if (nearPool) {
      const tokens = rougeTokenize(turns.map((t) => t.content).join(" ")).slice(0, 256);
      if (tokens.length > 0 && nearPool.findAbove(tokens, options.nearDuplicateThreshold!)) {
        dropped["near-duplicate"]++;
        continue;
      }
      nearPool.add(tokens);
    }
    const pieces = options.maxTokens && options.countTokens ? await splitByTokens(conversation, options.maxTokens, options.countTokens, options.messageOverhead) : [conversation];
    split += pieces.length - 1;
    out.push(...pieces);
  }
  return { records: out, report: { input: records.length, output: out.length, converted, split, dropped } };
}

/** FastChat checks each message in turn: first its role (user, assistant, user…), then blocked words. */
function orderOrBlockedWord(turns: Turn[], blockedWords: string[]): CleanDropReason | undefined {
  for (const [i, turn] of turns.entries()) {
    if (turn.role !== (i % 2 === 0 ? "user" : "assistant")) return "not-alternating";
    const lower = turn.content.toLowerCase();
    if (blockedWords.some((word) => lower.includes(word))) return "blocked-words";
  }
  return undefined;
}

/**
 * FastChat's split_long_conversation: each message costs its tokens + `messageOverhead` (6); whole
 * user/assistant pairs are kept together, and a new piece starts when the next pair would exceed the
 * budget. Pieces get ids "<id>_part<k>". Unlike FastChat, a single pair over the budget stays whole
 * (truncation is the trainer's job) and the last piece is never dropped.
 */
export async function splitByTokens(conversation: Conversation, maxTokens: number, countTokens: TokenCounter, messageOverhead = fastChatMessageOverhead): Promise<Conversation[]> {
  const pieces: Turn[][] = [];
  let current: Turn[] = [];
  let used = conversation.system ? await countTokens(conversation.system) : 0;
  const base = used;
  for (let i = 0; i + 1 < conversation.turns.length; i += 2) {
    const pair = conversation.turns.slice(i, i + 2);
    const cost = (await countTokens(pair[0].content)) + (await countTokens(pair[1].content)) + 2 * messageOverhead;
    if (current.length > 0 && used + cost > maxTokens) {
      pieces.push(current);
      current = [];
      used = base;
    }
    current.push(...pair);
    used += cost;
  }
  if (current.length > 0) pieces.push(current);
  if (pieces.length <= 1) return [conversation];
  return pieces.map((turns, k) => ({ ...conversation, id: `${conversation.id}_part${k}`, turns }));
}

const scriptPatterns: Record<string, RegExp> = {
  latin: /\p{Script=Latin}/u,
  han: /\p{Script=Han}/u,
  cyrillic: /\p{Script=Cyrillic}/u,
  arabic: /\p{Script=Arabic}/u,
  hangul: /\p{Script=Hangul}/u,
  japanese: /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u,
  greek: /\p{Script=Greek}/u,
  devanagari: /\p{Script=Devanagari}/u,
};
export const supportedScripts = Object.keys(scriptPatterns);

/** Share of letters written in `script` (a script check, not a language model: "latin" covers English, French…). */
export function scriptShare(turns: Turn[], script: string): number {
  const pattern = scriptPatterns[script];
  if (!pattern) throw new RangeError(`unknown script "${script}" (known: ${supportedScripts.join(", ")})`);
  let letters = 0;
  let matching = 0;
  for (const turn of turns) {
    for (const character of turn.content) {
      if (!/\p{L}/u.test(character)) continue;
      letters++;
      if (pattern.test(character)) matching++;
    }
  }
  return letters === 0 ? 1 : matching / letters;
}
