// Encodes text the way Hugging Face `tokenizers` runs a tokenizer.json with a BPE model: added tokens,
// normalizer, pre-tokenizer, BPE merges, post-processor. It exists to compute the hash by which
// convert_hf_to_gguf.py names a BPE pre-tokenizer, so it covers the components that LLaMA-family
// tokenizer.json files use; an unknown component throws `UnsupportedComponentError`.
import type { AddedToken, BpeTokenizerJson } from "../bpe-vocabulary.js";
import { isJsonObject, type JsonObject } from "../hf-folder.js";
import { toJavaScriptRegExp } from "./oniguruma-regex.js";

export class UnsupportedComponentError extends Error {}

type PreTokenizer = (pieces: string[]) => string[];
type Normalizer = (text: string) => string;
type SplitBehavior = "Removed" | "Isolated" | "MergedWithPrevious" | "MergedWithNext" | "Contiguous";

/** GPT-2's pattern, which ByteLevel applies when use_regex is true. */
const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** GPT-2's reversible map from bytes to printable characters. */
function byteToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const map = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) map[b] = printable.includes(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + extra++);
  return map;
}

const BYTE_CHARS = byteToUnicode();
const utf8 = new TextEncoder();

/** Splits `text` by a matcher into pieces according to tokenizers' SplitDelimiterBehavior. */
function splitBy(text: string, matches: [number, number][], behavior: SplitBehavior, invert: boolean): string[] {
  const segments: { text: string; match: boolean }[] = [];
  let position = 0;
  for (const [start, end] of matches) {
    if (start > position) segments.push({ text: text.slice(position, start), match: invert });
    segments.push({ text: text.slice(start, end), match: !invert });
    position = end;
  }
  if (position < text.length) segments.push({ text: text.slice(position), match: invert });
  const pieces: string[] = [];
  switch (behavior) {
    case "Removed":
      for (const segment of segments) if (!segment.match) pieces.push(segment.text);
      break;
    case "Isolated":
      for (const segment of segments) pieces.push(segment.text);
      break;
    case "MergedWithPrevious":
      segments.forEach((segment, index) => {
        if (segment.match && index > 0 && pieces.length > 0 && !segments[index - 1].match) pieces[pieces.length - 1] += segment.text;
        else pieces.push(segment.text);
      });
      break;
    case "MergedWithNext": {
      let pending = "";
      for (const segment of segments) {
        if (segment.match) pending += segment.text;
        else {
          pieces.push(pending + segment.text);
          pending = "";
        }
      }
      if (pending !== "") pieces.push(pending);
      break;
    }
    case "Contiguous":
      segments.forEach((segment, index) => {
        if (segment.match && index > 0 && segments[index - 1].match) pieces[pieces.length - 1] += segment.text;
        else pieces.push(segment.text);
      });
      break;
  }
  return pieces.filter((piece) => piece !== "");
}

function regexMatches(text: string, regex: RegExp): [number, number][] {
  const matches: [number, number][] = [];
  regex.lastIndex = 0;
  for (const match of text.matchAll(regex)) {
    if (match[0] !== "") matches.push([match.index!, match.index! + match[0].length]);
  }
  return matches;
}

function charMatches(text: string, test: (char: string) => boolean): [number, number][] {
  const matches: [number, number][] = [];
  let index = 0;
  for (const char of text) {
    if (test(char)) matches.push([index, index + char.length]);
    index += char.length;
  }
  return matches;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

function patternRegExp(pattern: unknown): RegExp {
  if (isJsonObject(pattern) && typeof pattern.String === "string") return new RegExp(escapeRegExp(pattern.String), "gu");
  if (isJsonObject(pattern) && typeof pattern.Regex === "string") {
    try {
      return toJavaScriptRegExp(pattern.Regex);
    } catch (error) {
      throw new UnsupportedComponentError(`Split pattern ${JSON.stringify(pattern.Regex)}: ${(error as Error).message}`);
    }
  }
  throw new UnsupportedComponentError(`Split pattern ${JSON.stringify(pattern)}`);
}

const NUMERIC = /[\p{Nd}\p{Nl}\p{No}]/u;
const PUNCTUATION = /[\p{P}!-/:-@[-`{-~]/u;
const WHITESPACE_WORDS = toJavaScriptRegExp("\\w+|[^\\w\\s]+");
const NON_WHITESPACE = toJavaScriptRegExp("\\S+");

function byteLevelMap(piece: string): string {
  let out = "";
  for (const byte of utf8.encode(piece)) out += BYTE_CHARS[byte];
  return out;
}

function buildPreTokenizer(config: unknown): PreTokenizer {
  if (config === null || config === undefined) return (pieces) => pieces;
  if (!isJsonObject(config)) throw new UnsupportedComponentError(`pre_tokenizer ${JSON.stringify(config)}`);
  switch (config.type) {
    case "Sequence": {
      const steps = (Array.isArray(config.pretokenizers) ? config.pretokenizers : []).map(buildPreTokenizer);
      return (pieces) => steps.reduce((current, step) => step(current), pieces);
    }
    case "Split": {
      const regex = patternRegExp(config.pattern);
      const behavior = config.behavior as SplitBehavior;
      const invert = config.invert === true;
      return (pieces) => pieces.flatMap((piece) => splitBy(piece, regexMatches(piece, regex), behavior, invert));
    }
    case "Digits": {
      const behavior: SplitBehavior = config.individual_digits === true ? "Isolated" : "Contiguous";
      return (pieces) => pieces.flatMap((piece) => splitBy(piece, charMatches(piece, (char) => NUMERIC.test(char)), behavior, false));
    }
    case "Punctuation": {
      const behavior = (config.behavior as SplitBehavior | undefined) ?? "Isolated";
      return (pieces) => pieces.flatMap((piece) => splitBy(piece, charMatches(piece, (char) => PUNCTUATION.test(char)), behavior, false));
    }
    case "Whitespace":
      return (pieces) => pieces.flatMap((piece) => splitBy(piece, regexMatches(piece, WHITESPACE_WORDS), "Removed", true));
    case "WhitespaceSplit":
      return (pieces) => pieces.flatMap((piece) => splitBy(piece, regexMatches(piece, NON_WHITESPACE), "Removed", true));
    case "ByteLevel": {
      const addPrefixSpace = config.add_prefix_space === true;
      const regex = config.use_regex === false ? undefined : toJavaScriptRegExp(GPT2_PATTERN);
      return (pieces) =>
        pieces
          .map((piece) => (addPrefixSpace && !piece.startsWith(" ") ? ` ${piece}` : piece))
          .flatMap((piece) => (regex ? splitBy(piece, regexMatches(piece, regex), "Isolated", false) : [piece]))
          .map(byteLevelMap);
    }
    case "Metaspace": {
      // prepend_scheme "first" is taken as "the first piece of each text between added tokens";
      // tokenizers prepends only at the input's offset 0 (they differ after an added token)
      const replacement = typeof config.replacement === "string" ? config.replacement : "\u2581";
      const scheme = typeof config.prepend_scheme === "string" ? config.prepend_scheme : config.add_prefix_space === false ? "never" : "always";
      const split = config.split !== false;
      return (pieces) =>
        pieces.flatMap((piece, index) => {
          let text = piece.replaceAll(" ", replacement);
          const prepend = scheme === "always" || (scheme === "first" && index === 0);
          if (prepend && !text.startsWith(replacement)) text = replacement + text;
          return split ? splitBy(text, charMatches(text, (char) => char === replacement), "MergedWithNext", false) : [text];
        });
    }
    default:
      throw new UnsupportedComponentError(`pre_tokenizer type ${JSON.stringify(config.type)}`);
  }
}

function buildNormalizer(config: unknown): Normalizer {
  if (config === null || config === undefined) return (text) => text;
  if (!isJsonObject(config)) throw new UnsupportedComponentError(`normalizer ${JSON.stringify(config)}`);
  switch (config.type) {
    case "Sequence": {
      const steps = (Array.isArray(config.normalizers) ? config.normalizers : []).map(buildNormalizer);
      return (text) => steps.reduce((current, step) => step(current), text);
    }
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD": {
      const form = config.type;
      return (text) => text.normalize(form);
    }
    case "Lowercase":
      return (text) => text.toLowerCase();
    case "Prepend": {
      const prefix = String(config.prepend ?? "");
      return (text) => (text === "" ? text : prefix + text);
    }
    case "Replace": {
      const regex = patternRegExp(config.pattern);
      const content = String(config.content ?? "");
      return (text) => text.replace(regex, () => content);
    }
    case "Strip": {
      const left = config.strip_left !== false;
      const right = config.strip_right !== false;
      return (text) => (left && right ? text.trim() : left ? text.trimStart() : right ? text.trimEnd() : text);
    }
    case "StripAccents":
      return (text) => text.normalize("NFD").replace(/\p{Mn}/gu, "");
    default:
      throw new UnsupportedComponentError(`normalizer type ${JSON.stringify(config.type)}`);
  }
}

/** The ids a post-processor adds around a single sequence (add_special_tokens=True). */
function buildPostProcessor(config: unknown): (ids: number[]) => number[] {
  if (config === null || config === undefined) return (ids) => ids;
  if (!isJsonObject(config)) throw new UnsupportedComponentError(`post_processor ${JSON.stringify(config)}`);
  switch (config.type) {
    case "Sequence": {
      const steps = (Array.isArray(config.processors) ? config.processors : []).map(buildPostProcessor);
      return (ids) => steps.reduce((current, step) => step(current), ids);
    }
    case "ByteLevel":
      return (ids) => ids;
    case "RobertaProcessing":
    case "BertProcessing": {
      const cls = Array.isArray(config.cls) ? Number(config.cls[1]) : undefined;
      const sep = Array.isArray(config.sep) ? Number(config.sep[1]) : undefined;
      if (cls === undefined || sep === undefined) throw new UnsupportedComponentError(`${config.type} without cls/sep`);
      return (ids) => [cls, ...ids, sep];
    }
    case "TemplateProcessing": {
      const single = Array.isArray(config.single) ? config.single : [];
      const specialTokens = isJsonObject(config.special_tokens) ? config.special_tokens : {};
      const parts = single.map((entry): number[] | "A" => {
        if (isJsonObject(entry) && isJsonObject(entry.Sequence)) return "A";
        const name = isJsonObject(entry) && isJsonObject(entry.SpecialToken) ? entry.SpecialToken.id : undefined;
        const special = typeof name === "string" ? specialTokens[name] : undefined;
        if (!isJsonObject(special) || !Array.isArray(special.ids)) throw new UnsupportedComponentError(`TemplateProcessing entry ${JSON.stringify(entry)}`);
        return special.ids.map(Number);
      });
      return (ids) => parts.flatMap((part) => (part === "A" ? ids : part));
    }
    default:
      throw new UnsupportedComponentError(`post_processor type ${JSON.stringify(config.type)}`);
  }
}

class BpeModel {
  private readonly ranks = new Map<string, number>();
  private readonly ignoreMerges: boolean;
  private readonly byteFallback: boolean;
  private readonly unkId: number | undefined;
  private readonly fuseUnk: boolean;

  constructor(private readonly vocab: Map<string, number>, model: JsonObject, merges: [string, string][]) {
    if (model.continuing_subword_prefix || model.end_of_word_suffix) {
      throw new UnsupportedComponentError("BPE with continuing_subword_prefix or end_of_word_suffix");
    }
    merges.forEach(([left, right], rank) => {
      // keyed with a separator no part can hold (parts may contain spaces); a repeated merge takes
      // its last rank, as tokenizers' HashMap collect does
      this.ranks.set(`${left}\u0000${right}`, rank);
    });
    this.ignoreMerges = model.ignore_merges === true;
    this.byteFallback = model.byte_fallback === true;
    this.unkId = typeof model.unk_token === "string" ? vocab.get(model.unk_token) : undefined;
    this.fuseUnk = model.fuse_unk === true;
  }

  tokenize(word: string): number[] {
    if (this.ignoreMerges && this.vocab.has(word)) return [this.vocab.get(word)!];
    // symbols: known characters, or single unknowns carried as ids
    let symbols: { text: string; ids?: number[] }[] = [];
    for (const char of word) {
      if (this.vocab.has(char)) symbols.push({ text: char });
      else if (this.byteFallback && [...utf8.encode(char)].every((byte) => this.vocab.has(byteToken(byte)))) {
        symbols.push({ text: char, ids: [...utf8.encode(char)].map((byte) => this.vocab.get(byteToken(byte))!) });
      } else if (this.unkId !== undefined) {
        const previous = symbols[symbols.length - 1];
        if (this.fuseUnk && previous?.ids?.length === 1 && previous.ids[0] === this.unkId && !this.vocab.has(previous.text)) previous.text += char;
        else symbols.push({ text: char, ids: [this.unkId] });
      }
    }
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < symbols.length; i++) {
        if (symbols[i].ids || symbols[i + 1].ids) continue;
        const rank = this.ranks.get(`${symbols[i].text}\u0000${symbols[i + 1].text}`);
        if (rank !== undefined && rank < bestRank && this.vocab.has(symbols[i].text + symbols[i + 1].text)) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      symbols = [...symbols.slice(0, best), { text: symbols[best].text + symbols[best + 1].text }, ...symbols.slice(best + 2)];
    }
    return symbols.flatMap((symbol) => symbol.ids ?? [this.vocab.get(symbol.text)!]);
  }
}

function byteToken(byte: number): string {
  return `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`;
}

/** Splits text around added tokens (leftmost, longest first), honouring lstrip/rstrip. */
function splitOnAddedTokens(text: string, added: AddedToken[]): { text: string; id?: number }[] {
  const sorted = [...added].filter((token) => token.content !== "").sort((a, b) => b.content.length - a.content.length);
  const parts: { text: string; id?: number }[] = [];
  let position = 0;
  let plainStart = 0;
  while (position < text.length) {
    const token = sorted.find((candidate) => text.startsWith(candidate.content, position));
    if (!token) {
      position++;
      continue;
    }
    let before = text.slice(plainStart, position);
    if (token.lstrip) before = before.trimEnd();
    if (before !== "") parts.push({ text: before });
    parts.push({ text: token.content, id: token.id });
    position += token.content.length;
    if (token.rstrip) while (position < text.length && /\s/u.test(text[position])) position++;
    plainStart = position;
  }
  if (plainStart < text.length) parts.push({ text: text.slice(plainStart) });
  return parts;
}

export class TokenizerJsonEncoder {
  private readonly normalizer: Normalizer;
  private readonly preTokenizer: PreTokenizer;
  private readonly postProcessor: (ids: number[]) => number[];
  private readonly model: BpeModel;

  constructor(private readonly tokenizer: BpeTokenizerJson) {
    this.normalizer = buildNormalizer(tokenizer.json.normalizer);
    this.preTokenizer = buildPreTokenizer(tokenizer.json.pre_tokenizer);
    this.postProcessor = buildPostProcessor(tokenizer.json.post_processor);
    this.model = new BpeModel(tokenizer.vocab, tokenizer.model, tokenizer.merges);
  }

  encode(text: string, addSpecialTokens = true): number[] {
    const ids: number[] = [];
    for (const part of splitOnAddedTokens(text, this.tokenizer.addedTokens)) {
      if (part.id !== undefined) {
        ids.push(part.id);
        continue;
      }
      for (const piece of this.preTokenizer([this.normalizer(part.text)])) ids.push(...this.model.tokenize(piece));
    }
    return addSpecialTokens ? this.postProcessor(ids) : ids;
  }
}
