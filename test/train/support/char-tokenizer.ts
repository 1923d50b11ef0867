import type { TrainingTokenizer } from "../../../src/train/tokenizer.js";

/**
 * A tokenizer whose ids can be checked by hand: each character is one token (id 100 + char code),
 * special tokens are ids 1..n, and optional two-character merges become one token (id 50 + index) so
 * that a merge across a segment boundary can be provoked.
 */
export function charTokenizer(options: { specials?: string[]; merges?: string[]; addsBos?: boolean } = {}): TrainingTokenizer & { decode(ids: number[]): string } {
  const specials = options.specials ?? ["<s>", "</s>"];
  const merges = options.merges ?? [];
  const encodeText = (text: string) => {
    const ids: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const merge = merges.indexOf(text.slice(i, i + 2));
      if (merge >= 0 && i + 1 < text.length) {
        ids.push(50 + merge);
        i++;
      } else ids.push(100 + text.charCodeAt(i));
    }
    return ids;
  };
  const pattern = new RegExp(`(${specials.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`);
  return {
    vocabSize: 100 + 0x3000,
    bosId: 1,
    eosId: 2,
    bosToken: "<s>",
    eosToken: "</s>",
    addsBos: options.addsBos ?? true,
    tokenizeText: (text) => encodeText(text),
    tokenizeSpecial: (text) => (specials.includes(text) ? [1 + specials.indexOf(text)] : encodeText(text)),
    tokenizeWhole: (text) => text.split(pattern).flatMap((piece) => (specials.includes(piece) ? [1 + specials.indexOf(piece)] : encodeText(piece))),
    decode: (ids) => ids.map((id) => (id >= 100 ? String.fromCharCode(id - 100) : id >= 50 ? merges[id - 50] : specials[id - 1])).join(""),
    dispose: async () => {},
  };
}
