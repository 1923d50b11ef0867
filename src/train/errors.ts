import { CamelidError, InvalidArgumentError } from "../errors/index.js";

/** The loss or the gradient norm became NaN/Inf: continuing would only write garbage into the adapter. */
export class TrainingDivergedError extends CamelidError {
  readonly code = "training_diverged";
  constructor(
    readonly step: number,
    readonly quantity: "loss" | "gradient norm" | "validation loss",
    readonly value: number,
    hint: string,
  ) {
    super(`training stopped at step ${step}: the ${quantity} is ${value} (${hint})`);
  }
}

/** An adapter or checkpoint that must not be written or read as it is (empty, all-zero B, wrong model). */
export class AdapterExportError extends CamelidError {
  readonly code = "adapter_export";
}

/** A checkpoint that cannot be resumed from: unreadable, from another run configuration, or damaged. */
export class CheckpointError extends CamelidError {
  readonly code = "checkpoint";
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Ctrl-C or SIGTERM arrived before anything worth writing existed. */
export class TrainingInterruptedError extends CamelidError {
  readonly code = "training_interrupted";
}

/** A recipe file (`camelid train --config`) that cannot be used as it is; names the file, line and key. */
export class TrainingRecipeError extends InvalidArgumentError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    key: string,
    message: string,
  ) {
    super(key, message);
  }
}
