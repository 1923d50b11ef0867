import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../../support/shared-data.js";

export interface ChildServer {
  url: string;
  process: ChildProcess;
  stderr(): string;
  /** Sends `signal` and waits (bounded) for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawns `serve` with tsx and resolves with its URL once it prints "listening on"; bounded by timeoutMs. */
export function spawnServe(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ChildServer> {
  return spawnListening("test/server/support/serve-child.ts", args, options);
}

/** Spawns a TypeScript server script (path from the repo root) with tsx; resolves once it prints "listening on URL". */
export function spawnListening(script: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ChildServer> {
  const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, script), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (data) => (stderr += String(data)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${script} did not start within ${options.timeoutMs ?? 30_000} ms; stderr:\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.stdout!.on("data", (data) => {
      stdout += String(data);
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1], process: child, stderr: () => stderr, stop });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before listening; stderr:\n${stderr}`));
    });
  });
}
