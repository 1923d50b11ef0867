import { writeFileSync } from "node:fs";

/** Writes OpenAI-messages JSONL: one user question and one assistant reply per row. */
export function writeChatRows(path: string, pairs: readonly (readonly [user: string, assistant: string])[]): string {
  const rows = pairs.map(([user, assistant]) => ({ messages: [{ role: "user", content: user }, { role: "assistant", content: assistant }] }));
  writeFileSync(path, rows.map((row) => JSON.stringify(row)).join("\n"));
  return path;
}
