// A completed request must survive `kill -9` right after the client got its answer. The real serve
// command runs in a child process; its one model is a remote upstream (a fake model served by this
// test process), so the test needs no model file.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listen, type ListeningServer } from "../../src/server/listen.js";
import { stories260KPath } from "../support/shared-data.js";
import { spawnServe, type ChildServer } from "./support/child-server.js";
import { FakeModel } from "./support/fake-model.js";
import { createTestServer } from "./support/test-server.js";

let upstream: ListeningServer;
let dir: string;
const children: ChildServer[] = [];

beforeAll(async () => {
  const { app } = createTestServer({ models: { fake: new FakeModel(), slow: new FakeModel({ tokenDelayMs: 40 }) } });
  upstream = await listen(app, { host: "127.0.0.1", port: 0 });
  dir = mkdtempSync(join(tmpdir(), "camelid-kill-"));
  writeFileSync(
    join(dir, "camelid.json"),
    JSON.stringify({ port: 0, dataDir: "data", remotes: [{ name: "test-upstream", baseURL: `${upstream.url}/v1`, models: ["fake", "slow"] }] }),
  );
});
afterAll(async () => {
  for (const child of children) await child.stop("SIGKILL");
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

const post = (url: string, body: unknown) =>
  fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("request log across kill -9", () => {
  it("keeps every completed request and marks the in-flight one interrupted after a restart", async () => {
    const first = await spawnServe(["--config", join(dir, "camelid.json")]);
    children.push(first);
    // A slow stream that will be cut by the kill: wait for its first chunk so it is really running.
    const inFlight = await post(first.url, { model: "slow", messages: [{ role: "user", content: "long" }], max_tokens: 200, stream: true });
    const reader = inFlight.body!.getReader();
    await reader.read();

    const completedIds: string[] = [];
    for (let index = 0; index < 3; index++) {
      const response = await post(first.url, { model: "fake", messages: [{ role: "user", content: `question ${index}` }], max_tokens: 3 });
      completedIds.push((await response.json()).id);
    }
    const streamed = await post(first.url, { model: "fake", messages: [{ role: "user", content: "stream" }], max_tokens: 3, stream: true });
    const streamText = await streamed.text();
    expect(streamText.trim().endsWith("data: [DONE]")).toBe(true);
    completedIds.push(JSON.parse(streamText.split("\n\n")[0].slice(6)).id);
    // No grace period: the answer is in hand, the process dies at once.
    await first.stop("SIGKILL");
    await reader.cancel().catch(() => undefined);

    const db = new Database(join(dir, "data", "camelid.sqlite"), { readonly: true });
    const rows = db.prepare("SELECT id, status, output, completion_tokens FROM request_log").all() as { id: string; status: string; output: string; completion_tokens: number }[];
    db.close();
    for (const id of completedIds) {
      const row = rows.find((r) => r.id === id);
      expect(row, `request ${id} lost`).toMatchObject({ status: "completed", completion_tokens: 3 });
      expect(JSON.parse(row!.output)).toEqual(["Once upon a"]);
    }
    expect(rows.filter((r) => r.status === "running")).toHaveLength(1);

    const second = await spawnServe(["--config", join(dir, "camelid.json")]);
    children.push(second);
    expect(second.stderr()).toContain("1 request(s) were interrupted");
    const log = (await (await fetch(`${second.url}/api/requests?limit=100`)).json()).data as { id: string; status: string }[];
    expect(log.filter((r) => r.status === "completed").map((r) => r.id).sort()).toEqual([...completedIds].sort());
    expect(log.filter((r) => r.status === "interrupted")).toHaveLength(1);
    expect(await second.stop("SIGTERM")).toBe(0);
  });
});

describe("durability: kill -9 during streaming, in a loop", () => {
  it("every completed request keeps its exact prompt and the database stays intact across repeated kills", async () => {
    writeFileSync(join(dir, "durable.json"), JSON.stringify({ port: 0, dataDir: "durable", remotes: [{ name: "test-upstream", baseURL: `${upstream.url}/v1`, models: ["fake", "slow"] }] }));
    const completed = new Map<string, unknown>();
    const integrity = () => {
      const db = new Database(join(dir, "durable", "camelid.sqlite"), { readonly: true });
      try {
        expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
        const rows = db.prepare("SELECT id, status, messages FROM request_log").all() as { id: string; status: string; messages: string }[];
        for (const [id, messages] of completed) {
          const row = rows.find((r) => r.id === id);
          expect(row, `completed request ${id} lost`).toMatchObject({ status: "completed" });
          expect(JSON.parse(row!.messages)).toEqual(messages);
        }
        return rows;
      } finally {
        db.close();
      }
    };
    /** Streams one chat request to the end; its id when the client saw [DONE], else undefined (cut by the kill). */
    const stream = async (url: string, model: string, messages: unknown, maxTokens: number) => {
      try {
        const response = await post(url, { model, messages, max_tokens: maxTokens, stream: true });
        const text = await response.text();
        if (!text.trim().endsWith("data: [DONE]")) return undefined;
        return JSON.parse(text.split("\n\n")[0].slice(6)).id as string;
      } catch {
        return undefined;
      }
    };

    for (let round = 0; round < 2; round++) {
      const child = await spawnServe(["--config", join(dir, "durable.json")]);
      children.push(child);
      // Long streams that the kill will cut: wait for their first chunk so they are really running.
      const cut = await Promise.all(
        [0, 1].map(async (index) => {
          const response = await post(child.url, { model: "slow", messages: [{ role: "user", content: `cut ${round}.${index}` }], max_tokens: 200, stream: true });
          const reader = response.body!.getReader();
          await reader.read();
          return reader;
        }),
      );
      // Short streams racing the kill: the kill comes as soon as the first of them has finished.
      const racing = Array.from({ length: 6 }, (_, index) => {
        const messages = [{ role: "user", content: `round ${round} #${index}: naïve 🦙 e\u0301 "quoted" \\ back\nslash \u0000 end` }];
        return stream(child.url, index % 2 === 0 ? "fake" : "slow", messages, 3).then((id) => {
          if (id) completed.set(id, messages);
          return id;
        });
      });
      await Promise.race(racing.filter((_, index) => index % 2 === 0));
      await child.stop("SIGKILL");
      await Promise.all(racing);
      for (const reader of cut) await reader.cancel().catch(() => undefined);
      const rows = integrity();
      expect(rows.filter((row) => row.status === "running").length).toBeGreaterThanOrEqual(2);
    }
    expect(completed.size).toBeGreaterThanOrEqual(2);

    const last = await spawnServe(["--config", join(dir, "durable.json")]);
    children.push(last);
    expect(last.stderr()).toMatch(/request\(s\) were interrupted/);
    expect(await last.stop("SIGTERM")).toBe(0);
    expect(integrity().filter((row) => row.status === "running")).toEqual([]);
  });
});

describe("graceful shutdown", () => {
  it("SIGTERM with a local model loaded closes the server and exits 0", async () => {
    const child = await spawnServe(["--model", `story=${stories260KPath()}`, "--eager", "--port", "0", "--data-dir", join(dir, "graceful")]);
    children.push(child);
    const response = await fetch(`${child.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "story", prompt: "Once", max_tokens: 3 }) });
    expect(response.status).toBe(200);
    expect(await child.stop("SIGTERM")).toBe(0);
    expect(child.stderr()).toContain("shutting down");
  });
});
