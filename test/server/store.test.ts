import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openServerDatabase } from "../../src/server/store/database.js";
import { migrations } from "../../src/server/store/migrations.js";
import { everyone } from "../../src/server/context.js";
import { RequestLog } from "../../src/server/store/request-log.js";
import { createTestServer, postJson } from "./support/test-server.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "camelid-store-"));
  dirs.push(dir);
  return dir;
};

describe("SQLite store", () => {
  it("opens in WAL mode with synchronous=FULL and migrates to the latest version once", () => {
    const path = join(tempDir(), "nested", "camelid.sqlite");
    const db = openServerDatabase(path);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.pragma("synchronous", { simple: true })).toBe(2);
    expect(db.pragma("user_version", { simple: true })).toBe(migrations.length);
    db.close();
    const again = openServerDatabase(path); // re-running migrations must be a no-op
    expect(again.pragma("user_version", { simple: true })).toBe(migrations.length);
    again.pragma("user_version = 99");
    again.close();
    expect(() => openServerDatabase(path)).toThrow(/newer than this camelid/);
  });

  it("marks rows left running by a killed process as interrupted, and prunes by age and count", () => {
    let now = 1_000_000_000_000;
    const log = new RequestLog(openServerDatabase(":memory:"), () => now);
    const start = (id: string) => log.start({ id, endpoint: "completions", model: "m", client: "c", owner: null, stream: false, parameters: {} });
    for (const id of ["old", "a", "b", "c"]) {
      start(id);
      log.complete(id, { status: "completed", httpStatus: 200 });
      now += id === "old" ? 40 * 86_400_000 : 1000;
    }
    start("running");
    expect(log.markInterrupted()).toBe(1);
    expect(log.get("running")!.status).toBe("interrupted");
    expect(log.prune({ maxAgeDays: 30 })).toBe(1);
    expect(log.get("old")).toBeUndefined();
    expect(log.prune({ maxRows: 2 })).toBe(2);
    expect(log.recent(10, everyone).map((row) => row.id)).toEqual(["running", "c"]);
  });
});

describe("request log commits", () => {
  it("rows started or finished in the same tick share one commit (one fsync), and a finish resolves only once on disk", async () => {
    const path = join(tempDir(), "camelid.sqlite");
    const log = new RequestLog(openServerDatabase(path));
    const reader = openServerDatabase(path);
    const walBytes = () => statSync(`${path}-wal`).size;
    const nextTick = () => new Promise((resolve) => setImmediate(resolve));
    const start = (id: string) => log.start({ id, endpoint: "completions", model: "m", client: "c", owner: null, stream: false, parameters: {} });
    start("warm-up");
    await nextTick();
    const before = walBytes();
    start("one");
    await nextTick();
    const oneCommit = walBytes() - before;
    expect(oneCommit).toBeGreaterThan(0);
    const ids = Array.from({ length: 8 }, (_, index) => `burst-${index}`);
    for (const id of ids) start(id);
    await nextTick();
    // Eight separate commits would append (at least) eight times the frames of one.
    expect(walBytes() - before - oneCommit).toBeLessThan(2 * oneCommit);
    expect(reader.prepare("SELECT count(*) AS n FROM request_log WHERE status = 'running'").get()).toEqual({ n: 10 });
    const beforeOne = walBytes();
    await log.completeSoon("one", { status: "completed", httpStatus: 200 });
    const oneFinish = walBytes() - beforeOne;
    const beforeFinishes = walBytes();
    const finished = ids.map((id) => log.completeSoon(id, { status: "completed", httpStatus: 200 }));
    expect(reader.prepare("SELECT count(*) AS n FROM request_log WHERE status = 'completed'").get()).toEqual({ n: 1 });
    await Promise.all(finished);
    // Read by another connection: on disk when the promise resolved.
    expect(reader.prepare("SELECT count(*) AS n FROM request_log WHERE status = 'completed'").get()).toEqual({ n: 9 });
    expect(walBytes() - beforeFinishes).toBeLessThan(2 * oneFinish);
    // A row started a moment ago is there for readers of the log, and for a finish in its own commit.
    start("late");
    expect(log.get("late")?.status).toBe("running");
    start("later");
    log.complete("later", { status: "error", httpStatus: 500 });
    expect(reader.prepare("SELECT status FROM request_log WHERE id = 'later'").get()).toEqual({ status: "error" });
    reader.close();
  });
});

describe("conversations over /api/conversations", () => {
  it("creates, lists, reads, updates, appends to and deletes a conversation", async () => {
    const { app } = createTestServer();
    const created = await postJson(app, "/api/conversations", {
      title: "Stories",
      model: "fake",
      system_prompt: "Be brief.",
      settings: { temperature: 0.2 },
      messages: [{ role: "user", content: "Hi" }],
    });
    expect(created.status).toBe(201);
    const conversation = await created.json();
    expect(conversation).toMatchObject({ title: "Stories", model: "fake", systemPrompt: "Be brief.", settings: { temperature: 0.2 }, messages: [{ role: "user", content: "Hi" }] });

    const appended = await postJson(app, `/api/conversations/${conversation.id}/messages`, {
      messages: [{ role: "assistant", content: "Hello!", model: "fake", request_id: "chatcmpl-1" }],
    });
    expect((await appended.json()).messages.map((m: { content: string }) => m.content)).toEqual(["Hi", "Hello!"]);

    const patched = await app.request(`/api/conversations/${conversation.id}`, { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify({ title: "Renamed" }) });
    expect((await patched.json()).title).toBe("Renamed");

    const list = await (await app.request("/api/conversations")).json();
    expect(list.data.map((c: { id: string }) => c.id)).toEqual([conversation.id]);

    const read = await (await app.request(`/api/conversations/${conversation.id}`)).json();
    expect(read.messages[1]).toMatchObject({ role: "assistant", model: "fake", requestId: "chatcmpl-1" });

    expect((await app.request(`/api/conversations/${conversation.id}`, { method: "DELETE" })).status).toBe(200);
    const gone = await app.request(`/api/conversations/${conversation.id}`);
    expect(gone.status).toBe(404);
    expect((await gone.json()).error.type).toBe("not_found_error");
    const badRole = await postJson(app, "/api/conversations", { messages: [{ role: "robot", content: "x" }] });
    expect((await badRole.json()).error.param).toBe("messages[0].role");
  });

  it("lists recent requests from the log without any key material", async () => {
    const { app } = createTestServer({ keys: { alice: "sk-alice-secret" } });
    const auth = { authorization: "Bearer sk-alice-secret" };
    await postJson(app, "/v1/completions", { model: "fake", prompt: "Once", max_tokens: 2 }, auth);
    const rows = (await (await app.request("/api/requests", { headers: auth })).json()).data;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ client: "alice", status: "completed", prompt: "Once", completion_tokens: 2 });
    expect(JSON.stringify(rows)).not.toContain("sk-alice-secret");
  });
});
