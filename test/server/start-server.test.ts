import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { ServeConfig } from "../../src/server/config.js";
import { startServer, type ModelFactories } from "../../src/server/server.js";
import type { LocalModelConfig } from "../../src/server/config.js";
import { writeFinishedRun, writeMtBenchResults } from "../web/support/train-eval-data.js";
import { FakeModel } from "./support/fake-model.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function config(overrides: Partial<ServeConfig> = {}): ServeConfig {
  const dataDir = mkdtempSync(join(tmpdir(), "camelid-start-"));
  dirs.push(dataDir);
  return {
    host: "127.0.0.1",
    port: 0,
    dataDir,
    loading: "lazy",
    localModels: [{ id: "local-a", path: "/models/a.gguf", sequences: 2, lora: [], maxQueue: 4 }],
    localDefaults: { sequences: 2, maxQueue: 4 },
    remoteModels: [
      { id: "remote-b", upstreamId: "b", upstream: "up", baseURL: "http://127.0.0.1:1/v1", api: "chat", concurrency: 3, maxQueue: 4 },
    ],
    apiKeys: [],
    maxBodyBytes: 1024,
    retryAfterSeconds: 2,
    corsOrigins: [],
    allowedHosts: [],
    requestBodyTimeoutMs: 30_000,
    requestLog: { enabled: true, retentionDays: 30 },
    ...overrides,
  };
}

function countingFactories() {
  const loads: string[] = [];
  const factories: ModelFactories = {
    local: (model) => (loads.push(model.id), new FakeModel({ modelId: model.id })),
    remote: (model) => (loads.push(model.id), new FakeModel({ modelId: model.id })),
  };
  return { loads, factories };
}

describe("startServer", () => {
  it("loads lazily by default: nothing until the first request, then only that model", async () => {
    const { loads, factories } = countingFactories();
    const server = await startServer(config(), factories);
    try {
      expect(loads).toEqual([]);
      const health = await (await fetch(`${server.url}/health`)).json();
      expect(health.models.map((m: { id: string; state: string; capacity: number }) => [m.id, m.state, m.capacity])).toEqual([
        ["local-a", "unloaded", 2],
        ["remote-b", "unloaded", 3],
      ]);
      const response = await fetch(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "remote-b", prompt: "Once", max_tokens: 2 }) });
      expect((await response.json()).choices[0].text).toBe("Once upon");
      expect(loads).toEqual(["remote-b"]);
      const models = await (await fetch(`${server.url}/v1/models`)).json();
      expect(models.data.map((m: { owned_by: string }) => m.owned_by)).toEqual(["camelid", "up"]);
    } finally {
      await server.close();
    }
  });

  it("loads every model before listening when eager, and applies the body limit from config", async () => {
    const { loads, factories } = countingFactories();
    const server = await startServer(config({ loading: "eager" }), factories);
    try {
      expect(loads.sort()).toEqual(["local-a", "remote-b"]);
      const health = await (await fetch(`${server.url}/health`)).json();
      expect(health.models.every((m: { state: string }) => m.state === "ready")).toBe(true);
      const big = await fetch(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "local-a", prompt: "x".repeat(2000) }) });
      expect(big.status).toBe(413);
      expect(await (await fetch(`${server.url}/metrics`)).text()).toContain('camelid_http_errors_total{status="413"} 1');
    } finally {
      await server.close();
    }
  });

  it("starts when an eager model cannot load: reports it, marks it failed and serves the others", async () => {
    const factories: ModelFactories = {
      local: () => {
        throw new Error("not a GGUF file");
      },
      remote: (model) => new FakeModel({ modelId: model.id }),
    };
    const lines: string[] = [];
    const server = await startServer(config({ loading: "eager" }), factories, (line) => lines.push(line));
    try {
      expect(lines.join("\n")).toMatch(/loaded 1 of 2 model\(s\)/);
      expect(lines.join("\n")).toMatch(/model "local-a" failed to load.*not a GGUF file/);
      const health = await (await fetch(`${server.url}/health`)).json();
      expect(health.models.map((m: { id: string; state: string }) => [m.id, m.state])).toEqual([
        ["local-a", "failed"],
        ["remote-b", "ready"],
      ]);
      const good = await fetch(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "remote-b", prompt: "Once", max_tokens: 2 }) });
      expect((await good.json()).choices[0].text).toBe("Once upon");
      const bad = await fetch(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "local-a", prompt: "Once" }) });
      expect(bad.status).toBe(503);
      expect((await bad.json()).error.message).toMatch(/not a GGUF file/);
    } finally {
      await server.close();
    }
  });

  it("shows <data dir>/runs and <data dir>/eval, and serves a run's adapter through the local factory with the server's defaults", async () => {
    const settings = config({ localDefaults: { sequences: 3, maxQueue: 5, contextSize: 128 } });
    const folder = await writeFinishedRun(join(settings.dataDir, "runs"), "first");
    writeMtBenchResults(join(settings.dataDir, "eval"), "mt-bench");
    const built: LocalModelConfig[] = [];
    const factories: ModelFactories = {
      local: (model) => (built.push(model), new FakeModel({ modelId: model.id })),
      remote: (model) => new FakeModel({ modelId: model.id }),
    };
    const server = await startServer(settings, factories);
    try {
      const runs = await (await fetch(`${server.url}/api/train/runs`)).json();
      expect(runs.data.map((run: { name: string; state: string }) => [run.name, run.state])).toEqual([["first", "finished"]]);
      expect(runs.can_serve).toBe(true);
      const results = await (await fetch(`${server.url}/api/eval/results`)).json();
      expect(results.data.map((result: { name: string }) => result.name)).toEqual(["mt-bench"]);

      const served = await fetch(`${server.url}/api/train/runs/first/serve`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ id: "tiny-tuned" }) });
      expect(served.status).toBe(201);
      const response = await fetch(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "tiny-tuned", prompt: "Once", max_tokens: 2 }) });
      expect(response.status).toBe(200);
      expect(built.map((model) => model.id)).toEqual(["tiny-tuned"]);
      expect(built[0]).toMatchObject({ sequences: 3, maxQueue: 5, contextSize: 128, lora: [{ path: join(folder, "adapter.gguf"), scale: 1 }] });
      const health = await (await fetch(`${server.url}/health`)).json();
      expect(health.models.find((model: { id: string }) => model.id === "tiny-tuned")).toMatchObject({ state: "ready", capacity: 3 });
    } finally {
      await server.close();
    }
  });
});
