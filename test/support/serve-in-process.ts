// `camelid serve` in this process (its command's own run(), captured io) until stop() is called:
// the real CLI path without the cost of a child process.
import { run as serve } from "../../src/cli/commands/serve.js";
import { captureIo } from "./capture-io.js";

export interface ServeInProcess {
  url: string;
  /** Everything serve wrote to stderr so far (its log). */
  log(): string;
  /** Stops the server; resolves with the command's exit code. */
  stop(): Promise<number>;
}

export async function serveInProcess(args: string[], startTimeoutMs = 60_000): Promise<ServeInProcess> {
  const { io, stdout, stderr } = captureIo();
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const running = serve(args, io, stopped);
  const url = await new Promise<string>((resolve, reject) => {
    const deadline = setTimeout(() => finish(new Error(`serve did not listen within ${startTimeoutMs} ms; log:\n${stderr()}`)), startTimeoutMs);
    const poll = setInterval(() => {
      const match = /listening on (http:\/\/\S+)/.exec(stdout());
      if (match) finish(undefined, match[1]);
    }, 20);
    const finish = (error?: unknown, found?: string) => {
      clearTimeout(deadline);
      clearInterval(poll);
      if (found) resolve(found);
      else reject(error);
    };
    running.catch((error: unknown) => finish(error));
  });
  return { url, log: stderr, stop: () => (stop(), running) };
}
