import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/serve.js";
import { hashApiKey } from "../../src/server/auth.js";
import { listen, type ListeningServer } from "../../src/server/listen.js";
import { captureIo } from "../support/capture-io.js";
import { FakeModel } from "./support/fake-model.js";
import { createTestServer } from "./support/test-server.js";
import { waitUntil } from "../support/wait-for.js";

let upstream: ListeningServer;
let dir: string;
beforeAll(async () => {
  upstream = await listen(createTestServer({ models: { fake: new FakeModel() } }).app, { host: "127.0.0.1", port: 0 });
  dir = mkdtempSync(join(tmpdir(), "camelid-serve-cmd-"));
});
afterAll(async () => {
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("camelid serve (in process)", () => {
  it("prints its options for --help", async () => {
    const { io, stdout } = captureIo();
    expect(await run(["--help"], io)).toBe(0);
    expect(stdout()).toContain("--api-key-env NAME");
  });

  it("serves a configured upstream behind API keys from env and the config, then stops cleanly", async () => {
    writeFileSync(
      join(dir, "serve.json"),
      JSON.stringify({
        port: 0,
        dataDir: "data",
        apiKeys: [{ name: "ops", sha256: hashApiKey("sk-ops-key") }],
        remotes: [{ name: "test", baseURL: `${upstream.url}/v1`, api: "completions", models: [{ id: "story", upstreamId: "fake" }] }],
      }),
    );
    const { io, stdout, stderr } = captureIo("", { CI_KEY: "sk-from-env" });
    io.cwd = dir;
    let stop!: () => void;
    const exit = run(["--config", "serve.json", "--api-key-env", "CI_KEY"], io, new Promise<void>((resolve) => (stop = resolve)));
    await waitUntil(() => stdout().includes("listening on"), { what: "serve to listen", intervalMs: 10 });
    const url = /listening on (\S+)/.exec(stdout())![1];
    const ask = (key: string) =>
      fetch(`${url}/v1/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ model: "story", prompt: "Once", max_tokens: 2 }) });
    expect((await (await ask("sk-from-env")).json()).choices[0].text).toBe("Once upon");
    expect((await ask("sk-ops-key")).status).toBe(200);
    expect((await ask("sk-nope")).status).toBe(401);
    stop();
    expect(await exit).toBe(0);
    expect(stderr()).toContain("story (remote)");
    expect(stderr() + stdout()).not.toMatch(/sk-from-env|sk-ops-key/);
  });

  it("fails with one line naming the problem for a bad config", async () => {
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ port: 70000 }));
    const { io } = captureIo();
    io.cwd = dir;
    await expect(run(["--config", "bad.json"], io, Promise.resolve())).rejects.toThrow(/"port"/);
  });
});
