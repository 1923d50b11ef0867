import type { ChatMessage } from "../../spec/messages.js";

/** A stretch of rendered template output: message content (with its index) or template scaffolding. */
export interface RenderedSpan {
  text: string;
  messageIndex?: number;
}

// Private-use code points: never produced by a template, unaffected by trim/strip filters.
const PLACEHOLDER_OPEN = "\uE000";
const PLACEHOLDER_CLOSE = "\uE001";
const PLACEHOLDER_PATTERN = /\uE000(\d+)\uE001/;

/**
 * Finds where each message's content sits in the template's output, so that only the rest (what the
 * template itself wrote) is searched for special tokens.
 *
 * Main method: render again with every non-empty content replaced by a unique placeholder. The text
 * around the placeholders is exactly the template's own output; each placeholder is then matched
 * against the real output as the content itself or its trimmed form (templates often `| trim`). The
 * result is accepted only if it reproduces the real output byte for byte.
 *
 * Fallback, for templates whose output depends on the content's value (so placeholders change the
 * branch taken): search each message's content, in order, from where the previous one ended.
 */
export function locateContent(
  text: string,
  messages: readonly ChatMessage[],
  renderWith: (messages: ChatMessage[]) => string,
): RenderedSpan[] {
  let skeleton: string | undefined;
  try {
    skeleton = renderWith(
      messages.map((message, index) => ({
        role: message.role,
        // Empty content stays empty so `{% if message.content %}` branches the same way.
        content: message.content === "" ? "" : `${PLACEHOLDER_OPEN}${index}${PLACEHOLDER_CLOSE}`,
      })),
    );
  } catch {
    skeleton = undefined;
  }
  const aligned = skeleton === undefined ? undefined : alignSkeleton(skeleton, text, messages);
  return aligned ?? searchInOrder(text, messages);
}

function alignSkeleton(skeleton: string, text: string, messages: readonly ChatMessage[]): RenderedSpan[] | undefined {
  // split() with a capture group alternates literal, index, literal, index, ..., literal.
  const parts = skeleton.split(PLACEHOLDER_PATTERN);
  const spans: RenderedSpan[] = [];
  let position = 0;
  const takeLiteral = (literal: string): boolean => {
    if (!text.startsWith(literal, position)) return false;
    if (literal !== "") spans.push({ text: literal });
    position += literal.length;
    return true;
  };
  if (!takeLiteral(parts[0])) return undefined;
  for (let part = 1; part < parts.length; part += 2) {
    const messageIndex = Number(parts[part]);
    const following = parts[part + 1];
    const message = messages[messageIndex];
    if (!message) return undefined;
    const content = contentForms(message.content).find(
      (form) => text.startsWith(form, position) && text.startsWith(following, position + form.length),
    );
    if (content === undefined) return undefined;
    if (content !== "") spans.push({ text: content, messageIndex });
    position += content.length;
    if (!takeLiteral(following)) return undefined;
  }
  return position === text.length ? mergeScaffolding(spans) : undefined;
}

function searchInOrder(text: string, messages: readonly ChatMessage[]): RenderedSpan[] {
  const spans: RenderedSpan[] = [];
  let cursor = 0;
  messages.forEach((message, messageIndex) => {
    for (const form of contentForms(message.content)) {
      if (form === "") continue;
      const start = text.indexOf(form, cursor);
      if (start < 0) continue;
      if (start > cursor) spans.push({ text: text.slice(cursor, start) });
      spans.push({ text: form, messageIndex });
      cursor = start + form.length;
      break;
    }
  });
  if (cursor < text.length) spans.push({ text: text.slice(cursor) });
  return spans;
}

/** How templates commonly pass content through: as is, or trimmed on one or both sides. */
function contentForms(content: string): string[] {
  return [...new Set([content, content.trim(), content.trimStart(), content.trimEnd()])];
}

function mergeScaffolding(spans: RenderedSpan[]): RenderedSpan[] {
  const merged: RenderedSpan[] = [];
  for (const span of spans) {
    const last = merged.at(-1);
    if (last && last.messageIndex === undefined && span.messageIndex === undefined) last.text += span.text;
    else merged.push({ ...span });
  }
  return merged;
}
