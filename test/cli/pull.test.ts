import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DownloadProgressView } from "../../src/cli/download-progress.js";
import { main } from "../../src/cli/main.js";
import { selectModel } from "../../src/cli/model-flags.js";
import { captureIo } from "../support/capture-io.js";
import { startFakeHub, type FakeHub } from "../support/fake-hub-server.js";
import { repoRoot } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";
import { COMMIT, tinyGguf } from "../hub/fixtures.js";

const newCache = temporaryDirectories("camelid-pull-cli-");
let hub: FakeHub;
const files: Record<string, Uint8Array> = {};
let big: Uint8Array;

beforeAll(async () => {
  for (const name of ["m-Q8_0.gguf", "m-f16.gguf"]) files[name] = await tinyGguf(name);
  big = await tinyGguf("big-Q8_0.gguf", 32_768);
  hub = await startFakeHub({
    "tiny/big": { commit: COMMIT, files: { "big-Q8_0.gguf": big } },
    "tiny/quants": { commit: COMMIT, files },
    "meta/gated": { commit: COMMIT, files: { "m-Q8_0.gguf": files["m-Q8_0.gguf"] }, gatedToken: "hf_right_token" },
  });
});
afterAll(() => hub.close());

const env = (cacheDir: string, extra: NodeJS.ProcessEnv = {}) => ({ HF_ENDPOINT: hub.endpoint, CAMELID_HOME: cacheDir, ...extra });

async function camelid(args: string[], environment: NodeJS.ProcessEnv) {
  const { io, stdout, stderr } = captureIo("", environment);
  const code = await main(args, io);
  return { code, stdout: stdout(), stderr: stderr() };
}

describe("camelid pull, list and rm", () => {
  it("pulls into CAMELID_HOME, lists with name, size, quant, date and path, serves the name to --model, removes it", async () => {
    const cacheDir = newCache();
    const pulled = await camelid(["pull", "hf:tiny/quants:q8_0"], env(cacheDir));
    expect(pulled.code).toBe(0);
    const path = join(cacheDir, "hub", "models--tiny--quants", "snapshots", COMMIT, "m-Q8_0.gguf");
    expect(pulled.stdout).toMatch(new RegExp(`^pulled hf:tiny/quants:Q8_0 \\(16\\.\\d KiB, sha256 [0-9a-f]{12}\\) → ${path}\\n$`));
    expect(pulled.stderr).toContain(`hf:tiny/quants:Q8_0: m-Q8_0.gguf (16.`);
    expect(pulled.stderr).toContain("sha256 verified");
    expect(pulled.stderr).toMatch(/\nhf:tiny\/quants:Q8_0 \[========================\] 100% 16\.2 KiB \/ 16\.2 KiB .* ETA 0s\n/);
    expect((await camelid(["pull", "hf:tiny/quants:F16"], env(cacheDir))).code).toBe(0);

    const listed = await camelid(["list"], env(cacheDir));
    const lines = listed.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+SIZE\s+QUANT\s+PULLED\s+PATH$/);
    expect(lines[1]).toMatch(new RegExp(`^hf:tiny/quants:F16\\s+16\\.\\d KiB\\s+F16\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d\\s+\\S+m-f16\\.gguf$`));
    expect(lines[2]).toMatch(new RegExp(`^hf:tiny/quants:Q8_0\\s+16\\.\\d KiB\\s+Q8_0\\s+.*  ${path}$`));
    const json = JSON.parse((await camelid(["list", "--json"], env(cacheDir))).stdout) as { name: string }[];
    expect(json.map((entry) => entry.name)).toEqual(["hf:tiny/quants:F16", "hf:tiny/quants:Q8_0"]);

    expect(selectModel({ model: "hf:tiny/quants:q8_0" }, { env: env(cacheDir), cwd: process.cwd() }).describe).toBe(path);
    expect(() => selectModel({ model: "hf:tiny/quants" }, { env: env(cacheDir), cwd: process.cwd() })).toThrow(/several/);
    expect(() => selectModel({ model: "hf:tiny/other:Q8_0" }, { env: env(cacheDir), cwd: process.cwd() })).toThrow(/no pulled model named "hf:tiny\/other:Q8_0".*camelid pull/);

    const refused = await camelid(["rm", "hf:tiny/quants:Q8_0", "hf:tiny/nothing:Q8_0"], env(cacheDir));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^camelid rm: no pulled model named "hf:tiny\/nothing:Q8_0"; pulled models: hf:tiny\/quants:F16, hf:tiny\/quants:Q8_0/);
    expect(existsSync(path)).toBe(true);

    const removed = await camelid(["rm", "hf:tiny/quants:Q8_0"], env(cacheDir));
    expect(removed).toMatchObject({ code: 0, stdout: "deleted hf:tiny/quants:Q8_0\n" });
    expect(existsSync(path)).toBe(false);
    expect(existsSync(join(cacheDir, "hub", "models--tiny--quants", "blobs", hub.sha256(files["m-Q8_0.gguf"])))).toBe(false);
    expect((await camelid(["list"], env(cacheDir))).stdout).not.toContain("Q8_0");
    expect(selectModel({ model: "hf:tiny/quants" }, { env: env(cacheDir), cwd: process.cwd() }).describe).toContain("m-f16.gguf");
  });

  it("--cache-dir wins over CAMELID_HOME", async () => {
    const fromEnv = newCache();
    const fromFlag = newCache();
    expect((await camelid(["pull", "hf:tiny/quants:F16", "--cache-dir", fromFlag], env(fromEnv))).code).toBe(0);
    expect(existsSync(join(fromFlag, "manifests"))).toBe(true);
    expect(existsSync(join(fromEnv, "manifests"))).toBe(false);
    // generate, chat and eval pick models with the same --cache-dir (they used to look only in the default cache)
    const io = { env: env(fromEnv), cwd: process.cwd() };
    expect(selectModel({ model: "hf:tiny/quants:F16", "cache-dir": fromFlag }, io).describe).toContain("m-f16.gguf");
    expect(() => selectModel({ model: "hf:tiny/quants:F16" }, io)).toThrow(/no pulled model named/);
  });

  it("says to set HF_TOKEN for a gated repo and never prints the token", async () => {
    const cacheDir = newCache();
    const anonymous = await camelid(["pull", "hf:meta/gated:Q8_0"], env(cacheDir));
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/^camelid pull: meta\/gated: the Hub refused access \(401: GatedRepo: .*set HF_TOKEN/);
    const wrong = await camelid(["pull", "hf:meta/gated:Q8_0"], env(cacheDir, { HF_TOKEN: "hf_wrong_secret" }));
    expect(wrong.stderr).toMatch(/403.*the token in HF_TOKEN has no access/);
    expect(wrong.stderr + wrong.stdout).not.toContain("hf_wrong_secret");
    expect((await camelid(["pull", "hf:meta/gated:Q8_0"], env(cacheDir, { HF_TOKEN: "hf_right_token" }))).code).toBe(0);
  });

  it("lists the choices when the quantisation is unknown", async () => {
    const result = await camelid(["pull", "hf:tiny/quants:Q2_K"], env(newCache()));
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('camelid pull: tiny/quants has no GGUF file matching "Q2_K"; choose one of:\n  m-Q8_0.gguf\n  m-f16.gguf\n');
  });

  it("rm refuses an unknown name; list says when nothing is pulled", async () => {
    const cacheDir = newCache();
    expect(await camelid(["rm", "hf:a/b:Q4_K_M"], env(cacheDir))).toMatchObject({ code: 1, stderr: expect.stringMatching(/nothing has been pulled yet/) });
    expect((await camelid(["list"], env(cacheDir))).stdout).toMatch(/^no models pulled into /);
  });

  it("two camelid processes pulling the same file: one downloads, the other waits on its lock and reuses the file", async () => {
    const cacheDir = newCache();
    const sha256 = hub.sha256(files["m-f16.gguf"]);
    let release!: () => void;
    hub.fault(`/cdn/${sha256}`, { type: "hold", until: new Promise<void>((resolve) => (release = resolve)) });
    const before = hub.requests.filter((request) => request.path === `/cdn/${sha256}`).length;
    const first = spawnPull(cacheDir, "hf:tiny/quants:F16");
    await hub.arrived(`/cdn/${sha256}`, before + 1);
    const second = spawnPull(cacheDir, "hf:tiny/quants:F16");
    await second.stderrContains("waiting for another pull of the same file");
    expect(second.stderr()).toContain(`(pid ${first.pid})`);
    release();
    const [a, b] = await Promise.all([first.exited, second.exited]);
    expect([a, b]).toEqual([0, 0]);
    expect(first.stdout()).toMatch(/^pulled hf:tiny\/quants:F16/);
    expect(second.stdout()).toMatch(/^already pulled hf:tiny\/quants:F16/);
    expect(hub.requests.filter((request) => request.path === `/cdn/${sha256}`).length - before).toBe(1);
    expect(readFileSync(join(cacheDir, "hub", "models--tiny--quants", "blobs", sha256)).equals(files["m-f16.gguf"])).toBe(true);
  });
});

describe("a pull killed mid-download", () => {
  it("leaves .incomplete and a lock naming a dead pid; the next pull takes the lock over and resumes with Range", async () => {
    const cacheDir = newCache();
    const sha256 = hub.sha256(big);
    expect(big.byteLength % 4).toBe(0);
    const threeQuarters = (big.byteLength / 4) * 3;
    hub.fault(`/cdn/${sha256}`, { type: "stall", afterBytes: threeQuarters });
    const child = spawnPull(cacheDir, "hf:tiny/big");
    // Off a terminal the progress line is printed at each quarter, after the bytes are on disk.
    await child.stderrContains("] 75% ");
    child.kill("SIGKILL");
    await child.exited;
    const blobs = join(cacheDir, "hub", "models--tiny--big", "blobs");
    const lockPath = join(cacheDir, "hub", ".locks", "models--tiny--big", `${sha256}.lock`);
    expect(statSync(join(blobs, `${sha256}.incomplete`)).size).toBe(threeQuarters);
    expect(readFileSync(lockPath, "utf8")).toBe(`${child.pid}\n`);

    const before = hub.requests.length;
    const resumed = await camelid(["pull", "hf:tiny/big"], env(cacheDir));
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(`resuming from byte ${threeQuarters}`);
    expect(hub.requests.slice(before).filter((request) => request.path.startsWith("/cdn/")).map((request) => request.range)).toEqual([`bytes=${threeQuarters}-`]);
    expect(readFileSync(join(blobs, sha256)).equals(big)).toBe(true);
    expect(existsSync(lockPath)).toBe(false);
  });
});

describe("the download progress line", () => {
  it("shows a bar, bytes, rate and ETA from this run's bytes only", () => {
    const written: string[] = [];
    let now = 0;
    const view = new DownloadProgressView("m.gguf", (text) => written.push(text), { isTTY: true, now: () => now });
    view.update({ downloaded: 1024 * 1024, total: 4 * 1024 * 1024, resumedFrom: 1024 * 1024 });
    now = 2000;
    view.update({ downloaded: 2 * 1024 * 1024, total: 4 * 1024 * 1024, resumedFrom: 1024 * 1024 });
    expect(written.at(-1)).toBe("\r\x1b[2Km.gguf [===========>            ] 50% 2.0 MiB / 4.0 MiB 512.0 KiB/s ETA 4s");
  });

  it("prints plain lines at each quarter when not on a terminal", () => {
    const written: string[] = [];
    const view = new DownloadProgressView("m.gguf", (text) => written.push(text), { isTTY: false, now: () => 0 });
    for (let downloaded = 0; downloaded <= 100; downloaded += 5) view.update({ downloaded, total: 100, resumedFrom: 0 });
    expect(written.map((line) => /(\d+)%/.exec(line)?.[1])).toEqual(["0", "25", "50", "75", "100"]);
    expect(written.every((line) => line.endsWith("\n") && !line.includes("\r"))).toBe(true);
  });
});

function spawnPull(cacheDir: string, reference: string) {
  const child = spawn(process.execPath, [join(repoRoot, "bin", "camelid.js"), "pull", reference], {
    cwd: repoRoot,
    env: { ...process.env, ...env(cacheDir) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const stderrWaiters: { text: string; resolve: () => void }[] = [];
  child.stdout.on("data", (data) => (stdout += String(data)));
  child.stderr.on("data", (data) => {
    stderr += String(data);
    for (const waiter of stderrWaiters.filter((entry) => stderr.includes(entry.text))) {
      stderrWaiters.splice(stderrWaiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    pid: child.pid,
    kill: (signal: NodeJS.Signals) => child.kill(signal),
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    stderrContains: (text: string) =>
      new Promise<void>((resolve, reject) => {
        if (stderr.includes(text)) return resolve();
        stderrWaiters.push({ text, resolve });
        void exited.then((code) => reject(new Error(`camelid pull exited (${code}) before printing "${text}": ${stderr}`)));
      }),
  };
}
