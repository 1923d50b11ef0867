// Issue 14, point 6: with several API keys each key sees only its own conversations, request-log rows
// and battles; an admin key sees all; rows from before owners existed are admin-only.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { migrations } from "../../src/server/store/migrations.js";
import { createArenaApp } from "../web/support/arena-app.js";
import { createTestServer, postJson } from "./support/test-server.js";

const keys = { alice: "sk-alice-key", bob: "sk-bob-key-1" };
const adminKeys = { root: "sk-admin-key" };
const as = (key: string) => ({ authorization: `Bearer ${key}` });

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("per-key isolation of conversations", () => {
  it("key B cannot list, read, rename, append to or delete key A's conversation; the admin key sees it", async () => {
    const { app } = createTestServer({ keys, adminKeys });
    const created = await postJson(app, "/api/conversations", { title: "alice's plans", messages: [{ role: "user", content: "secret" }] }, as(keys.alice));
    expect(created.status).toBe(201);
    const { id } = await created.json();
    const json = { ...as(keys.bob), "content-type": "application/json" };

    const bobList = (await (await app.request("/api/conversations", { headers: as(keys.bob) })).json()).data as { id: string }[];
    expect(bobList.map((c) => c.id)).not.toContain(id);
    expect((await app.request(`/api/conversations/${id}`, { headers: as(keys.bob) })).status).toBe(404);
    expect((await app.request(`/api/conversations/${id}`, { method: "PATCH", headers: json, body: JSON.stringify({ title: "mine now" }) })).status).toBe(404);
    expect((await postJson(app, `/api/conversations/${id}/messages`, { messages: [{ role: "user", content: "hi" }] }, as(keys.bob))).status).toBe(404);
    expect((await app.request(`/api/conversations/${id}`, { method: "DELETE", headers: as(keys.bob) })).status).toBe(404);

    const mine = await (await app.request(`/api/conversations/${id}`, { headers: as(keys.alice) })).json();
    expect(mine).toMatchObject({ title: "alice's plans", messages: [{ content: "secret" }] });
    const adminList = (await (await app.request("/api/conversations", { headers: as(adminKeys.root) })).json()).data as { id: string }[];
    expect(adminList.map((c) => c.id)).toContain(id);
  });

  it("key B does not see key A's prompts in /api/requests; the admin key sees both", async () => {
    const { app } = createTestServer({ keys, adminKeys });
    await postJson(app, "/v1/chat/completions", { model: "fake", messages: [{ role: "user", content: "alice's secret prompt" }], max_tokens: 2 }, as(keys.alice));
    await postJson(app, "/v1/chat/completions", { model: "fake", messages: [{ role: "user", content: "bob's question" }], max_tokens: 2 }, as(keys.bob));
    const rows = async (key: string) => JSON.stringify((await (await app.request("/api/requests", { headers: as(key) })).json()).data);
    expect(await rows(keys.bob)).not.toContain("alice's secret prompt");
    expect(await rows(keys.bob)).toContain("bob's question");
    expect(await rows(keys.alice)).toContain("alice's secret prompt");
    expect(await rows(adminKeys.root)).toContain("alice's secret prompt");
    expect(await rows(adminKeys.root)).toContain("bob's question");
  });

  it("rows from before the owner migration are visible to the admin key only", async () => {
    const dir = mkdtempSync(join(tmpdir(), "camelid-owner-"));
    dirs.push(dir);
    const path = join(dir, "camelid.sqlite");
    const old = new Database(path);
    old.exec(migrations[0]);
    old.exec(migrations[1]);
    old.pragma("user_version = 2");
    old.prepare(`INSERT INTO conversations (id, title, settings, created_at, updated_at) VALUES ('legacy', 'old chat', '{}', 1, 1)`).run();
    old.close();
    const { app } = createTestServer({ keys, adminKeys, databasePath: path });
    expect((await app.request("/api/conversations/legacy", { headers: as(keys.alice) })).status).toBe(404);
    expect((await app.request("/api/conversations/legacy", { headers: as(adminKeys.root) })).status).toBe(200);
  });

  it("without keys there is one user: every conversation is visible", async () => {
    const { app } = createTestServer();
    const { id } = await (await postJson(app, "/api/conversations", { title: "t" })).json();
    expect((await app.request(`/api/conversations/${id}`)).status).toBe(200);
  });
});

describe("per-key isolation of battles", () => {
  it("key B cannot read key A's battle nor export it; the admin key can read it", async () => {
    const { call } = createArenaApp({ keys });
    const battle = await (await call("POST", "/api/arena/battles", { message: "Hello" }, keys.alice)).json();
    expect((await call("GET", `/api/arena/battles/${battle.id}`, undefined, keys.bob)).status).toBe(403);
    for (const side of ["a", "b"]) await (await call("POST", `/api/arena/battles/${battle.id}/answers/${side}`, {}, keys.alice)).text();
    expect((await call("POST", `/api/arena/battles/${battle.id}/vote`, { winner: "a" }, keys.alice)).status).toBe(200);
    expect(await (await call("GET", "/api/arena/export/battles.json", undefined, keys.bob)).json()).toEqual([]);
    expect(await (await call("GET", "/api/arena/export/battles.json", undefined, keys.alice)).json()).toHaveLength(1);
  });

  it("an admin key reads any battle", async () => {
    const { call } = createArenaApp({ keys, adminKeys });
    const battle = await (await call("POST", "/api/arena/battles", { message: "Hello" }, keys.alice)).json();
    expect((await call("GET", `/api/arena/battles/${battle.id}`, undefined, adminKeys.root)).status).toBe(200);
  });
});
