// Reads the pieces of a SentencePiece `tokenizer.model` (a serialized sentencepiece_model.proto
// ModelProto) without a protobuf library: only the fields the GGUF vocabulary needs are decoded,
// everything else is skipped by its wire type.
import { TokenizerFileError } from "../../errors/index.js";
import { TokenType } from "./token-type.js";

export interface SentencePiece {
  piece: string;
  score: number;
  /** SentencePiece.Type, numbered as TokenType. */
  type: number;
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

// ModelProto field numbers
const MODEL_PIECES = 1;
const MODEL_TRAINER_SPEC = 2;
// SentencePiece field numbers
const PIECE_TEXT = 1;
const PIECE_SCORE = 2;
const PIECE_TYPE = 3;

class ProtobufCursor {
  position: number;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
    start: number,
    readonly end: number,
  ) {
    this.position = start;
  }

  get done(): boolean {
    return this.position >= this.end;
  }

  truncated(what: string): never {
    throw new TokenizerFileError(this.file, "truncated", `SentencePiece model is truncated: ${what} at byte ${this.position} runs past the end (${this.end} bytes)`);
  }

  /** A varint as a number; values above 2^53 only occur in fields this reader skips, where precision does not matter. */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let count = 0; count < 10; count++) {
      if (this.position >= this.end) this.truncated("a varint");
      const byte = this.bytes[this.position++];
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new TokenizerFileError(this.file, "malformed", `SentencePiece model has a varint longer than 10 bytes at byte ${this.position}`);
  }

  float32(): number {
    if (this.position + 4 > this.end) this.truncated("a float");
    const value = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.position, 4).getFloat32(0, true);
    this.position += 4;
    return value;
  }

  /** The bounds of a length-delimited field's payload, moving past it. */
  lengthDelimited(): { start: number; end: number } {
    const length = this.varint();
    const start = this.position;
    if (start + length > this.end) this.truncated(`a ${length}-byte field`);
    this.position = start + length;
    return { start, end: start + length };
  }

  skip(wireType: number, field: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        if (this.position + 8 > this.end) this.truncated("a fixed64");
        this.position += 8;
        return;
      case WIRE_LENGTH_DELIMITED:
        this.lengthDelimited();
        return;
      case WIRE_FIXED32:
        if (this.position + 4 > this.end) this.truncated("a fixed32");
        this.position += 4;
        return;
      default:
        throw new TokenizerFileError(this.file, "malformed", `SentencePiece model has field ${field} with unknown wire type ${wireType} at byte ${this.position}`);
    }
  }

  key(): { field: number; wireType: number } {
    const key = this.varint();
    return { field: Math.floor(key / 8), wireType: key % 8 };
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function parsePiece(bytes: Uint8Array, file: string, start: number, end: number, index: number): SentencePiece {
  const cursor = new ProtobufCursor(bytes, file, start, end);
  const piece: SentencePiece = { piece: "", score: 0, type: TokenType.NORMAL };
  while (!cursor.done) {
    const { field, wireType } = cursor.key();
    if (field === PIECE_TEXT && wireType === WIRE_LENGTH_DELIMITED) {
      const text = cursor.lengthDelimited();
      try {
        piece.piece = utf8.decode(bytes.subarray(text.start, text.end));
      } catch (cause) {
        throw new TokenizerFileError(file, "invalid_utf8", `SentencePiece piece ${index} (at byte ${text.start}) is not valid UTF-8`, { cause });
      }
    } else if (field === PIECE_SCORE && wireType === WIRE_FIXED32) {
      piece.score = cursor.float32();
    } else if (field === PIECE_TYPE && wireType === WIRE_VARINT) {
      piece.type = cursor.varint();
    } else {
      cursor.skip(wireType, field);
    }
  }
  return piece;
}

/**
 * The pieces of a ModelProto, in id order. A real model always carries a trainer_spec after its
 * pieces, so a file that ends cleanly between two pieces is reported as truncated too.
 */
export function parseSentencePieceModel(bytes: Uint8Array, file: string): SentencePiece[] {
  const cursor = new ProtobufCursor(bytes, file, 0, bytes.length);
  const pieces: SentencePiece[] = [];
  let sawTrainerSpec = false;
  while (!cursor.done) {
    const { field, wireType } = cursor.key();
    if (field === MODEL_PIECES && wireType === WIRE_LENGTH_DELIMITED) {
      const { start, end } = cursor.lengthDelimited();
      pieces.push(parsePiece(bytes, file, start, end, pieces.length));
    } else {
      if (field === MODEL_TRAINER_SPEC) sawTrainerSpec = true;
      cursor.skip(wireType, field);
    }
  }
  if (pieces.length === 0) throw new TokenizerFileError(file, "malformed", "SentencePiece model has no pieces");
  if (!sawTrainerSpec) {
    throw new TokenizerFileError(file, "truncated", `SentencePiece model is truncated: it ends after ${pieces.length} pieces without the trainer_spec that follows them`);
  }
  return pieces;
}
