// The shared llama.cpp build's `llama-server` started for one test: a free loopback port, ready once
// /health answers 200, stopped (and its process group with it) when the test ends.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";

/** Where the lead builds llama.cpp's tools (same version as node-llama-cpp's); CAMELID_LLAMA_SERVER overrides. */
export const llamaServerBinary = process.env.CAMELID_LLAMA_SERVER ?? "/work/llama-build/bin/llama-server";
export const hasLlamaServer = existsSync(llamaServerBinary);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface LlamaServerProcess {
  url: string;
  /** stdout and stderr so far, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** Starts llama-server with `args` (model, --mmproj, …) and resolves once it serves, or rejects with its log when it exits first. */
export async function startLlamaServer(args: string[]): Promise<LlamaServerProcess> {
  const port = await freePort();
  const child: ChildProcess = spawn(llamaServerBinary, ["--host", "127.0.0.1", "--port", String(port), "--threads", "1", ...args], { stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.pid) process.kill(-child.pid, "SIGKILL");
    await exited;
  };
  // /health is 503 while the model loads and 200 once it serves; a connection refused means not yet listening.
  for (;;) {
    const ended = await Promise.race([exited.then((code) => ({ code })), new Promise<undefined>((resolve) => setTimeout(resolve, 100))]);
    if (ended) throw new Error(`llama-server exited with code ${ended.code} before serving:\n${output}`);
    const healthy = await fetch(`${url}/health`).then((response) => response.ok, () => false);
    if (healthy) return { url, log: () => output, stop };
  }
}
