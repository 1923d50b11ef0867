// convert_hf_to_gguf.py TextModel.does_token_look_special: added tokens that some models forget to
// mark special but that must be control tokens.
const SPECIAL_LOOKING = new Set(["<pad>", "<mask>", "<2mass>", "[@BOS@]"]);

export function tokenLooksSpecial(token: string): boolean {
  return (
    SPECIAL_LOOKING.has(token) ||
    (token.startsWith("<|") && token.endsWith("|>")) ||
    (token.startsWith("<｜") && token.endsWith("｜>")) ||
    (token.startsWith("<unused") && token.endsWith(">"))
  );
}

/** User-defined added tokens are stored pre-normalized: SentencePiece's '▁' becomes a space. */
export function preNormalizeUserDefined(token: string): string {
  return token.replaceAll("\u2581", " ");
}
