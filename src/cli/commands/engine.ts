// `camelid engine`: the llama-server engine's executable: build it from node-llama-cpp's llama.cpp, or say where it is.
import { parseArgs } from "node:util";
import { InvalidArgumentError } from "../../errors/index.js";
import { defaultCacheDir } from "../../hub/cache-layout.js";
import { formatDuration, ProgressReporter } from "../../progress/progress.js";
import { progressBar } from "../../train/progress.js";
import type { BuildEvent } from "../../providers/llama-server/engine-build.js";
import { SOURCE_BUILD_GPUS, type SourceBuildGpu } from "../../providers/local/source-build.js";
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
  --in-process      instead, rebuild the in-process engine's native binary: runs node-llama-cpp's own
                    offline source build (\`node-llama-cpp source download\` of the llama.cpp its
                    package bundles, native CPU flags, OpenMP; about 8 minutes on 2 cores). Its prebuilt
                    binary costs ~15% more CPU per token and slows down with 2 threads; with a local
                    build node-llama-cpp loads it by itself and camelid defaults to every usable core.
                    The build goes into node-llama-cpp's package (llama/localBuilds/); the command
                    prints how to remove it. Log: DIR/engines/node-llama-cpp/build.log
  --gpu TYPE        with --in-process: false (default: CPU only), auto, cuda, vulkan or metal
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
          (--in-process: node-llama-cpp's own source build of the in-process engine instead)
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

/** What `engine build` needs from outside: the two builders (tests inject fakes that run nothing). */
export interface EngineBuilders {
  llamaServer: typeof import("../../providers/llama-server/engine-build.js").buildLlamaServer;
  inProcess: typeof import("../../providers/local/source-build.js").buildInProcessEngine;
}

const realBuilders = async (): Promise<EngineBuilders> => ({
  llamaServer: (await import("../../providers/llama-server/engine-build.js")).buildLlamaServer,
  inProcess: (await import("../../providers/local/source-build.js")).buildInProcessEngine,
});

/** The compile progress bar and step lines both builds print. */
function buildReporter(io: CliIo) {
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
  const onEvent = (event: BuildEvent, cachedLine: (commit: string) => string) => {
    if (event.type === "cached") say(cachedLine(event.commit));
    else if (event.type === "step") say(`${event.step}: ${event.command}`);
    else if (event.type === "compile-progress") {
      last = event;
      reporter.update(event);
    } else if (event.type === "built") {
      if (last) reporter.finish(last);
      say(`built llama.cpp ${event.commit.slice(0, 12)}${event.version ? ` (${event.version})` : ""}`);
    }
  };
  return { say, onEvent };
}

async function build(argv: string[], io: CliIo, builders?: EngineBuilders): Promise<number> {
  const values = parse(argv, {
    "cache-dir": { type: "string" },
    jobs: { type: "string" },
    force: { type: "boolean" },
    "in-process": { type: "boolean" },
    gpu: { type: "string" },
  });
  const jobsText = values.jobs as string | undefined;
  const jobs = jobsText === undefined ? undefined : Number(jobsText);
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1 || jobs > 1024)) {
    throw new InvalidArgumentError("jobs", `--jobs must be an integer from 1 to 1024, got "${jobsText}"`);
  }
  const gpu = values.gpu as string | undefined;
  const inProcess = values["in-process"] === true;
  if (gpu !== undefined && !inProcess) throw new InvalidArgumentError("gpu", "--gpu applies to --in-process only (llama-server's build is CPU; use --llama-server-bin for your own GPU build)");
  if (gpu !== undefined && !(SOURCE_BUILD_GPUS as readonly string[]).includes(gpu)) {
    throw new InvalidArgumentError("gpu", `--gpu must be one of ${SOURCE_BUILD_GPUS.join(", ")}, got "${gpu}"`);
  }
  if (jobs !== undefined && inProcess) throw new InvalidArgumentError("jobs", "--jobs applies to the llama-server build only (node-llama-cpp's build picks its own)");
  const use = builders ?? (await realBuilders());
  const cacheDir = defaultCacheDir(io.env, values["cache-dir"] as string | undefined);
  const { say, onEvent } = buildReporter(io);
  if (inProcess) {
    const result = await use.inProcess({
      cacheDir,
      gpu: (gpu ?? "false") as SourceBuildGpu,
      force: values.force === true,
      env: io.env,
      onEvent: (event) => onEvent(event, () => "node-llama-cpp already loads a local build (--force builds again)"),
    });
    say(`node-llama-cpp now loads its ${result.buildType} binary from ${result.buildFolder} (build log: ${result.log})`);
    say(`to go back to node-llama-cpp's prebuilt binary: ${result.undo}`);
    io.stdout(`${result.buildFolder}\n`);
    return 0;
  }
  const binary = await use.llamaServer({
    cacheDir,
    ...(jobs !== undefined ? { jobs } : {}),
    force: values.force === true,
    env: io.env,
    onEvent: (event) => onEvent(event, (commit) => `llama-server for llama.cpp ${commit.slice(0, 12)} is already built (--force builds again)`),
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

export async function run(argv: string[], io: CliIo, builders?: EngineBuilders): Promise<number> {
  return runSubcommand("engine", argv, io, {
    help,
    helps: { build: buildHelp, path: pathHelp },
    handlers: { build: (args, subIo) => build(args, subIo, builders), path },
  });
}
