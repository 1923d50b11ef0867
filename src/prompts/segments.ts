import type { ChatRole } from "../spec/messages.js";
import type { PromptSegment, RenderedFormat } from "./types.js";

export interface SegmentAttributes {
  messageIndex?: number;
  role?: ChatRole;
  trainable?: boolean;
}

/** A piece of text not yet placed in a segment list; used where whitespace must be stripped across pieces. */
export interface PendingPiece extends SegmentAttributes {
  text: string;
  special?: boolean;
}

/**
 * Collects segments in order. Adjacent plain-text pieces with the same attributes are merged so a
 * rendered prompt reads as a few meaningful segments; special pieces are never merged because each
 * one stands for exactly one token.
 */
export class SegmentBuilder {
  private readonly segments: PromptSegment[] = [];

  text(text: string, attributes: SegmentAttributes = {}): this {
    return this.push(text, false, attributes);
  }

  special(text: string, attributes: SegmentAttributes = {}): this {
    return this.push(text, true, attributes);
  }

  pieces(pieces: PendingPiece[]): this {
    for (const piece of pieces) this.push(piece.text, piece.special ?? false, piece);
    return this;
  }

  build(stops: string[], bosToken: string | undefined): RenderedFormat {
    const segments = this.segments.map((segment) => ({ ...segment }));
    const first = segments[0];
    return {
      segments,
      text: segments.map((segment) => segment.text).join(""),
      startsWithBos: bosToken !== undefined && first !== undefined && first.special && first.text === bosToken,
      stops: uniqueNonEmpty(stops),
    };
  }

  private push(text: string, special: boolean, attributes: SegmentAttributes): this {
    if (text === "") return this;
    const segment: PromptSegment = { text, special, trainable: attributes.trainable ?? false };
    if (attributes.messageIndex !== undefined) segment.messageIndex = attributes.messageIndex;
    if (attributes.role !== undefined) segment.role = attributes.role;
    const last = this.segments.at(-1);
    if (!special && last && !last.special && sameAttributes(last, segment)) {
      last.text += text;
    } else {
      this.segments.push(segment);
    }
    return this;
  }
}

function sameAttributes(a: PromptSegment, b: PromptSegment): boolean {
  return a.messageIndex === b.messageIndex && a.role === b.role && a.trainable === b.trainable;
}

export function uniqueNonEmpty(values: string[]): string[] {
  return [...new Set(values.filter((value) => value !== ""))];
}

/**
 * Python's `str.strip()` applied to the concatenation of several pieces, keeping piece boundaries:
 * Meta's LLaMA-2 reference strips the user text *after* the system block is glued onto it.
 */
export function stripPieces(pieces: PendingPiece[]): PendingPiece[] {
  const result = pieces.map((piece) => ({ ...piece }));
  for (const piece of result) {
    piece.text = piece.text.trimStart();
    if (piece.text !== "") break;
  }
  for (let index = result.length - 1; index >= 0; index--) {
    result[index].text = result[index].text.trimEnd();
    if (result[index].text !== "") break;
  }
  return result.filter((piece) => piece.text !== "");
}
