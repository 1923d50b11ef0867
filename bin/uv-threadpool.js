// libuv sizes its thread pool once, from UV_THREADPOOL_SIZE, when the first job is queued on it, and loading
// an ES module (this file, bin/camelid.js) already queues file reads: by the time any of camelid's code runs,
// the size is fixed. So `--uv-threadpool-size N` runs camelid again, as a child process with UV_THREADPOOL_SIZE=N
// in its environment from the start, and this process only relays: signals in, exit code out, and the child
// ends itself if this process dies (its IPC channel closes). Plain JavaScript: it runs before tsx is registered.
import { spawn } from "node:child_process";

/** The value of `--uv-threadpool-size N` (or `--uv-threadpool-size=N`) in argv, else undefined. */
export function uvThreadpoolSizeFromArgv(argv) {
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === "--") return undefined;
    if (argument === "--uv-threadpool-size") return argv[index + 1];
    if (argument.startsWith("--uv-threadpool-size=")) return argument.slice("--uv-threadpool-size=".length);
  }
  return undefined;
}

/** Whether this process must run camelid again for libuv to start with the size argv asks for. */
export function needsRelaunch(argv, env) {
  const size = uvThreadpoolSizeFromArgv(argv);
  return size !== undefined && env.UV_THREADPOOL_SIZE !== size;
}

const RELAUNCHED = "CAMELID_RELAUNCHED_FOR_UV_THREADPOOL";

/**
 * Runs this script again with UV_THREADPOOL_SIZE from argv and resolves with its exit code. Signals that
 * would end this process are passed on instead, so the child shuts down as it would have itself.
 */
export function relaunchWithThreadpoolSize(argv) {
  const size = uvThreadpoolSizeFromArgv(argv);
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...argv], {
    stdio: ["inherit", "inherit", "inherit", "ipc"],
    env: { ...process.env, UV_THREADPOOL_SIZE: size, [RELAUNCHED]: "1" },
  });
  const relay = (signal) => child.kill(signal);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, relay);
  return new Promise((resolve) => {
    child.once("error", (error) => {
      process.stderr.write(`camelid: could not start with --uv-threadpool-size: ${error.message}\n`);
      resolve(1);
    });
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 + ({ SIGINT: 2, SIGHUP: 1, SIGKILL: 9, SIGTERM: 15 }[signal] ?? 0) : 1)));
  });
}

/** In the relaunched child: end like a SIGTERM when the relaying parent is gone (killed with SIGKILL, say). */
export function followParent() {
  if (process.env[RELAUNCHED] !== "1" || !process.channel) return;
  process.channel.unref();
  process.once("disconnect", () => process.kill(process.pid, "SIGTERM"));
}
