// The playground's browser modules are plain JavaScript (no build step); tests load them through a
// runtime URL so the typechecker does not need declarations for them, and type what they use here.
import { pathToFileURL } from "node:url";
import { repoRoot } from "../../support/shared-data.js";

export interface MarkdownRendererModule {
  /** The renderer built on the libraries given (the page passes its /vendor/ copies, tests node_modules). */
  createMarkdownRenderer(libraries: { MarkdownIt: unknown; highlighter: unknown; katex: unknown; sanitize: (html: string) => string }): (markdown: string) => string;
}
export interface SseModule {
  createSseParser(): { push(text: string): string[] };
  readSseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string>;
}
type Message = { role: string; content: string };
export interface ConversationIoModule {
  toShareGpt(conversation: { id: string; model?: string | null; system_prompt?: string | null; messages: Message[] }): unknown;
  toOpenAiJsonl(conversation: { system_prompt?: string | null; messages: Message[] }): string;
  lastTurns(messages: Message[], turns: number): { messages: Message[]; dropped: number };
  fitTokenBudget(messages: Message[], max: number, count: (messages: Message[]) => Promise<number | null>): Promise<{ messages: Message[]; dropped: number; tokens: number | null }>;
}
export interface MergePromptModule {
  defaultMergePrompt: string;
  fillMergePrompt(template: string, question: string, answers: { model: string; text: string }[]): string;
}

export function loadWebModule<T>(name: string): Promise<T> {
  return import(pathToFileURL(`${repoRoot}/web/js/${name}`).href) as Promise<T>;
}
export interface SessionsApiModule {
  createSessionSaver(kind: string, onCreated: (id: string) => void): {
    current(): string | null;
    reset(sessionId: string | null): void;
    save(state: () => object): Promise<void>;
  };
  storedNumbers(record: Record<string, unknown> | null | undefined): Record<string, number> | null;
}
