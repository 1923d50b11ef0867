import type { PromptSegment, RenderedFormat } from "../prompts/index.js";
import type { TrainingTokenizer } from "./tokenizer.js";

/** A rendered conversation as token ids, each marked trainable (assistant text and its end-of-turn) or not. */
export interface TokenizedConversation {
  tokens: number[];
  /** trainable[i] = 1 when tokens[i] belongs to an assistant reply or its end-of-turn marker. */
  trainable: Uint8Array;
}

export type SegmentTokenization =
  | { ok: true; value: TokenizedConversation }
  | {
      ok: false;
      reason: string;
      /**
       * On a segment/whole mismatch only: the segment-by-segment tokens. They are what generation sees
       * (the prompt tokenized, then the reply's tokens), so a caller may choose to train on them.
       */
      segmentTokens?: TokenizedConversation;
    };

interface LabelledSegment {
  text: string;
  special: boolean;
  trainable: boolean;
}

/**
 * Only boundaries between trainable and masked text matter for the labels, so neighbouring plain
 * segments with the same flag are joined (fewer boundaries, fewer places where tokenizing piece by
 * piece could differ). Spaces at the end of a plain segment move to the start of the next plain one:
 * SentencePiece and byte-level BPE attach a space to the word after it ("ASSISTANT: I" has the token
 * "▁I"), so the reply's first token carries the space and belongs to the reply, as at inference time
 * when the prompt ends with "ASSISTANT:" and the model writes " I".
 */
export function labelledSegments(segments: readonly PromptSegment[]): LabelledSegment[] {
  const joined: LabelledSegment[] = [];
  for (const segment of segments) {
    const last = joined.at(-1);
    if (last && !last.special && !segment.special && last.trainable === segment.trainable) last.text += segment.text;
    else joined.push({ text: segment.text, special: segment.special, trainable: segment.trainable });
  }
  for (let i = 0; i + 1 < joined.length; i++) {
    const left = joined[i], right = joined[i + 1];
    if (left.special || right.special || right.text.startsWith(" ")) continue;
    const trailing = /( +)$/.exec(left.text)?.[1];
    if (!trailing) continue;
    left.text = left.text.slice(0, -trailing.length);
    right.text = trailing + right.text;
  }
  return joined.filter((segment) => segment.text !== "");
}

/**
 * Tokenizes a rendered conversation segment by segment with the model's own tokenizer (special
 * segments as their one special token, text never parsed for special tokens), then checks that the
 * concatenation equals the tokenization of the whole rendered text. A difference (a token spanning a
 * mask boundary, user text that spells a special token…) makes the sample unusable: the reason says
 * where, and the caller reports it instead of training on wrong labels.
 */
export function tokenizeSegments(rendered: RenderedFormat, tokenizer: TrainingTokenizer): SegmentTokenization {
  const tokens: number[] = [];
  const trainable: number[] = [];
  const leadingBos = tokenizer.addsBos && !rendered.startsWithBos && tokenizer.bosId !== null;
  if (leadingBos) {
    tokens.push(tokenizer.bosId!);
    trainable.push(0);
  }
  let previousWasText = false;
  for (const segment of labelledSegments(rendered.segments)) {
    let ids: number[];
    if (segment.special) {
      ids = tokenizer.tokenizeSpecial(segment.text);
      if (ids.length !== 1) return { ok: false, reason: `special text ${JSON.stringify(segment.text)} is not one token of this vocabulary (it gives ${ids.length} ids)` };
    } else {
      ids = tokenizer.tokenizeText(segment.text, previousWasText);
    }
    previousWasText = !segment.special;
    for (const id of ids) {
      tokens.push(id);
      trainable.push(segment.trainable ? 1 : 0);
    }
  }
  const whole = [...(leadingBos ? [tokenizer.bosId!] : []), ...tokenizer.tokenizeWhole(rendered.text)];
  const mismatch = firstDifference(tokens, whole);
  const hasTrainable = trainable.includes(1);
  if (mismatch !== -1) {
    const window = (ids: number[]) => `[${ids.slice(Math.max(0, mismatch - 2), mismatch + 3).join(", ")}]`;
    return {
      ok: false,
      reason:
        `segment-by-segment tokens differ from the whole text's at token ${mismatch} of ${whole.length} ` +
        `(segments ${window(tokens)}, whole ${window(whole)} around it)`,
      ...(hasTrainable ? { segmentTokens: { tokens, trainable: Uint8Array.from(trainable) } } : {}),
    };
  }
  if (!hasTrainable) return { ok: false, reason: "no token is trainable (no assistant reply in the rendered text)" };
  return { ok: true, value: { tokens, trainable: Uint8Array.from(trainable) } };
}

function firstDifference(a: readonly number[], b: readonly number[]): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : length;
}
