import { InvalidArgumentError } from "../../errors/index.js";

/**
 * A data file that cannot be read as rows at all. Each kind has its own class so that callers (and
 * tests) can tell them apart; all are invalid arguments of the flag that named the file, so every
 * command exits non-zero with the message.
 */
export abstract class DataFileError extends InvalidArgumentError {
  constructor(
    parameter: string,
    readonly file: string,
    message: string,
  ) {
    super(parameter, `${file}: ${message}`);
  }
}

/** The bytes are not UTF-8; `byteOffset` is where the first bad sequence starts. */
export class InvalidUtf8Error extends DataFileError {
  constructor(
    parameter: string,
    file: string,
    readonly byteOffset: number,
    readonly line: number,
  ) {
    super(parameter, file, `invalid UTF-8 at byte ${byteOffset} (line ${line}); re-encode the file as UTF-8`);
  }
}

/** The JSON stops before it is complete: an unclosed array, string or last JSONL row. */
export class TruncatedJsonError extends DataFileError {
  constructor(
    parameter: string,
    file: string,
    readonly line: number,
    detail: string,
  ) {
    super(parameter, file, `truncated JSON: ${detail} (line ${line}); the file ends before the data does`);
  }
}

/** The file holds one JSON value (an object, a string…) where a list of rows was expected. */
export class NotRowsError extends DataFileError {
  constructor(parameter: string, file: string, detail: string) {
    super(parameter, file, `${detail}, not a JSON array of rows or JSONL (one row per line)`);
  }
}

/** Nothing in the file can be used: no rows, or every row malformed. */
export class NoUsableRowsError extends DataFileError {
  constructor(parameter: string, file: string, detail: string) {
    super(parameter, file, `no usable rows: ${detail}`);
  }
}
