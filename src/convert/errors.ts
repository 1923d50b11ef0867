import { CamelidError } from "../errors/index.js";

/** What is wrong with a Hugging Face checkpoint, for callers that react to one kind (the CLI prints all alike). */
export type CheckpointProblem =
  | "missing_config"
  | "invalid_config"
  | "unsupported_architecture"
  | "unmapped_tensor"
  | "missing_tensor"
  | "shape_mismatch"
  | "unsupported_dtype";

/** A Hugging Face checkpoint folder cannot be converted; `path` names the file or tensor, `problem` the kind. */
export class HfCheckpointError extends CamelidError {
  readonly code = "checkpoint";
  constructor(
    readonly problem: CheckpointProblem,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
