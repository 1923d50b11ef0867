import { IndexedRougePool } from "../rouge/indexed-pool.js";
import { rougeTokenize } from "../rouge/tokenize.js";
import { fixCopiedCodeHeaders, htmlToMarkdown, looksLikeHtml } from "./html-to-markdown.js";
import type { Conversation, Turn } from "./records.js";

export type TokenCounter = (text: string) => number | Promise<number>;

export interface CleanOptions {
  htmlToMarkdown?: boolean;
  /** Keep conversations whose letters are mostly in this script ("latin", "han", "cyrillic", …). */
  script?: string;
  /** Share of letters that must be in `script` (default 0.8). */
  scriptShare?: number;
  /** Split conversations longer than this many tokens (per `countTokens`) into several. */
  maxTokens?: number;
  countTokens?: TokenCounter;
  removeExactDuplicates?: boolean;
  /** Drop a conversation whose ROUGE-L F1 with an earlier kept one is above this (e.g. 0.9); 0 = off. */
  nearDuplicateThreshold?: number;
}

export type CleanDropReason = "empty" | "wrong-role" | "not-alternating" | "empty-message" | "language" | "duplicate" | "near-duplicate";

export interface CleanReport {
  input: number;
  output: number;
  converted: number;
  split: number;
  dropped: Record<CleanDropReason, number>;
}

/**
 * FastChat-style cleaning of conversation data: HTML to Markdown, roles normalised (a leading
 * assistant turn is dropped, a trailing user turn is dropped, the rest must alternate user/assistant
 * or the conversation is dropped), empty messages and conversations dropped, an optional script
 * (language) filter, splitting by a token budget at turn-pair boundaries, exact and near-duplicate
 * removal.
 */
export async function cleanConversations(records: Conversation[], options: CleanOptions = {}): Promise<{ records: Conversation[]; report: CleanReport }> {
  const dropped: Record<CleanDropReason, number> = { empty: 0, "wrong-role": 0, "not-alternating": 0, "empty-message": 0, language: 0, duplicate: 0, "near-duplicate": 0 };
  let converted = 0;
  let split = 0;
  const out: Conversation[] = [];
  const seen = new Set<string>();
  const nearPool = options.nearDuplicateThreshold ? new IndexedRougePool({ threshold: options.nearDuplicateThreshold }) : undefined;

  for (const [index, original] of records.entries()) {
    let turns = original.turns.map((turn) => {
      if (options.htmlToMarkdown !== false && turn.role === "assistant" && looksLikeHtml(turn.content)) {
        converted++;
        return { ...turn, content: fixCopiedCodeHeaders(htmlToMarkdown(turn.content)) };
      }
      return { ...turn, content: fixCopiedCodeHeaders(turn.content) };
    });
    if (turns.length > 0 && turns[0].role !== "user") turns = turns.slice(1);
    if (turns.length > 0 && turns.at(-1)!.role !== "assistant") turns = turns.slice(0, -1);
    if (turns.length === 0) {
      dropped[original.turns.length === 0 ? "empty" : "wrong-role"]++;
      continue;
    }
    if (!turns.every((turn, i) => turn.role === (i % 2 === 0 ? "user" : "assistant"))) {
      dropped["not-alternating"]++;
      continue;
    }
    if (turns.some((turn) => turn.content.trim() === "")) {
      dropped["empty-message"]++;
      continue;
    }
    if (options.script && scriptShare(turns, options.script) < (options.scriptShare ?? 0.8)) {
      dropped.language++;
      continue;
    }
    const conversation: Conversation = { ...original, id: original.id ?? String(index), turns };
    const pieces = options.maxTokens && options.countTokens ? await splitByTokens(conversation, options.maxTokens, options.countTokens) : [conversation];
    if (pieces.length > 1) split += pieces.length - 1;
    for (const piece of pieces) {
      if (options.removeExactDuplicates !== false) {
        const key = JSON.stringify([piece.system ?? "", piece.turns]);
        if (seen.has(key)) {
          dropped.duplicate++;
          continue;
        }
        seen.add(key);
      }
      if (nearPool) {
        const tokens = rougeTokenize(piece.turns.map((t) => t.content).join(" ")).slice(0, 256);
        if (tokens.length > 0 && nearPool.findAbove(tokens, options.nearDuplicateThreshold!)) {
          dropped["near-duplicate"]++;
          continue;
        }
        nearPool.add(tokens);
      }
      out.push(piece);
    }
  }
  return { records: out, report: { input: records.length, output: out.length, converted, split, dropped } };
}

/**
 * FastChat's split_long_conversation: keep whole user/assistant pairs, start a new piece when the
 * next pair would exceed the budget; pieces get ids "<id>_part<k>". A single pair over the budget stays
 * whole (truncation is the trainer's job, not the cleaner's).
 */
export async function splitByTokens(conversation: Conversation, maxTokens: number, countTokens: TokenCounter): Promise<Conversation[]> {
  const pieces: Turn[][] = [];
  let current: Turn[] = [];
  let used = conversation.system ? await countTokens(conversation.system) : 0;
  const base = used;
  for (let i = 0; i + 1 < conversation.turns.length; i += 2) {
    const pair = conversation.turns.slice(i, i + 2);
    const cost = (await countTokens(pair[0].content)) + (await countTokens(pair[1].content));
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
