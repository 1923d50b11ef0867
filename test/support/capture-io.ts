import { PassThrough } from "node:stream";
import type { CliIo } from "../../src/cli/io.js";

/** A CliIo whose output is captured and whose stdin is fed by the test. */
export function captureIo(input = "", env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const stdin = new PassThrough();
  stdin.end(input);
  const io: CliIo = {
    stdout: (text) => void out.push(text),
    stderr: (text) => void err.push(text),
    stdin,
    isTTY: false,
    env,
    cwd: process.cwd(),
  };
  return { io, stdout: () => out.join(""), stderr: () => err.join("") };
}
