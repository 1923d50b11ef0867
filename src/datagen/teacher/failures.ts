import {
  AuthenticationError,
  ConfigError,
  InvalidArgumentError,
  ModelLoadError,
  ModelNotFoundError,
  PermissionDeniedError,
  PromptFormatError,
  UnsupportedFeatureError,
} from "../../errors/index.js";

/**
 * Errors that no later request can escape (bad key, unknown model, invalid settings, messages the
 * teacher's prompt format cannot render, e.g. a completions API without a format): the run stops
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
    error instanceof PromptFormatError ||
    error instanceof UnsupportedFeatureError
  );
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export type SettledRequest<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Runs one teacher request under the rule above: a fatal error (or the run's own abort) ends the run;
 * any other failure is returned as a message so the caller records a "request-failed" row.
 */
export async function settleRequest<T>(request: () => Promise<T>, signal: AbortSignal): Promise<SettledRequest<T>> {
  try {
    return { ok: true, value: await request() };
  } catch (error) {
    if (isFatalForRun(error) || signal.aborted) throw error;
    return { ok: false, error: errorMessage(error) };
  }
}
