// `camelid engine build --in-process`: the commands it runs (node-llama-cpp's offline source build, then a
// check of which binary node-llama-cpp loads), with an injected runner: no real 8-minute build here.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { run as engine, type EngineBuilders } from "../../../src/cli/commands/engine.js";
import type { CliIo } from "../../../src/cli/io.js";
import { EngineBinaryError, InvalidArgumentError } from "../../../src/errors/index.js";
import type { BuildEvent, RunOptions } from "../../../src/providers/llama-server/engine-build.js";
import { buildInProcessEngine, sourceBuildArgs } from "../../../src/providers/local/source-build.js";

let root: string;
let pkg: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "camelid-source-build-"));
  pkg = join(root, "node-llama-cpp");
  mkdirSync(join(pkg, "llama"), { recursive: true });
  writeFileSync(join(pkg, "llama", "binariesGithubRelease.json"), JSON.stringify({ release: "v0.5.0" }));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A runner that records each command; the compile step "builds" (a localBuilds folder, ninja counters), the check reports `loads`. */
function fakeRunner(loads: () => string) {
  const calls: RunOptions[] = [];
  const run = async (options: RunOptions) => {
    calls.push(options);
    if (options.step === "compile") {
      mkdirSync(join(pkg, "llama", "localBuilds", "linux-x64"), { recursive: true });
      for (const line of ["Cloning ggml-org/llama.cpp (local bundle) 5%", "[1/153] Building C object ggml.c.o", "[153/153] Linking CXX shared library Release/llama-addon.node"]) options.onLine?.(line);
      return "Compiled llama.cpp\n";
    }
    return `buildType=${loads()}\n`;
  };
  return { calls, run };
}

describe("node-llama-cpp's source build (engine build --in-process)", () => {
  it("runs node-llama-cpp's offline source download of its bundled release, CPU only by default, then checks it loads the local build", async () => {
    let built = false;
    const { calls, run } = fakeRunner(() => (built ? "localBuild" : "prebuilt"));
    const events: BuildEvent[] = [];
    const result = await buildInProcessEngine({
      cacheDir: join(root, "cache"),
      packageFolder: pkg,
      run: async (options) => {
        const output = await run(options);
        if (options.step === "compile") built = true;
        return output;
      },
      onEvent: (event) => events.push(event),
    });
    expect(calls.map((call) => call.step)).toEqual(["compile", "check"]);
    expect(calls[0].command).toBe(process.execPath);
    expect(calls[0].args).toEqual([join(pkg, "dist", "cli", "cli.js"), "source", "download", "--release", "v0.5.0", "--gpu", "false", "--noUsageExample"]);
    expect(calls[1].args).toEqual([join(root, "cache", "engines", "node-llama-cpp", "probe-build-type.mjs")]);
    expect(readFileSync(calls[1].args[0], "utf8")).toContain('build: "never"');
    expect(events.filter((event) => event.type === "compile-progress")).toEqual([
      { type: "compile-progress", done: 1, total: 153 },
      { type: "compile-progress", done: 153, total: 153 },
    ]);
    expect(events.at(-1)).toMatchObject({ type: "built", binary: join(pkg, "llama", "localBuilds"), commit: "v0.5.0" });
    expect(result).toMatchObject({ buildFolder: join(pkg, "llama", "localBuilds"), buildType: "localBuild", cached: false, log: join(root, "cache", "engines", "node-llama-cpp", "build.log") });
    expect(result.undo).toBe(`node ${join(pkg, "dist", "cli", "cli.js")} source clear`);
  });

  it("passes --gpu through, and rebuilds an existing local build only with force", async () => {
    const { calls, run } = fakeRunner(() => "localBuild");
    mkdirSync(join(pkg, "llama", "localBuilds", "linux-x64"), { recursive: true });
    const cached = await buildInProcessEngine({ cacheDir: join(root, "cache"), packageFolder: pkg, run });
    expect(cached.cached).toBe(true);
    expect(calls.map((call) => call.step)).toEqual(["check"]);
    await buildInProcessEngine({ cacheDir: join(root, "cache"), packageFolder: pkg, run, force: true, gpu: "cuda" });
    expect(calls.map((call) => call.step)).toEqual(["check", "compile", "check"]);
    expect(calls[1].args.slice(1)).toEqual(sourceBuildArgs("v0.5.0", "cuda"));
    expect(sourceBuildArgs("v0.5.0", "cuda")).toContain("cuda");
  });

  it("fails with a named error when node-llama-cpp still loads its prebuilt binary after the build, or the release is unknown", async () => {
    const { run } = fakeRunner(() => "prebuilt");
    await expect(buildInProcessEngine({ cacheDir: join(root, "cache"), packageFolder: pkg, run })).rejects.toThrow(EngineBinaryError);
    await expect(buildInProcessEngine({ cacheDir: join(root, "cache"), packageFolder: pkg, run })).rejects.toThrow(/still loads its prebuilt binary/);
    rmSync(join(pkg, "llama", "binariesGithubRelease.json"));
    rmSync(join(pkg, "llama", "localBuilds"), { recursive: true });
    await expect(buildInProcessEngine({ cacheDir: join(root, "cache"), packageFolder: pkg, run })).rejects.toThrow(/cannot read the llama.cpp release/);
  });
});

describe("camelid engine build --in-process", () => {
  function captureIo(): CliIo & { out: string; err: string } {
    const io = { out: "", err: "", stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t), stdin: process.stdin, isTTY: false, env: { CAMELID_HOME: root }, cwd: root };
    return io;
  }
  function fakeBuilders() {
    const seen: { llamaServer: unknown[]; inProcess: Parameters<EngineBuilders["inProcess"]>[0][] } = { llamaServer: [], inProcess: [] };
    const builders: EngineBuilders = {
      llamaServer: async (options) => {
        seen.llamaServer.push(options);
        return "/cache/llama-server";
      },
      inProcess: async (options) => {
        seen.inProcess.push(options);
        options.onEvent?.({ type: "compile-progress", done: 153, total: 153 });
        options.onEvent?.({ type: "built", binary: "/nlc/llama/localBuilds", commit: "v0.5.0", version: "" });
        return { buildFolder: "/nlc/llama/localBuilds", buildType: "localBuild", undo: "node /nlc/dist/cli/cli.js source clear", log: "/cache/build.log", cached: false };
      },
    };
    return { seen, builders };
  }

  it("runs the in-process build (CPU only unless --gpu), says where it went and how to undo it; plain build stays llama-server's", async () => {
    const { seen, builders } = fakeBuilders();
    const io = captureIo();
    expect(await engine(["build", "--in-process"], io, builders)).toBe(0);
    expect(seen.llamaServer).toHaveLength(0);
    expect(seen.inProcess[0]).toMatchObject({ gpu: "false", force: false, cacheDir: root });
    expect(io.out).toBe("/nlc/llama/localBuilds\n");
    expect(io.err).toContain("node-llama-cpp now loads its localBuild binary from /nlc/llama/localBuilds");
    expect(io.err).toContain("to go back to node-llama-cpp's prebuilt binary: node /nlc/dist/cli/cli.js source clear");
    expect(io.err).toContain("compile [");
    expect(await engine(["build", "--in-process", "--gpu", "vulkan", "--force"], captureIo(), builders)).toBe(0);
    expect(seen.inProcess[1]).toMatchObject({ gpu: "vulkan", force: true });
    expect(await engine(["build"], captureIo(), builders)).toBe(0);
    expect(seen.llamaServer).toHaveLength(1);
    expect(seen.inProcess).toHaveLength(2);
  });

  it("names a bad or misplaced --gpu / --jobs", async () => {
    const { builders } = fakeBuilders();
    await expect(engine(["build", "--in-process", "--gpu", "rocm"], captureIo(), builders)).rejects.toThrow(InvalidArgumentError);
    await expect(engine(["build", "--gpu", "cuda"], captureIo(), builders)).rejects.toThrow(/--gpu applies to --in-process only/);
    await expect(engine(["build", "--in-process", "--jobs", "2"], captureIo(), builders)).rejects.toThrow(/--jobs applies to the llama-server build only/);
    const io = captureIo();
    expect(await engine(["build", "--help"], io, builders)).toBe(0);
    expect(io.out + io.err).toContain("--in-process");
  });
});
