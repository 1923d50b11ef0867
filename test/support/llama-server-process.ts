// A llama-server (`binary`: see llama-server-binary.ts) started directly, as the reference camelid's
// answers are compared with: a free loopback port, ready once /health answers 200, stopped with its
// process group.
import { spawn, type ChildProcess } from "node:child_process";
import { freePort } from "../../src/providers/llama-server/free-port.js";

export interface LlamaServerProcess {
  url: string;
  /** stdout and stderr so far, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** Starts llama-server with `args` (model, --mmproj, …) and resolves once it serves, or rejects with its log when it exits first. */
export async function startLlamaServer(binary: string, args: string[]): Promise<LlamaServerProcess> {
  const port = await freePort();
  const child: ChildProcess = spawn(binary, ["--host", "127.0.0.1", "--port", String(port), "--threads", "1", ...args], { stdio: ["ignore", "pipe", "pipe"], detached: true });
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
