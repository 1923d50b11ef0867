import {
  AuthenticationError,
  ConfigError,
  InvalidArgumentError,
  ModelLoadError,
  ModelNotFoundError,
  PermissionDeniedError,
  UnsupportedFeatureError,
} from "../../errors/index.js";

/**
 * Errors that no later request can escape (bad key, unknown model, invalid settings): the run stops
 * with its progress saved. Anything else that survives the retries fails only that request, which is
 * recorded as a "request-failed" row, FastChat-style, instead of ending hours of work.
 */
export function isFatalForRun(error: unknown): boolean {
  return (
    error instanceof AuthenticationError ||
    error instanceof PermissionDeniedError ||
    error instanceof ModelNotFoundError ||
    error instanceof ModelLoadError ||
    error instanceof ConfigError ||
    error instanceof InvalidArgumentError ||
    error instanceof UnsupportedFeatureError
  );
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
