import { PYTHON_WHITESPACE_CLASS, pythonStrip } from "../../text/python-compat.js";
import type { InstructionExample } from "./prompt.js";

export type ParseProblem =
  /** The last piece of a completion that hit the length limit: likely cut off, so dropped. */
  | "truncated"
  /** A piece without exactly one numbered Instruction, Input and Output field. */
  | "malformed";

export interface ParsedPiece {
  /** The task number the piece should carry (examples + 1, + 2, …). */
  number: number;
  raw: string;
  example?: InstructionExample;
  problem?: ParseProblem;
}

/**
 * Alpaca's post_process_gpt3_response, parsing step only (the filters are separate so each rejection
 * can name its reason): prepend `{k+1}. Instruction:`, split on `###`, drop the last piece when the
 * completion ended by length, split each piece on `{n}.\s+(Instruction|Input|Output):` and keep it
 * only when that yields exactly 7 parts; `<noinput>` (any case) becomes "".
 */
export function parseAlpacaCompletion(text: string, examplesInPrompt: number, finishReason: string): ParsedPiece[] {
  const pieces = `${examplesInPrompt + 1}. Instruction:${text}`.split("###");
  return pieces.map((raw, position) => {
    const number = position + examplesInPrompt + 1;
    if (position === pieces.length - 1 && finishReason === "length") return { number, raw, problem: "truncated" };
    const parts = raw.split(new RegExp(`${number}\\.[${PYTHON_WHITESPACE_CLASS}]+(Instruction|Input|Output):`));
    if (parts.length !== 7) return { number, raw, problem: "malformed" };
    const input = pythonStrip(parts[4]);
    return {
      number,
      raw,
      example: {
        instruction: pythonStrip(parts[2]),
        input: input.toLowerCase() === "<noinput>" ? "" : input,
        output: pythonStrip(parts[6]),
      },
    };
  });
}
