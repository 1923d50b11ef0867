// Registry failures in src/errors' style: a stable `code` and the facts as fields.
import { CamelidError } from "../errors/index.js";

/** A Modelfile that cannot be read: `line` is 1-based (0 when the problem is the file as a whole, e.g. no FROM). */
export class ModelfileError extends CamelidError {
  readonly code = "modelfile";
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${problem}` : `${file}: ${problem}`);
  }
}
