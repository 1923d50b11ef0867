/** Base of every error camelid throws on purpose; `code` is stable and machine-readable. */
export abstract class CamelidError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export function isCamelidError(value: unknown): value is CamelidError {
  return value instanceof CamelidError;
}
