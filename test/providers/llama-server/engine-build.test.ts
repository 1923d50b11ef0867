import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../../src/cli/main.js";
import { EngineBinaryError } from "../../../src/errors/index.js";
import { bundledLlamaCppSource, cachedLlamaServerPath, readBundleHead, resolveLlamaServerBinary } from "../../../src/providers/llama-server/engine-binary.js";
import { buildLlamaServer, parseCompileProgress, type BuildEvent } from "../../../src/providers/llama-server/engine-build.js";
import { captureIo } from "../../support/capture-io.js";
import { temporaryDirectories } from "../../support/temporary-directories.js";

const newDirectory = temporaryDirectories("camelid-engine-build-");

/** A one-commit git repository bundled as node-llama-cpp bundles llama.cpp (HEAD in the bundle). */
function tinyBundle(): { bundlePath: string; commit: string } {
  const folder = newDirectory();
  const repo = join(folder, "repo");
  mkdirSync(repo);
  const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" } });
  git("init", "--quiet");
  writeFileSync(join(repo, "CMakeLists.txt"), "project(fake)\n");
  git("add", ".");
  git("commit", "--quiet", "-m", "llama.cpp stand-in");
  const bundlePath = join(folder, "gitRelease.bundle");
  git("bundle", "create", "--quiet", bundlePath, "HEAD");
  return { bundlePath, commit: git("rev-parse", "HEAD").trim() };
}

/**
 * A cmake stand-in on PATH: records its arguments; configure fails when FAKE_CMAKE_FAIL=configure; the build
 * prints ninja's counters and leaves an executable llama-server that answers --version.
 */
function fakeToolFolder(): { folder: string; calls: () => string[][] } {
  const folder = newDirectory();
  const record = join(folder, "calls.jsonl");
  const script = `#!/usr/bin/env node
const fs = require("node:fs");
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(record)}, JSON.stringify(args) + "\\n");
if (args[0] !== "--build") {
  if (process.env.FAKE_CMAKE_FAIL === "configure") { console.error("CMake Error: No CMAKE_CXX_COMPILER could be found."); process.exit(1); }
  console.log("-- Configuring done"); process.exit(0);
}
for (const line of ["[1/3] Building CXX object ggml.o", "[2/3] Building CXX object llama.o", "[3/3] Linking CXX executable bin/llama-server"]) console.log(line);
fs.mkdirSync(args[1] + "/bin", { recursive: true });
fs.writeFileSync(args[1] + "/bin/llama-server", "#!/bin/sh\\necho 'version: 7 (fake1234)'\\necho 'built with cc'\\n");
fs.chmodSync(args[1] + "/bin/llama-server", 0o755);
`;
  writeFileSync(join(folder, "cmake"), script);
  chmodSync(join(folder, "cmake"), 0o755);
  const calls = () => (existsSync(record) ? readFileSync(record, "utf8").trim().split("\n").map((line) => JSON.parse(line) as string[]) : []);
  return { folder, calls };
}

describe("camelid engine build", () => {
  it("parses ninja's and make's compile counters", () => {
    expect(parseCompileProgress("[12/214] Building CXX object src/llama.cpp.o")).toEqual({ done: 12, total: 214 });
    expect(parseCompileProgress("[ 45%] Building CXX object src/llama.cpp.o")).toEqual({ done: 45, total: 100 });
    expect(parseCompileProgress("-- Configuring done")).toBeUndefined();
  });

  it("reads the bundle's commit without git (node-llama-cpp's own bundle and a fresh one)", () => {
    const { bundlePath, commit } = tinyBundle();
    expect(readBundleHead(bundlePath)).toBe(commit);
    expect(bundledLlamaCppSource().commit).toMatch(/^[0-9a-f]{40}$/);
    const notBundle = join(newDirectory(), "x.bundle");
    writeFileSync(notBundle, "hello");
    expect(() => readBundleHead(notBundle)).toThrow(EngineBinaryError);
  });

  it("clones the bundle, configures with the recipe's flags, compiles llama-server alone with progress, checks it runs, then is a cache hit", async () => {
    const source = tinyBundle();
    const tools = fakeToolFolder();
    const cacheDir = newDirectory();
    const events: BuildEvent[] = [];
    const env = { ...process.env, PATH: `${tools.folder}:${process.env.PATH}` };
    const binary = await buildLlamaServer({ cacheDir, jobs: 2, env, source: () => source, onEvent: (event) => events.push(event) });
    expect(binary).toBe(cachedLlamaServerPath(cacheDir, source.commit));
    expect(binary).toContain(join("engines", "llama-server", source.commit.slice(0, 12)));
    const folder = join(cacheDir, "engines", "llama-server", source.commit.slice(0, 12));
    expect(execFileSync("git", ["-C", join(folder, "source"), "rev-parse", "HEAD"], { encoding: "utf8" }).trim()).toBe(source.commit);
    const [configure, compile] = tools.calls();
    expect(configure).toEqual(expect.arrayContaining(["-S", join(folder, "source"), "-B", join(folder, "build"), "-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_CURL=OFF", "-DGGML_NATIVE=ON"]));
    expect(compile).toEqual(["--build", join(folder, "build"), "--config", "Release", "--target", "llama-server", "-j", "2"]);
    expect(events.filter((event) => event.type === "step").map((event) => event.type === "step" && event.step)).toEqual(["clone", "clone", "configure", "compile", "check"]);
    expect(events.filter((event) => event.type === "compile-progress")).toEqual([
      { type: "compile-progress", done: 1, total: 3 },
      { type: "compile-progress", done: 2, total: 3 },
      { type: "compile-progress", done: 3, total: 3 },
    ]);
    expect(events.at(-1)).toEqual({ type: "built", binary, commit: source.commit, version: "version: 7 (fake1234)" });
    expect(readFileSync(join(folder, "build.log"), "utf8")).toContain("[2/3] Building CXX object llama.o");
    // The same llama.cpp again: nothing is run.
    const again: BuildEvent[] = [];
    expect(await buildLlamaServer({ cacheDir, env, source: () => source, onEvent: (event) => again.push(event) })).toBe(binary);
    expect(again).toEqual([{ type: "cached", binary, commit: source.commit }]);
    expect(tools.calls()).toHaveLength(2);
    // --force builds again, reusing the clone.
    const forced: BuildEvent[] = [];
    await buildLlamaServer({ cacheDir, env, force: true, source: () => source, onEvent: (event) => forced.push(event) });
    expect(forced.filter((event) => event.type === "step").map((event) => event.type === "step" && event.step)).toEqual(["configure", "compile", "check"]);
  });

  it("a failing step is an EngineBinaryError naming it and quoting the tool; a missing tool says what to install", async () => {
    const source = tinyBundle();
    const tools = fakeToolFolder();
    const cacheDir = newDirectory();
    const failing = buildLlamaServer({ cacheDir, env: { ...process.env, PATH: `${tools.folder}:${process.env.PATH}`, FAKE_CMAKE_FAIL: "configure" }, source: () => source });
    await expect(failing).rejects.toThrow(EngineBinaryError);
    await expect(failing).rejects.toThrow(/configure failed \(exit code 1\)[\s\S]*No CMAKE_CXX_COMPILER could be found[\s\S]*build\.log/);
    expect(existsSync(cachedLlamaServerPath(cacheDir, source.commit))).toBe(false);
    // A PATH with git but no cmake.
    const onlyGit = newDirectory();
    symlinkSync(execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim(), join(onlyGit, "git"));
    const noCmake = buildLlamaServer({ cacheDir: newDirectory(), env: { ...process.env, PATH: onlyGit }, source: () => source });
    await expect(noCmake).rejects.toThrow(/cmake is not installed .*install cmake .*--llama-server-bin/);
  });

  it("without --llama-server-bin or a build, the engine's error says how to get one; a bad path is named", () => {
    const cacheDir = newDirectory();
    expect(() => resolveLlamaServerBinary({ cacheDir })).toThrow(EngineBinaryError);
    expect(() => resolveLlamaServerBinary({ cacheDir })).toThrow(/none was given or built .*camelid engine build.*--llama-server-bin PATH/);
    expect(() => resolveLlamaServerBinary({ cacheDir, explicitBin: join(cacheDir, "nope") })).toThrow(/--llama-server-bin .*nope does not exist/);
    const notExecutable = join(cacheDir, "llama-server");
    writeFileSync(notExecutable, "");
    expect(() => resolveLlamaServerBinary({ cacheDir, explicitBin: notExecutable })).toThrow(/is not executable/);
  });

  it("`camelid engine path` and `build` find a cached build of node-llama-cpp's llama.cpp; --jobs is checked", async () => {
    const cacheDir = newDirectory();
    const missing = captureIo();
    expect(await main(["engine", "path", "--cache-dir", cacheDir], missing.io)).toBe(1);
    expect(missing.stderr()).toMatch(/camelid engine build/);
    const binary = cachedLlamaServerPath(cacheDir, bundledLlamaCppSource().commit);
    mkdirSync(join(binary, ".."), { recursive: true });
    writeFileSync(binary, "#!/bin/sh\necho version: 1\n");
    chmodSync(binary, 0o755);
    const path = captureIo();
    expect(await main(["engine", "path", "--cache-dir", cacheDir], path.io)).toBe(0);
    expect(path.stdout()).toBe(`${binary}\n`);
    const build = captureIo();
    expect(await main(["engine", "build", "--cache-dir", cacheDir], build.io)).toBe(0);
    expect(build.stdout()).toBe(`${binary}\n`);
    expect(build.stderr()).toMatch(/already built \(--force builds again\)/);
    const badJobs = captureIo();
    expect(await main(["engine", "build", "--jobs", "0", "--cache-dir", cacheDir], badJobs.io)).toBe(1);
    expect(badJobs.stderr()).toMatch(/--jobs must be an integer from 1 to 1024, got "0"/);
  });
});
