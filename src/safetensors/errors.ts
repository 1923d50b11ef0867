import { CamelidError } from "../errors/index.js";

/** A safetensors file or sharded checkpoint is malformed; `file` names it, `problem` says what is wrong. */
export class SafetensorsFormatError extends CamelidError {
  readonly code = "safetensors_format";
  constructor(
    readonly file: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: invalid safetensors: ${problem}`, options);
  }
}
