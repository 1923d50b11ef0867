// `camelid serve --uv-threadpool-size N`: libuv fixes its pool's size before any of camelid's code runs, so
// bin/camelid.js runs camelid again with UV_THREADPOOL_SIZE=N in the child's environment from its start
// (bin/uv-threadpool.js); serve validates and reports the size and refuses it where it could not take effect.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { needsRelaunch, uvThreadpoolSizeFromArgv } from "../../bin/uv-threadpool.js";
import { describeUvThreadpool, parseServeFlags } from "../../src/cli/commands/serve.js";
import { InvalidArgumentError } from "../../src/errors/index.js";
import { isProcessAlive } from "../support/processes.js";
import { stories260KPath } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";
import { waitFor, waitUntil } from "../support/wait-for.js";

const repoRoot = resolve(import.meta.dirname, "../..");
const newDirectory = temporaryDirectories("camelid-uv-pool-");

/** The child processes of pid (Linux). */
function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
}

/** The environment a process was started with: what libuv read when it sized its pool. */
function startingEnvironment(pid: number): Record<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean);
  return Object.fromEntries(entries.map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
}

function startServe(): { pid: number; output: () => string; exited: Promise<number | null> } {
  const serve = spawn(
    process.execPath,
    [join(repoRoot, "bin/camelid.js"), "serve", "--model", stories260KPath(), "--port", "0", "--data-dir", newDirectory(), "--uv-threadpool-size", "1"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, UV_THREADPOOL_SIZE: "4" } },
  );
  let output = "";
  serve.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  serve.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => serve.once("exit", (code) => resolveExit(code)));
  return { pid: serve.pid!, output: () => output, exited };
}

describe("--uv-threadpool-size", () => {
  it("is found in both spellings, and needs a new process unless the environment already has that size", () => {
    expect(uvThreadpoolSizeFromArgv(["serve", "--port", "0", "--uv-threadpool-size", "1"])).toBe("1");
    expect(uvThreadpoolSizeFromArgv(["serve", "--uv-threadpool-size=2"])).toBe("2");
    expect(uvThreadpoolSizeFromArgv(["serve", "--port", "0"])).toBeUndefined();
    expect(uvThreadpoolSizeFromArgv(["chat", "--", "--uv-threadpool-size", "1"])).toBeUndefined();
    expect(needsRelaunch(["serve", "--uv-threadpool-size", "1"], { UV_THREADPOOL_SIZE: "4" })).toBe(true);
    expect(needsRelaunch(["serve", "--uv-threadpool-size", "1"], {})).toBe(true);
    expect(needsRelaunch(["serve", "--uv-threadpool-size", "1"], { UV_THREADPOOL_SIZE: "1" })).toBe(false);
    expect(needsRelaunch(["serve"], { UV_THREADPOOL_SIZE: "4" })).toBe(false);
  });

  it("is validated by serve (1 to 1024) and refused where it did not reach libuv in time", () => {
    expect(parseServeFlags(["--uv-threadpool-size", "1"]).uvThreadpoolSize).toBe(1);
    expect(parseServeFlags([]).uvThreadpoolSize).toBeUndefined();
    for (const bad of ["0", "1025", "two", ""]) expect(() => parseServeFlags(["--uv-threadpool-size", bad])).toThrow(InvalidArgumentError);
    expect(describeUvThreadpool(1, { UV_THREADPOOL_SIZE: "1" })).toMatch(/^libuv thread pool: 1 thread/);
    expect(describeUvThreadpool(undefined, {})).toBeUndefined();
    expect(() => describeUvThreadpool(1, {})).toThrow(/UV_THREADPOOL_SIZE=1 in the environment/);
    expect(() => describeUvThreadpool(1, { UV_THREADPOOL_SIZE: "4" })).toThrow(InvalidArgumentError);
  });

  it("serves from a process that starts with UV_THREADPOOL_SIZE=N, which ends with its parent, SIGTERM or SIGKILL", async () => {
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      const serve = startServe();
      try {
        await waitFor(serve.output, (text) => text.includes("listening on"), { what: "camelid serve to start", timeoutMs: 120_000 });
        expect(serve.output()).toContain("libuv thread pool: 1 thread(s) (--uv-threadpool-size)");
        const [child] = childrenOf(serve.pid);
        expect(startingEnvironment(child).UV_THREADPOOL_SIZE).toBe("1");
        process.kill(serve.pid, signal);
        const code = await serve.exited;
        if (signal === "SIGTERM") expect(code).toBe(0);
        await waitUntil(() => !isProcessAlive(child), { what: `the relaunched serve (pid ${child}) to end after its parent's ${signal}` });
      } finally {
        if (isProcessAlive(serve.pid)) process.kill(serve.pid, "SIGKILL");
      }
    }
  }, 240_000);
});
