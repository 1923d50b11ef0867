import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseServeFlags } from "../../src/cli/commands/serve.js";
import { ConfigError, InvalidArgumentError } from "../../src/errors/index.js";
import { hashApiKey } from "../../src/server/auth.js";
import { isLoopbackHost, parseServeConfig, resolveServeConfig } from "../../src/server/config.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function workspace(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), "camelid-config-"));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

describe("serve config", () => {
  it("names the key of an invalid value or an unknown key", () => {
    expect(() => parseServeConfig({ models: [{ id: "a", path: "a.gguf", sequences: 0 }] })).toThrow(/"models\[0\]\.sequences"/);
    expect(() => parseServeConfig({ models: [{ id: "a", path: "a.gguf", sequence: 2 }] })).toThrow(/unknown key "sequence" in models\[0\]/);
    expect(() => parseServeConfig({ port: "80" })).toThrow(ConfigError);
    expect(() => parseServeConfig({ apiKeys: [{ name: "x" }] })).toThrow(/exactly one of key, keyEnv or sha256/);
  });

  it("reads a config file with paths relative to it, applies defaults and lets flags win", () => {
    const dir = workspace({
      "a.gguf": "",
      "lora.gguf": "",
      "camelid.json": JSON.stringify({
        port: 9000,
        defaults: { sequences: 2 },
        models: [{ id: "alpha", path: "a.gguf", lora: [{ path: "lora.gguf", scale: 0.5 }] }],
        remotes: [{ name: "up", baseURL: "http://127.0.0.1:1/v1", apiKeyEnv: "UP_KEY", models: ["gpt-x", { id: "local-name", upstreamId: "remote-name" }] }],
        apiKeys: [{ name: "alice", keyEnv: "ALICE_KEY" }, { name: "old", key: "sk-old-key", revoked: true }],
      }),
    });
    const config = resolveServeConfig({ config: "camelid.json", port: 9100 }, { UP_KEY: "up-secret", ALICE_KEY: "sk-alice-key" }, dir);
    expect(config.port).toBe(9100);
    expect(config.host).toBe("127.0.0.1");
    expect(config.localModels).toEqual([
      expect.objectContaining({ id: "alpha", path: join(dir, "a.gguf"), sequences: 2, lora: [{ path: join(dir, "lora.gguf"), scale: 0.5 }] }),
    ]);
    expect(config.remoteModels.map((m) => [m.id, m.upstreamId, m.apiKey])).toEqual([
      ["gpt-x", "gpt-x", "up-secret"],
      ["local-name", "remote-name", "up-secret"],
    ]);
    expect(config.apiKeys).toEqual([
      { name: "alice", sha256: hashApiKey("sk-alice-key"), revoked: false, admin: false },
      { name: "old", sha256: hashApiKey("sk-old-key"), revoked: true, admin: false },
    ]);
    expect(JSON.stringify(config)).not.toContain("sk-alice-key");
    expect(config.dataDir).toBe(join(dir, ".camelid"));
  });

  it("replica sets: one alias over several upstreams, with defaults, keys from the environment and checked names", () => {
    const dir = workspace({
      "camelid.json": JSON.stringify({
        maxQueue: 7,
        replicaSets: [
          {
            id: "llama",
            flavor: "vllm",
            healthCheck: { intervalMs: 1000 },
            replicas: [
              { url: "http://10.0.0.1:8000/v1", apiKeyEnv: "VLLM_KEY" },
              { url: "http://10.0.0.2:8080/v1", name: "camelid-2", model: "stories", flavor: "openai", concurrency: 4, speed: 2 },
            ],
          },
        ],
      }),
    });
    const config = resolveServeConfig({ config: "camelid.json" }, { VLLM_KEY: "sk-vllm" }, dir);
    expect(config.replicaSets).toEqual([
      {
        id: "llama",
        api: "chat",
        maxQueue: 7,
        healthCheck: { intervalMs: 1000, timeoutMs: 2000 },
        replicas: [
          { kind: "url", name: "http://10.0.0.1:8000/v1", baseURL: "http://10.0.0.1:8000/v1", upstreamId: "llama", apiKey: "sk-vllm", flavor: "vllm", concurrency: 16, speed: 1 },
          { kind: "url", name: "camelid-2", baseURL: "http://10.0.0.2:8080/v1", upstreamId: "stories", flavor: "openai", concurrency: 4, speed: 2 },
        ],
      },
    ]);
    const sets = (replicaSets: unknown) => () => resolveServeConfig({ config: "c.json" }, {}, workspace({ "c.json": JSON.stringify({ replicaSets }) }));
    expect(sets([{ id: "x", replicas: [] }])).toThrow(/"replicaSets\[0\]\.replicas": a replica set needs at least one replica/);
    expect(sets([{ id: "x", replicas: [{ url: "ftp://a/v1" }] }])).toThrow(/"replicaSets\[0\]\.replicas\[0\]\.url"/);
    expect(sets([{ id: "x", replicas: [{ url: "http://a/v1", weight: 2 }] }])).toThrow(/unknown key "weight" in replicaSets\[0\]\.replicas\[0\]/);
    expect(sets([{ id: "x", replicas: [{ url: "http://a/v1", speed: 0 }] }])).toThrow(/"replicaSets\[0\]\.replicas\[0\]\.speed"/);
    expect(sets([{ id: "x", healthCheck: { intervalMs: 0 }, replicas: [{ url: "http://a/v1" }] }])).toThrow(/"replicaSets\[0\]\.healthCheck\.intervalMs"/);
    expect(sets([{ id: "x", replicas: [{ url: "http://a/v1" }, { url: "http://a/v1" }] }])).toThrow(/two replicas of "x" are named "http:\/\/a\/v1"; give each a "name"/);
    expect(sets([{ id: "x", replicas: [{ url: "http://a/v1", apiKeyEnv: "MISSING" }] }])).toThrow(/"replicaSets\[0\]\.replicas\[0\]\.apiKeyEnv": environment variable MISSING is not set/);
    expect(() =>
      resolveServeConfig({ config: "c.json" }, {}, workspace({ "c.json": JSON.stringify({ remotes: [{ name: "u", baseURL: "http://b/v1", models: ["x"] }], replicaSets: [{ id: "x", replicas: [{ url: "http://a/v1" }] }] }) })),
    ).toThrow(/two models are named "x"/);
  });

  it("flash attention: a per-model key, a default, and the --flash-attention flag", () => {
    const dir = workspace({
      "a.gguf": "",
      "b.gguf": "",
      "camelid.json": JSON.stringify({ defaults: { flashAttention: true }, models: [{ id: "a", path: "a.gguf", flashAttention: false }, { id: "b", path: "b.gguf" }] }),
    });
    const fromFile = resolveServeConfig({ config: "camelid.json" }, {}, dir);
    expect(fromFile.localModels.map((m) => [m.id, m.flashAttention])).toEqual([["a", false], ["b", true]]);
    expect(() => parseServeConfig({ models: [{ id: "a", path: "a.gguf", flashAttention: "yes" }] })).toThrow(/"models\[0\]\.flashAttention"/);
    const fromFlag = resolveServeConfig(parseServeFlags(["--model", "a.gguf", "--flash-attention"]), {}, dir);
    expect(fromFlag.localModels[0].flashAttention).toBe(true);
    expect(resolveServeConfig(parseServeFlags(["--model", "a.gguf"]), {}, dir).localModels[0].flashAttention).toBeUndefined();
  });

  it("serves the .gguf files of ./models when nothing else is configured, and explains what is missing", () => {
    const dir = workspace({});
    expect(() => resolveServeConfig({}, {}, dir)).toThrow(/no models to serve/);
    const withModels = workspace({ "x.gguf": "", "notes.txt": "" });
    const config = resolveServeConfig({ modelsDir: "." }, {}, withModels);
    expect(config.localModels.map((m) => m.id)).toEqual(["x"]);
    expect(() => resolveServeConfig({ models: ["missing.gguf"] }, {}, dir)).toThrow(/file .*missing\.gguf does not exist/);
    expect(() => resolveServeConfig({ models: ["x.gguf", "x=x.gguf"] }, {}, withModels)).toThrow(/two models are named "x"/);
    const fileDir = workspace({ "c.json": JSON.stringify({ remotes: [{ name: "u", baseURL: "http://h/v1", apiKeyEnv: "NOPE", models: ["m"] }] }) });
    expect(() => resolveServeConfig({ config: "c.json" }, {}, fileDir)).toThrow(/remotes\[0\]\.apiKeyEnv.*NOPE is not set/);
    expect(() => resolveServeConfig({ config: "absent.json" }, {}, fileDir)).toThrow(/cannot read config file/);
  });

  it("parses flags with errors naming the flag", () => {
    const flags = parseServeFlags(["--model", "a=x.gguf", "--model", "y.gguf", "--port", "0", "--eager", "--cors", "*"]);
    expect(flags).toMatchObject({ models: ["a=x.gguf", "y.gguf"], port: 0, loading: "eager", corsOrigins: ["*"] });
    expect(() => parseServeFlags(["--port", "http"])).toThrow(InvalidArgumentError);
    expect(() => parseServeFlags(["--sequences", "0"])).toThrow(/--sequences must be an integer from 1 to 64/);
    expect(() => parseServeFlags(["--bogus"])).toThrow(/--bogus/);
    expect(() => parseServeFlags(["--eager", "--lazy"])).toThrow(/contradict/);
  });

  it("admin keys, allowed hosts and the body deadline come from flags or the config file", () => {
    const dir = workspace({ "m.gguf": "", "c.json": JSON.stringify({ models: [{ id: "m", path: "m.gguf" }], allowedHosts: ["camelid.lan"], apiKeys: [{ name: "ops", key: "sk-ops-key-1", admin: true }] }) });
    const fromFile = resolveServeConfig({ config: "c.json" }, {}, dir);
    expect(fromFile).toMatchObject({ allowedHosts: ["camelid.lan"], requestBodyTimeoutMs: 30_000, apiKeys: [{ name: "ops", admin: true }] });
    const flags = parseServeFlags(["--model", "m.gguf", "--admin-key-env", "ROOT_KEY", "--api-key-env", "USER_KEY", "--allowed-host", "box.local", "--body-timeout-ms", "5000"]);
    const config = resolveServeConfig(flags, { ROOT_KEY: "sk-root-key", USER_KEY: "sk-user-key" }, dir);
    expect(config.apiKeys).toEqual([
      { name: "user_key", sha256: hashApiKey("sk-user-key"), revoked: false },
      { name: "root_key", sha256: hashApiKey("sk-root-key"), revoked: false, admin: true },
    ]);
    expect(config).toMatchObject({ allowedHosts: ["box.local"], requestBodyTimeoutMs: 5000 });
    expect(() => parseServeFlags(["--body-timeout-ms", "0"])).toThrow(/--body-timeout-ms must be an integer/);
    expect(() => resolveServeConfig(parseServeFlags(["--model", "m.gguf", "--admin-key-env", "UNSET"]), {}, dir)).toThrow(/--admin-key-env: environment variable UNSET is not set/);
  });

  it("knows loopback hosts", () => {
    expect(isLoopbackHost("127.0.0.1")).toBe(true);
    expect(isLoopbackHost("::1")).toBe(true);
    expect(isLoopbackHost("0.0.0.0")).toBe(false);
  });
});
