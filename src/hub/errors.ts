// The Hub's own failures, one class each, in src/errors' style: a stable `code` and the facts as fields.
import { CamelidError } from "../errors/index.js";

/** 401/403 from the Hub: a gated or private repo, or a token without access. The message says what to do. */
export class HubAccessError extends CamelidError {
  readonly code = "hub_access";
  constructor(
    readonly repo: string,
    readonly status: number,
    readonly tokenSent: boolean,
    detail: string,
  ) {
    super(
      tokenSent
        ? `${repo}: the Hub refused access (${status}: ${detail}); the token in HF_TOKEN has no access to this repo (gated repos must be accepted on the model page)`
        : `${repo}: the Hub refused access (${status}: ${detail}); the repo is gated or private: set HF_TOKEN to a Hugging Face access token`,
    );
  }
}

/** 404: no such repo, revision or file; `what` is the Hub's X-Error-Code when it sent one. */
export class HubNotFoundError extends CamelidError {
  readonly code = "hub_not_found";
  constructor(
    readonly url: string,
    readonly what: string,
    message: string,
  ) {
    super(message);
  }
}

/** No file of the repo matches the requested quantisation or name; `choices` are the GGUF files there are. */
export class NoMatchingFileError extends CamelidError {
  readonly code = "no_matching_file";
  constructor(
    readonly repo: string,
    readonly wanted: string | undefined,
    readonly choices: string[],
  ) {
    super(
      choices.length === 0
        ? `${repo} has no .gguf file (converting a whole checkpoint is "camelid convert")`
        : `${repo} has no GGUF file matching "${wanted}"; choose one of:\n${formatChoices(choices)}`,
    );
  }
}

/** Several files match; the user must say which (by quantisation or file name). */
export class AmbiguousFileError extends CamelidError {
  readonly code = "ambiguous_file";
  constructor(
    readonly repo: string,
    readonly wanted: string | undefined,
    readonly choices: string[],
  ) {
    super(
      `${repo}: ${wanted === undefined ? "several GGUF files" : `several files match "${wanted}"`}; name one as hf:${repo}:<quant|file>:\n${formatChoices(choices)}`,
    );
  }
}

/** The downloaded bytes do not hash to what the Hub's LFS metadata promised; the file was removed. */
export class ChecksumMismatchError extends CamelidError {
  readonly code = "checksum_mismatch";
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${file}: sha256 mismatch: expected ${expected}, downloaded ${actual}; the download was deleted, run pull again`);
  }
}

function formatChoices(choices: string[]): string {
  return choices.map((choice) => `  ${choice}`).join("\n");
}
