// Issue 14, point 11: a truthful /health that shows details only to a key's holder, a private SQLite
// file, and a warning (never a silent "any") for JSON-schema references the grammar cannot follow.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkJsonSchema } from "../../src/providers/local/json-schema-support.js";
import { createServerApp } from "../../src/server/app.js";
import { hashApiKey } from "../../src/server/auth.js";
import { ModelRegistry, type ModelSpec } from "../../src/server/model-registry.js";
import { openServerDatabase } from "../../src/server/store/database.js";
import { scriptedModel } from "../support/scripted-model.js";
import { postJson } from "./support/test-server.js";

const broken = (id: string): ModelSpec => ({
  id,
  kind: "local",
  ownedBy: "camelid",
  capacity: 1,
  maxQueue: 1,
  load: async () => {
    throw new Error(`cannot open /home/alice/models/${id}.gguf`);
  },
});
const working = (id: string): ModelSpec => ({ id, kind: "local", ownedBy: "camelid", capacity: 1, maxQueue: 1, load: async () => scriptedModel() });

const serve = (specs: ModelSpec[], key?: string) =>
  createServerApp({ registry: new ModelRegistry(specs), apiKeys: key ? [{ name: "ops", sha256: hashApiKey(key), revoked: false }] : [] }).app;
const tryModel = (app: ReturnType<typeof serve>, model: string, key?: string) =>
  postJson(app, "/v1/completions", { model, prompt: "x", max_tokens: 1 }, key ? { authorization: `Bearer ${key}` } : {});

describe("/health", () => {
  it("is 503 'unavailable' once every model failed, 'degraded' while some did", async () => {
    const app = serve([broken("a"), broken("b")]);
    expect(await (await app.request("/health")).json()).toMatchObject({ status: "ok" }); // lazy: nothing tried yet
    for (const model of ["a", "b"]) expect((await tryModel(app, model)).status).toBe(503);
    const down = await app.request("/health");
    expect(down.status).toBe(503);
    expect((await down.json()).status).toBe("unavailable");

    const mixed = serve([broken("a"), working("b")]);
    await tryModel(mixed, "a");
    await tryModel(mixed, "b");
    const degraded = await mixed.request("/health");
    expect(degraded.status).toBe(200);
    expect((await degraded.json()).status).toBe("degraded");
  });

  it("without a key it is a bare liveness probe; with the key it lists models and their errors", async () => {
    const key = "sk-ops-key-1";
    const app = serve([broken("secret-model"), working("b")], key);
    await tryModel(app, "secret-model", key);
    const anonymous = await app.request("/health");
    expect(anonymous.status).toBe(200);
    const text = await anonymous.text();
    expect(JSON.parse(text)).toEqual({ status: "degraded" });
    expect(text).not.toMatch(/secret-model|\/home\/alice/);
    const wrongKey = await app.request("/health", { headers: { authorization: "Bearer sk-wrong-key" } });
    expect(await wrongKey.json()).toEqual({ status: "degraded" });
    const detailed = await (await app.request("/health", { headers: { authorization: `Bearer ${key}` } })).json();
    expect(detailed.models.find((m: { id: string }) => m.id === "secret-model")).toMatchObject({ state: "failed", error: expect.stringContaining("/home/alice/models") });
  });
});

describe("SQLite files", () => {
  const dir = mkdtempSync(join(tmpdir(), "camelid-mode-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("are created readable by their owner only, whatever the umask", () => {
    const previous = process.umask(0o022);
    try {
      const path = join(dir, "data", "camelid.sqlite");
      const db = openServerDatabase(path);
      db.prepare("INSERT INTO conversations (id, title, settings, created_at, updated_at) VALUES ('c', 't', '{}', 1, 1)").run();
      for (const file of [path, `${path}-wal`, `${path}-shm`]) expect((statSync(file).mode & 0o777).toString(8), file).toBe("600");
      expect((statSync(join(dir, "data")).mode & 0o777).toString(8)).toBe("700");
      db.close();
    } finally {
      process.umask(previous);
    }
  });
});

describe("JSON-schema references", () => {
  it("warn when they point at the root or nowhere, and stay silent when they resolve", () => {
    const settings = (schema: unknown) => checkJsonSchema(schema).map((warning) => (warning as { setting?: string }).setting);
    expect(settings({ type: "object", properties: { self: { $ref: "#" } } })).toEqual(["responseFormat.schema.properties.self.$ref"]);
    expect(settings({ type: "object", properties: { x: { $ref: "#/$defs/missing" } } })).toEqual(["responseFormat.schema.properties.x.$ref"]);
    expect(settings({ $defs: { name: { type: "string" } }, type: "object", properties: { x: { $ref: "#/$defs/name" } } })).toEqual([]);
    expect(checkJsonSchema({ $ref: "#" })[0].message).toMatch(/not constrained \(any JSON\)/);
  });
});
