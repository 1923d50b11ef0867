import type { RenderedPrompt } from "../spec/index.js";

/** "Show me the exact prompt": the text as sent (JSON-escaped so whitespace is visible) and the token ids. */
export function formatRenderedPrompt(prompt: RenderedPrompt): string {
  const lines = [
    `--- prompt format: ${prompt.format.name} (${prompt.format.source}: ${prompt.format.reason})`,
    `--- prompt text (${prompt.text.length} chars, JSON-escaped):`,
    JSON.stringify(prompt.text),
  ];
  if (prompt.tokens) lines.push(`--- prompt tokens (${prompt.tokens.length}):`, `[${prompt.tokens.join(", ")}]`);
  if (prompt.formatStops.length) lines.push(`--- format stop strings: ${JSON.stringify(prompt.formatStops)}`);
  if (prompt.window && prompt.window.droppedMessages > 0) {
    lines.push(`--- window (${prompt.window.strategy}): dropped ${prompt.window.droppedMessages} earlier message(s), kept ${prompt.window.keptMessages}`);
  }
  lines.push("---");
  return lines.join("\n") + "\n";
}
