import { afterEach } from "vitest";
import { run } from "../../src/cli/commands/eval.js";
import { describeError } from "../../src/cli/main.js";
import { captureIo } from "../support/capture-io.js";
import { temporaryDirectory } from "./fixtures.js";

/** Runs `camelid eval …` as main() would: a typed error becomes one "camelid eval:" line and exit code 1. */
export async function evalCli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const capture = captureIo("", env);
  let code: number;
  try {
    code = await run(argv, capture.io);
  } catch (error) {
    capture.io.stderr(`camelid eval: ${describeError(error)}\n`);
    code = 1;
  }
  return { code, stdout: capture.stdout(), stderr: capture.stderr() };
}

/** A temporary directory replaced after every test of the calling file (call at the file's top level). */
export function directoryPerTest(): { readonly path: string } {
  let directory = temporaryDirectory();
  afterEach(() => {
    directory.remove();
    directory = temporaryDirectory();
  });
  return {
    get path() {
      return directory.path;
    },
  };
}
