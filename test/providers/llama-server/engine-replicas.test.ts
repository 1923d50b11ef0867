// Replica sets whose replicas are llama-server engines of this server, and the engine's process state in
// /v1/models, against the real llama-server and stories260K.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/errors/index.js";
import { createLlamaServerModel } from "../../../src/providers/llama-server/index.js";
import { createReplicaSetModel } from "../../../src/providers/replica-set/index.js";
import { resolveServeConfig } from "../../../src/server/config.js";
import { describeWithLlamaServer } from "../../support/llama-server-binary.js";
import { isProcessAlive } from "../../support/processes.js";
import { serveInProcess, type ServeInProcess } from "../../support/serve-in-process.js";
import { stories260KPath } from "../../support/shared-data.js";
import { temporaryDirectories } from "../../support/temporary-directories.js";
import { waitFor, waitUntil } from "../../support/wait-for.js";

const newDirectory = temporaryDirectories("camelid-engine-replicas-");
const messages = [{ role: "user" as const, content: "Tell me a story about a cat." }];

function configIn(folder: string, config: unknown) {
  writeFileSync(join(folder, "camelid.json"), JSON.stringify(config));
  return () => resolveServeConfig({ config: "camelid.json" }, {}, folder);
}

describe("replica sets: a replica may be a llama-server engine (config)", () => {
  it("a path replica is an engine with the local-model settings over the defaults, its concurrency its sequences, its path relative to the config file", () => {
    const folder = newDirectory();
    mkdirSync(join(folder, "bin"));
    writeFileSync(join(folder, "m.gguf"), "");
    const config = configIn(folder, {
      defaults: { threads: 2, keepAliveSeconds: 60 },
      replicaSets: [
        {
          id: "stories",
          replicas: [
            { path: "m.gguf", engine: "llama-server", sequences: 2, llamaServerBin: "bin/llama-server" },
            { name: "big", path: stories260KPath(), keepAliveSeconds: -1, speed: 2 },
            { url: "http://127.0.0.1:9/v1" },
          ],
        },
      ],
    })();
    const [first, second, remote] = config.replicaSets![0].replicas;
    expect(first).toMatchObject({ kind: "engine", name: "engine-1", concurrency: 2, speed: 1 });
    expect(first.kind === "engine" && first.model).toMatchObject({
      id: "stories.engine-1",
      path: join(folder, "m.gguf"),
      engine: "llama-server",
      sequences: 2,
      threads: 2,
      keepAliveSeconds: 60,
      llamaServerBin: join(folder, "bin/llama-server"),
    });
    expect(second).toMatchObject({ kind: "engine", name: "big", concurrency: 4, speed: 2 });
    expect(second.kind === "engine" && second.model).toMatchObject({ engine: "llama-server", keepAliveSeconds: -1 });
    expect(remote).toMatchObject({ kind: "url", name: "http://127.0.0.1:9/v1", baseURL: "http://127.0.0.1:9/v1", concurrency: 16 });
  });

  it("exactly one of url or path; a setting of the other kind is named; a bad setting gets the shared schema's message; a missing file is named", () => {
    const folder = newDirectory();
    const setWith = (replica: unknown) => configIn(folder, { replicaSets: [{ id: "s", replicas: [replica] }] });
    expect(setWith({ url: "http://127.0.0.1:9/v1", path: "m.gguf" })).toThrow(/"replicaSets\[0\]\.replicas\[0\]": give exactly one of "url" \(an OpenAI-compatible server\) or "path"/);
    expect(setWith({ name: "x" })).toThrow(/give exactly one of "url"/);
    expect(setWith({ path: "m.gguf", flavor: "vllm" })).toThrow(/"replicaSets\[0\]\.replicas\[0\]\.flavor": is a setting of a "url" replica/);
    expect(setWith({ url: "http://127.0.0.1:9/v1", threads: 2 })).toThrow(/"replicaSets\[0\]\.replicas\[0\]\.threads": is a setting of a "path" \(engine\) replica/);
    expect(setWith({ path: "m.gguf", sequences: 0 })).toThrow(/"replicaSets\[0\]\.replicas\[0\]\.sequences": must be an integer from 1 to 64, got 0/);
    expect(setWith({ path: "m.gguf", engine: "node-llama-cpp" })).toThrow(/"llama-server" is the only engine a replica can have/);
    expect(setWith({ path: "missing.gguf" })).toThrow(ConfigError);
    expect(setWith({ path: "missing.gguf" })).toThrow(/missing\.gguf does not exist/);
  });
});

/** `name{labels} value` from a Prometheus text page. */
function metric(page: string, name: string, labels: string): number | undefined {
  const line = page.split("\n").find((row) => row.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

async function chat(url: string, model: string) {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages, temperature: 0, max_tokens: 32 }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, any> };
}

/** The pid llama-server reported when it last became ready, from its log. */
function readyPid(log: string): number | undefined {
  if (!existsSync(log)) return undefined;
  const all = [...readFileSync(log, "utf8").matchAll(/llama-server pid (\d+) ready/g)];
  return all.length ? Number(all.at(-1)![1]) : undefined;
}

describeWithLlamaServer("replica sets of llama-server engines (real llama-server, stories260K)", (binary) => {
  let served: ServeInProcess;
  let dataDir: string;
  const engine = { path: stories260KPath(), engine: "llama-server", llamaServerBin: binary, sequences: 1 };
  const processOf = async (id: string) => ((await (await fetch(`${served.url}/v1/models/${id}`)).json()) as { status: { value: string; process?: string } }).status;
  const metrics = async () => (await fetch(`${served.url}/metrics`)).text();

  beforeAll(async () => {
    dataDir = newDirectory();
    writeConfig(dataDir);
    served = await serveInProcess(["--config", join(dataDir, "camelid.json"), "--port", "0", "--data-dir", dataDir]);
  }, 180_000);

  function writeConfig(folder: string) {
    writeFileSync(
      join(folder, "camelid.json"),
      JSON.stringify({
        models: [
          { id: "direct", ...engine, keepAliveSeconds: -1 },
          { id: "idle", ...engine, keepAliveSeconds: 0 },
        ],
        replicaSets: [
          {
            id: "stories",
            // One probe round at startup only: the test decides when a replica fails, no probe races it.
            healthCheck: { intervalMs: 3_600_000, timeoutMs: 60_000 },
            replicas: [
              { name: "a", ...engine, keepAliveSeconds: -1 },
              { name: "b", ...engine, keepAliveSeconds: -1 },
            ],
          },
        ],
      }),
    );
  }

  afterAll(async () => {
    await served?.stop();
  });

  it("answers greedy chat from either engine replica exactly as a direct engine does", async () => {
    const direct = await chat(served.url, "direct");
    expect(direct.status).toBe(200);
    const reference = direct.json.choices[0].message.content as string;
    expect(reference.length).toBeGreaterThan(0);
    // Least loaded, ties in turn: the first request goes to a, the second to b; each starts its engine.
    for (const replica of ["a", "b"]) {
      const reply = await chat(served.url, "stories");
      expect(reply.status).toBe(200);
      expect(reply.json.choices[0].message.content).toBe(reference);
      expect(metric(await metrics(), "camelid_replica_requests_total", `model="stories",replica="${replica}"`)).toBe(1);
    }
  }, 180_000);

  it("a request on an engine whose llama-server is killed under it fails over to the other engine and succeeds; the per-replica metrics show it", async () => {
    const reference = (await chat(served.url, "direct")).json.choices[0].message.content as string;
    const pid = readyPid(join(dataDir, "engines", "stories.a.log"))!;
    expect(isProcessAlive(pid)).toBe(true);
    // Frozen first, so the request is surely inside engine a (its connection accepted, no answer) when the kill lands.
    process.kill(pid, "SIGSTOP");
    const pending = chat(served.url, "stories");
    await waitFor(metrics, (page) => metric(page, "camelid_replica_in_flight", 'model="stories",replica="a"') === 1, { what: "the request to reach replica a" });
    process.kill(pid, "SIGKILL");
    const reply = await pending;
    expect(reply.status).toBe(200);
    expect(reply.json.choices[0].message.content).toBe(reference);
    const page = await metrics();
    expect(metric(page, "camelid_replica_failovers_total", 'model="stories",replica="a"')).toBe(1);
    expect(metric(page, "camelid_replica_failures_total", 'model="stories",replica="a"')).toBe(1);
    expect(metric(page, "camelid_replica_healthy", 'model="stories",replica="a"')).toBe(0);
    expect(metric(page, "camelid_replica_requests_total", 'model="stories",replica="b"')).toBe(2);
    expect(metric(page, "camelid_replica_failures_total", 'model="stories",replica="b"')).toBe(0);
  }, 180_000);

  it("/v1/models shows an engine model's process: ready while it runs, crashed-backing-off after a crash, stopped when idle", async () => {
    expect(await processOf("idle")).toEqual({ value: "unloaded" });
    expect(await processOf("direct")).toEqual({ value: "ready", process: "ready" });
    const pid = readyPid(join(dataDir, "engines", "direct.log"))!;
    process.kill(pid, "SIGKILL");
    await waitFor(() => processOf("direct"), (status) => status.process === "crashed-backing-off", { what: "the crash to show in /v1/models" });
    expect((await chat(served.url, "direct")).status).toBe(200);
    expect(await processOf("direct")).toEqual({ value: "ready", process: "ready" });
    // keep-alive 0: the process ends with the request; the model stays served.
    expect((await chat(served.url, "idle")).status).toBe(200);
    await waitFor(() => processOf("idle"), (status) => status.process === "stopped", { what: "the idle engine to stop" });
    expect(await processOf("idle")).toEqual({ value: "ready", process: "stopped" });
  }, 180_000);
});

describeWithLlamaServer("an engine replica's health check (real llama-server)", (binary) => {
  it("an idle engine is healthy without starting; a crashed one is unhealthy, and the check starts it again", async () => {
    const folder = newDirectory();
    const model = createLlamaServerModel({ modelPath: stories260KPath(), llamaServerBin: binary, logDir: folder, cacheDir: folder, sequences: 1, keepAliveSeconds: -1, retryAfterCrash: false });
    const set = createReplicaSetModel({ modelId: "s", replicas: [{ name: "a", model, probe: () => model.checkEngine() }], healthCheck: { intervalMs: 3_600_000, timeoutMs: 60_000 } });
    try {
      await set.checkHealth();
      expect(set.pool.status()[0]).toMatchObject({ healthy: true });
      expect(model.engineStats()).toBeUndefined(); // nothing was started to answer the check
      await set.doGenerate({ prompt: "Once", maxTokens: 4, temperature: 0 });
      const pid = (await model.enginePid())!;
      process.kill(pid, "SIGKILL");
      await waitUntil(() => model.processState() === "crashed-backing-off", { what: "the supervisor to see the crash" });
      await set.checkHealth();
      expect(set.pool.status()[0]).toMatchObject({ healthy: false, lastError: expect.stringMatching(/llama-server crashed; it is starting again/) });
      await waitUntil(() => model.processState() === "ready", { what: "the health check's restart" });
      await set.checkHealth();
      expect(set.pool.status()[0]).toMatchObject({ healthy: true });
      expect(model.engineStats()).toMatchObject({ starts: 2, crashes: 1 });
    } finally {
      await set.dispose!();
    }
  }, 180_000);
});
