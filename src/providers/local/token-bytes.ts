// Token id → the exact bytes it stands for, built from the GGUF vocabulary. llama.cpp's detokenizer
// returns a JS string per call, which turns a lone byte-fallback token (one byte of a Korean
// syllable or an emoji) into U+FFFD and drops SentencePiece's leading space on a first piece; both
// corrupt streamed text. Knowing each token's bytes lets the stream emit only whole characters.

/** GGUF `tokenizer.ggml.token_type` values (llama.cpp's llama_token_type). */
const TOKEN_TYPE_CONTROL = 3;
const TOKEN_TYPE_UNUSED = 5;
const TOKEN_TYPE_BYTE = 6;

export interface VocabularyMetadata {
  /** `tokenizer.ggml.model`: "llama" (SentencePiece), "gpt2" (byte-level BPE), ... */
  model: string;
  tokens: readonly string[];
  tokenTypes?: readonly number[];
}

export type TokenBytesTable = readonly Uint8Array[];

const utf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** GPT-2's byte-level BPE maps each byte to a printable code point; this is its inverse. */
function gpt2CodePointToByte(): Map<number, number> {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const map = new Map<number, number>();
  for (const b of printable) map.set(b, b);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (!printable.includes(b)) map.set(256 + extra++, b);
  }
  return map;
}

function byteFallbackValue(piece: string): number | undefined {
  const match = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
  return match ? Number.parseInt(match[1], 16) : undefined;
}

/**
 * Bytes of every token when printed as generated text. Control and unused tokens print nothing
 * (they end or steer generation; their text is not part of the completion).
 */
export function buildTokenBytesTable(vocabulary: VocabularyMetadata): TokenBytesTable {
  const { tokens, tokenTypes } = vocabulary;
  const isByteLevel = vocabulary.model === "gpt2";
  const byteOf = isByteLevel ? gpt2CodePointToByte() : undefined;
  const table: Uint8Array[] = new Array(tokens.length);
  for (let id = 0; id < tokens.length; id++) {
    const piece = tokens[id] ?? "";
    const type = tokenTypes?.[id];
    if (type === TOKEN_TYPE_CONTROL || type === TOKEN_TYPE_UNUSED) {
      table[id] = EMPTY;
      continue;
    }
    if (byteOf && type !== 4 /* user-defined pieces are stored as plain text */) {
      const bytes: number[] = [];
      let plain = false;
      for (const char of piece) {
        const byte = byteOf.get(char.codePointAt(0)!);
        if (byte === undefined) {
          plain = true;
          break;
        }
        bytes.push(byte);
      }
      table[id] = plain ? utf8.encode(piece) : Uint8Array.from(bytes);
      continue;
    }
    const fallbackByte = type === TOKEN_TYPE_BYTE || type === undefined ? byteFallbackValue(piece) : undefined;
    if (fallbackByte !== undefined) {
      table[id] = Uint8Array.of(fallbackByte);
      continue;
    }
    // SentencePiece marks spaces with U+2581 ("▁").
    table[id] = utf8.encode(isByteLevel ? piece : piece.replaceAll("\u2581", " "));
  }
  return table;
}

/**
 * Turns generated token ids into text, holding back the bytes of a character that is not complete
 * yet, so every string it returns consists of whole UTF-8 characters.
 */
export class IncrementalTokenDecoder {
  private readonly decoder = new TextDecoder("utf-8", { fatal: false });

  constructor(private readonly table: TokenBytesTable) {}

  /** Text completed by this token (possibly empty while a multi-byte character is pending). */
  push(token: number): string {
    const bytes = this.table[token];
    if (bytes === undefined || bytes.length === 0) return "";
    return this.decoder.decode(bytes, { stream: true });
  }

  /** Ends the stream: bytes of an unfinished character become U+FFFD, as any UTF-8 decoder does. */
  flush(): string {
    return this.decoder.decode();
  }
}

/** Whole-text decoding with the same rules, for tokens already known. */
export function decodeTokenBytes(table: TokenBytesTable, tokens: readonly number[]): string {
  const decoder = new IncrementalTokenDecoder(table);
  let text = "";
  for (const token of tokens) text += decoder.push(token);
  return text + decoder.flush();
}
