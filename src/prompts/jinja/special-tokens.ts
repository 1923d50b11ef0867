/** A stretch of template-emitted text cut at the special-token strings it contains. */
export interface ScaffoldPiece {
  text: string;
  special: boolean;
}

/**
 * Splits text that the template itself emitted at every occurrence of a known special-token string.
 * Where two tokens could match at the same place the longer wins (a token over a shorter prefix of it).
 * Message content never goes through here, so a user typing "<|im_end|>" cannot inject a token.
 */
export function splitAtSpecialTokens(text: string, specialTokens: readonly string[]): ScaffoldPiece[] {
  const tokens = [...new Set(specialTokens.filter((token) => token !== ""))].sort((a, b) => b.length - a.length);
  if (tokens.length === 0 || text === "") return text === "" ? [] : [{ text, special: false }];
  const pattern = new RegExp(tokens.map(escapeRegExp).join("|"), "g");
  const pieces: ScaffoldPiece[] = [];
  let cursor = 0;
  for (const match of text.matchAll(pattern)) {
    const start = match.index ?? 0;
    if (start > cursor) pieces.push({ text: text.slice(cursor, start), special: false });
    pieces.push({ text: match[0], special: true });
    cursor = start + match[0].length;
  }
  if (cursor < text.length) pieces.push({ text: text.slice(cursor), special: false });
  return pieces;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
