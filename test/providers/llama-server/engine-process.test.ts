import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { ModelLoadError } from "../../../src/errors/index.js";
import { EngineLog } from "../../../src/providers/llama-server/engine-log.js";
import { EngineProcess } from "../../../src/providers/llama-server/engine-process.js";
import { writeFakeLlamaServer } from "../../support/fake-llama-server.js";
import { repoRoot } from "../../support/shared-data.js";
import { isProcessAlive } from "../../support/processes.js";
import { temporaryDirectories } from "../../support/temporary-directories.js";
import { waitFor, waitUntil } from "../../support/wait-for.js";

const newDirectory = temporaryDirectories("camelid-engine-process-");


describe("EngineLog", () => {
  it("keeps the file under its cap by moving it to .1, and remembers the last lines (split chunks included)", () => {
    const folder = newDirectory();
    const log = new EngineLog(join(folder, "deep", "m.log"), 100, 3);
    log.write("first line\nsecond ");
    log.write("line\n");
    expect(log.tail()).toBe("first line\nsecond line");
    log.write("x".repeat(90) + "\n");
    expect(readFileSync(join(folder, "deep", "m.log.1"), "utf8")).toBe("first line\nsecond line\n");
    expect(readFileSync(log.path, "utf8")).toBe("x".repeat(90) + "\n");
    log.note("restarted");
    expect(log.tail(1)).toMatch(/^camelid: \d{4}-.* restarted$/);
    expect(log.tail().split("\n")).toHaveLength(3);
  });
});

describe("EngineProcess (a fake llama-server: process behaviour only)", () => {
  it("starts through the watchdog on a loopback port, waits for /health 200, logs, and stops with nothing left", async () => {
    const folder = newDirectory();
    const log = new EngineLog(join(folder, "model.log"));
    const engine = await EngineProcess.start({ binary: writeFakeLlamaServer(folder), args: [], log, modelPath: "fake.gguf", readyTimeoutMs: 60_000 });
    expect(engine.baseURL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await engine.healthy()).toBe(true);
    const serverPid = (await engine.serverPid())!;
    expect(serverPid).toBeGreaterThan(0);
    expect(serverPid).not.toBe(engine.watchdogPid);
    expect(isProcessAlive(serverPid)).toBe(true);
    await engine.stop();
    expect(isProcessAlive(serverPid)).toBe(false);
    const text = readFileSync(log.path, "utf8");
    expect(text).toContain("fake llama-server listening on 127.0.0.1");
    expect(text).toContain("camelid: ");
    expect(text).toMatch(/exited \(code 0\)/);
  });

  it("a process that exits before it is ready is a ModelLoadError naming the model and quoting its last output", async () => {
    const folder = newDirectory();
    const log = new EngineLog(join(folder, "model.log"));
    const start = EngineProcess.start({ binary: writeFakeLlamaServer(folder), args: ["--fail-at-start"], log, modelPath: "broken.gguf", readyTimeoutMs: 60_000 });
    await expect(start).rejects.toThrow(ModelLoadError);
    await expect(start).rejects.toThrow(/exited before it was ready \(code 1\) loading broken\.gguf[\s\S]*fake: cannot load the model/);
  });

  it("leaves no llama-server behind when its parent is killed with SIGKILL (the watchdog sees stdin close)", async () => {
    const folder = newDirectory();
    const binary = writeFakeLlamaServer(folder);
    const moduleUrl = pathToFileURL(join(repoRoot, "src/providers/llama-server/engine-process.ts")).href;
    const logUrl = pathToFileURL(join(repoRoot, "src/providers/llama-server/engine-log.ts")).href;
    const script = `
      const { EngineProcess } = await import(${JSON.stringify(moduleUrl)});
      const { EngineLog } = await import(${JSON.stringify(logUrl)});
      const log = new EngineLog(${JSON.stringify(join(folder, "parent.log"))});
      const engine = await EngineProcess.start({ binary: ${JSON.stringify(binary)}, args: [], log, modelPath: "fake.gguf", readyTimeoutMs: 60000 });
      console.log("pids " + (await engine.serverPid()) + " " + engine.watchdogPid);
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    parent.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const line = await waitFor(() => /pids (\d+) (\d+)/.exec(output), (match) => match !== null, { what: "the parent to report the pids" });
    const [serverPid, watchdogPid] = [Number(line![1]), Number(line![2])];
    expect(isProcessAlive(serverPid)).toBe(true);
    parent.kill("SIGKILL");
    await waitUntil(() => !isProcessAlive(serverPid) && !isProcessAlive(watchdogPid), { what: "llama-server and its watchdog to exit after the parent's SIGKILL" });
  });
});
