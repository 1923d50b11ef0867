/**
 * Google rouge_score's default tokenizer (tokenize.tokenize with no stemmer): lowercase, every run of
 * characters outside [a-z0-9] becomes a space, split on whitespace, keep only [a-z0-9]+ tokens.
 * Non-ASCII letters therefore vanish ("café" → ["caf"]), exactly as in the Python package.
 */
export function rougeTokenize(text: string): string[] {
  // toLowerCase uses Unicode's default full case mapping, like Python 3's str.lower(): the few
  // characters that lowercase to ASCII (e.g. KELVIN SIGN → "k") behave identically.
  return text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}
