// `camelid engine`: the llama-server engine's executable: build it from node-llama-cpp's llama.cpp, or say where it is.
import { parseArgs } from "node:util";
import { InvalidArgumentError } from "../../errors/index.js";
import { defaultCacheDir } from "../../hub/cache-layout.js";
import { formatDuration, ProgressReporter } from "../../progress/progress.js";
import { progressBar } from "../../train/progress.js";
import type { CliIo } from "../io.js";
import { runSubcommand } from "../subcommands.js";

const buildHelp = `usage: camelid engine build [options]

Compiles llama.cpp's llama-server from the llama.cpp source node-llama-cpp carries (the same version the
in-process engine runs) into the cache, for \`serve --engine llama-server\`. Needs git, cmake (3.14+) and a
C++17 compiler; Ninja is used when installed. About 10 minutes on 2 cores. A finished build is reused.

options:
  --cache-dir DIR   camelid's cache (default $CAMELID_HOME, else ~/.cache/camelid); the build goes to
                    DIR/engines/llama-server/<llama.cpp commit>/ (build.log there)
  --jobs N          parallel compile jobs (default: every core)
  --force           build again even when a build exists
`;

const pathHelp = `usage: camelid engine path [--cache-dir DIR]

Prints the llama-server executable \`serve --engine llama-server\` runs when no --llama-server-bin is
given (the one \`camelid engine build\` made), or says how to get one.
`;

const help = `usage: camelid engine <build|path> [options]

The llama-server engine (serve --engine llama-server) runs llama.cpp's own server, one supervised
process per model. Its executable comes from \`camelid engine build\` or from --llama-server-bin PATH.

subcommands:
  build   compile llama-server from node-llama-cpp's llama.cpp source into the cache
  path    print the cached llama-server's path
`;

function parse(argv: string[], options: NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>["options"]>) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new InvalidArgumentError(/'(-{1,2}[^' ]+)/.exec(message)?.[1] ?? "arguments", message.replace(/\. To specify a positional argument.*$/s, ""));
  }
}

async function build(argv: string[], io: CliIo): Promise<number> {
  const values = parse(argv, { "cache-dir": { type: "string" }, jobs: { type: "string" }, force: { type: "boolean" } });
  const jobsText = values.jobs as string | undefined;
  const jobs = jobsText === undefined ? undefined : Number(jobsText);
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1 || jobs > 1024)) {
    throw new InvalidArgumentError("jobs", `--jobs must be an integer from 1 to 1024, got "${jobsText}"`);
  }
  const { buildLlamaServer } = await import("../../providers/llama-server/engine-build.js");
  const say = (line: string) => io.stderr(`camelid engine build: ${line}\n`);
  const reporter = new ProgressReporter<{ done: number; total: number }>(
    (text) => io.stderr(text),
    ({ done, total }, elapsedSeconds, doneThisSession) => {
      const eta = doneThisSession > 0 && done < total ? `, ETA ${formatDuration(((total - done) / doneThisSession) * elapsedSeconds * 1000)}` : "";
      return `camelid engine build: compile [${progressBar(total > 0 ? done / total : 0)}] ${done}/${total}, elapsed ${formatDuration(elapsedSeconds * 1000)}${eta}`;
    },
    { isTTY: io.isTTY },
  );
  let last: { done: number; total: number } | undefined;
  const binary = await buildLlamaServer({
    cacheDir: defaultCacheDir(io.env, values["cache-dir"] as string | undefined),
    ...(jobs !== undefined ? { jobs } : {}),
    force: values.force === true,
    env: io.env,
    onEvent: (event) => {
      if (event.type === "cached") say(`llama-server for llama.cpp ${event.commit.slice(0, 12)} is already built (--force builds again)`);
      else if (event.type === "step") say(`${event.step}: ${event.command}`);
      else if (event.type === "compile-progress") {
        last = event;
        reporter.update(event);
      } else if (event.type === "built") {
        if (last) reporter.finish(last);
        say(`built llama.cpp ${event.commit.slice(0, 12)}${event.version ? ` (${event.version})` : ""}`);
      }
    },
  });
  io.stdout(`${binary}\n`);
  return 0;
}

async function path(argv: string[], io: CliIo): Promise<number> {
  const values = parse(argv, { "cache-dir": { type: "string" } });
  const { resolveLlamaServerBinary } = await import("../../providers/llama-server/engine-binary.js");
  io.stdout(`${resolveLlamaServerBinary({ cacheDir: defaultCacheDir(io.env, values["cache-dir"] as string | undefined) })}\n`);
  return 0;
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  return runSubcommand("engine", argv, io, { help, helps: { build: buildHelp, path: pathHelp }, handlers: { build, path } });
}
