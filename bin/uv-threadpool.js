// libuv sizes its thread pool once, from UV_THREADPOOL_SIZE, when the first job is queued on it (the first
// asynchronous file read, DNS lookup or native addon job: tsx's loader may be that). So a command-line size
// has to reach the environment before anything else runs: bin/camelid.js calls this first. Plain JavaScript,
// because TypeScript is only compiled after that point. The command (`camelid serve`) validates the value and
// reports it; this only carries it over.

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

/** Sets UV_THREADPOOL_SIZE from argv (the flag wins over an inherited value); returns what was set. */
export function applyUvThreadpoolSize(argv, env) {
  const size = uvThreadpoolSizeFromArgv(argv);
  if (size !== undefined) env.UV_THREADPOOL_SIZE = size;
  return size;
}
