// `camelid serve --uv-threadpool-size N`: bin/camelid.js carries the flag into UV_THREADPOOL_SIZE before libuv's
// pool can start (bin/uv-threadpool.js), serve validates and reports it, and refuses it where it could not take
// effect (serve run as a library, the pool's size already fixed).
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { applyUvThreadpoolSize, uvThreadpoolSizeFromArgv } from "../../bin/uv-threadpool.js";
import { describeUvThreadpool, parseServeFlags } from "../../src/cli/commands/serve.js";
import { InvalidArgumentError } from "../../src/errors/index.js";
import { stories260KPath } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";
import { waitFor } from "../support/wait-for.js";

const repoRoot = resolve(import.meta.dirname, "../..");
const newDirectory = temporaryDirectories("camelid-uv-pool-");

describe("--uv-threadpool-size", () => {
  it("is carried from the command line into UV_THREADPOOL_SIZE, in both spellings, over an inherited value", () => {
    expect(uvThreadpoolSizeFromArgv(["serve", "--port", "0", "--uv-threadpool-size", "1"])).toBe("1");
    expect(uvThreadpoolSizeFromArgv(["serve", "--uv-threadpool-size=2"])).toBe("2");
    expect(uvThreadpoolSizeFromArgv(["serve", "--port", "0"])).toBeUndefined();
    expect(uvThreadpoolSizeFromArgv(["chat", "--", "--uv-threadpool-size", "1"])).toBeUndefined();
    const env: NodeJS.ProcessEnv = { UV_THREADPOOL_SIZE: "8" };
    expect(applyUvThreadpoolSize(["serve", "--uv-threadpool-size", "1"], env)).toBe("1");
    expect(env.UV_THREADPOOL_SIZE).toBe("1");
    const untouched: NodeJS.ProcessEnv = { UV_THREADPOOL_SIZE: "8" };
    applyUvThreadpoolSize(["serve"], untouched);
    expect(untouched.UV_THREADPOOL_SIZE).toBe("8");
  });

  it("is validated by serve (1 to 1024) and refused where it did not reach the environment in time", () => {
    expect(parseServeFlags(["--uv-threadpool-size", "1"]).uvThreadpoolSize).toBe(1);
    expect(parseServeFlags([]).uvThreadpoolSize).toBeUndefined();
    for (const bad of ["0", "1025", "two", ""]) expect(() => parseServeFlags(["--uv-threadpool-size", bad])).toThrow(InvalidArgumentError);
    expect(describeUvThreadpool(1, { UV_THREADPOOL_SIZE: "1" })).toMatch(/^libuv thread pool: 1 thread/);
    expect(describeUvThreadpool(undefined, {})).toBeUndefined();
    expect(() => describeUvThreadpool(1, {})).toThrow(/UV_THREADPOOL_SIZE=1 in the environment/);
    expect(() => describeUvThreadpool(1, { UV_THREADPOOL_SIZE: "4" })).toThrow(InvalidArgumentError);
  });

  it("takes effect through bin/camelid.js: serve starts and reports the pool's size", async () => {
    const serve = spawn(
      process.execPath,
      [join(repoRoot, "bin/camelid.js"), "serve", "--model", stories260KPath(), "--port", "0", "--data-dir", newDirectory(), "--uv-threadpool-size", "1"],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, UV_THREADPOOL_SIZE: undefined } },
    );
    let output = "";
    serve.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    serve.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolveExit) => serve.once("exit", () => resolveExit()));
    try {
      await waitFor(
        () => output,
        (text) => text.includes("listening on") || serve.exitCode !== null,
        { what: "camelid serve to start", timeoutMs: 120_000 },
      );
      expect(output).toContain("libuv thread pool: 1 thread(s) (--uv-threadpool-size)");
      expect(output).toContain("listening on");
    } finally {
      serve.kill("SIGTERM");
      await exited;
    }
  }, 150_000);
});
