// Issue 14, "how it is checked": a seeded fuzz of the whole HTTP API. A few thousand requests across
// every endpoint, with valid bodies mutated field by field, wrong types, hostile strings, deep nesting,
// wrong content types, foreign origins, bad keys and odd paths: no 5xx ever, every 4xx OpenAI-shaped.
import { describe, expect, it } from "vitest";
import { createServerApp } from "../../src/server/app.js";
import { ArenaStore } from "../../src/server/arena/arena-store.js";
import { hashApiKey } from "../../src/server/auth.js";
import { ModelRegistry, type ModelSpec } from "../../src/server/model-registry.js";
import { ConversationStore } from "../../src/server/store/conversations.js";
import { openServerDatabase } from "../../src/server/store/database.js";
import { RequestLog } from "../../src/server/store/request-log.js";
import { scriptedModel } from "../support/scripted-model.js";

const requests = 3000;

/** mulberry32: the whole run is fixed by its seed, so a failure replays exactly. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  return { next, int, pick, chance: (p: number) => next() < p };
}
type Random = ReturnType<typeof random>;

const keys = { alice: "sk-alice-key", bob: "sk-bob-key-1" };
const admin = "sk-admin-key";

function server() {
  const ids = ["alpha", "beta", "org/gamma"];
  const specs: ModelSpec[] = ids.map((id) => ({ id, kind: "local", ownedBy: "camelid", capacity: 2, maxQueue: 8, load: async () => scriptedModel({ modelId: id }) }));
  const db = openServerDatabase(":memory:");
  const lines: string[] = [];
  const { app } = createServerApp({
    registry: new ModelRegistry(specs),
    requestLog: new RequestLog(db),
    conversations: new ConversationStore(db),
    arena: { store: new ArenaStore(db), bootstrapRounds: 5 },
    apiKeys: [
      ...Object.entries(keys).map(([name, key]) => ({ name, sha256: hashApiKey(key), revoked: false })),
      { name: "root", sha256: hashApiKey(admin), revoked: false, admin: true },
      { name: "old", sha256: hashApiKey("sk-revoked-key"), revoked: true },
    ],
    log: (line) => lines.push(line),
  });
  return { app, lines };
}

/** Values of every JSON type and the strings that have broken servers before. */
function hostileValue(r: Random, depth = 0): unknown {
  switch (r.int(depth > 2 ? 12 : 15)) {
    case 0: return null;
    case 1: return r.chance(0.5);
    case 2: return r.pick([-1, 0, 1, 2, 0.5, -0.0, 1e308, -1e308, 2 ** 32, 2 ** 53 + 1, 4294967295, 16, 17, 1000000]);
    case 3: return r.next() * 10 - 5;
    case 4: return "";
    case 5: return r.pick(["a", "Once", "alpha", "beta", "org/gamma", "chatml", "vicuna-v1.1", "text", "json_object", "json_schema", "user", "assistant", "system", "tie", "a", "b"]);
    case 6: return "lone \ud800 surrogate";
    case 7: return "🦙 naïve e\u0301 \u0000 \u202e \ufeff";
    case 8: return "x".repeat(r.pick([1000, 70_000]));
    case 9: return "%25 ../../etc/passwd <script>alert(1)</script> '; DROP TABLE conversations; --";
    case 10: return r.pick(["NaN", "Infinity", "-1", "1.5", "1e3", "0x10"]);
    case 11: return r.int(2000);
    case 12: return Array.from({ length: r.int(4) }, () => hostileValue(r, depth + 1));
    case 13: return Object.fromEntries(Array.from({ length: r.int(4) }, () => [r.pick(["type", "a", "$ref", "role", "content", "__proto__", "constructor", "seed"]), hostileValue(r, depth + 1)]));
    default: return { type: "object", properties: { x: { $ref: r.pick(["#", "#/$defs/x", "nowhere"]) } } };
  }
}

const messages = [{ role: "user", content: "Hello" }];
/** A valid body per endpoint kind, the starting point for mutations. */
function validBody(r: Random, kind: string): Record<string, unknown> {
  const model = r.pick(["alpha", "beta", "org/gamma"]);
  switch (kind) {
    case "chat": return { model, messages, max_tokens: 3, stream: r.chance(0.5), temperature: 0.5, seed: 3, stop: ["\n"], response_format: r.chance(0.2) ? { type: "json_schema", json_schema: { name: "x", schema: { type: "object" } } } : undefined };
    case "completion": return { model, prompt: "Once", max_tokens: 3, stream: r.chance(0.5), top_p: 0.9, n: 1 };
    case "tokenize": return { model, text: "Once upon" };
    case "detokenize": return { model, tokens: [1, 2, 3] };
    case "conversation": return { title: "t", model, system_prompt: "s", settings: { temperature: 0.7, seed: 1, window: { type: "keep-all" } }, messages: [{ role: "user", content: "hi" }] };
    case "messages": return { messages: [{ role: "assistant", content: "ok", model, request_id: "x" }] };
    case "battle": return { message: "Hello", settings: { temperature: 0.5, max_tokens: 4, seed: 1, stop: ["\n"], system_prompt: "s" }, models: r.chance(0.3) ? ["alpha", "beta"] : undefined };
    case "turn": return { message: "And then?" };
    case "answer": return { turn: 0 };
    case "vote": return { winner: r.pick(["a", "b", "tie", "bothbad"]) };
    default: return {};
  }
}

function mutate(r: Random, body: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = JSON.parse(JSON.stringify(body));
  const rounds = r.int(3);
  for (let round = 0; round < rounds; round++) {
    const fields = Object.keys(copy);
    const action = r.int(4);
    if (action === 0 && fields.length > 0) delete copy[r.pick(fields)];
    else if (action === 1 && fields.length > 0) copy[r.pick(fields)] = hostileValue(r);
    else if (action === 2) copy[r.pick(["user", "logprobs", "top_logprobs", "echo", "suffix", "best_of", "n", "prompt_format", "stream_options", "min_p", "repeat_penalty"])] = hostileValue(r);
    else if (fields.length > 0) {
      const field = copy[r.pick(fields)];
      if (Array.isArray(field) && field.length > 0) field[0] = hostileValue(r);
      else if (field && typeof field === "object") (field as Record<string, unknown>)[r.pick(["role", "content", "type", "seed", "top_p", "window", "schema"])] = hostileValue(r);
    }
  }
  return copy;
}

/** Bodies no mutation of a valid one produces. */
function rawBody(r: Random): string | Uint8Array<ArrayBuffer> {
  switch (r.int(6)) {
    case 0: return "{";
    case 1: return "[1,2,3]";
    case 2: return '{"model":"alpha","prompt":"x","extra":' + "[".repeat(3000) + "]".repeat(3000) + "}";
    case 3: return new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]);
    case 4: return '{"model":"alpha","prompt":"\\udc00","__proto__":{"admin":true}}';
    default: return "";
  }
}

describe("HTTP API fuzz", () => {
  it(`${requests} seeded requests across every endpoint: no 5xx, every 4xx OpenAI-shaped`, async () => {
    const r = random(20261207);
    const { app, lines } = server();
    const conversations: string[] = ["00000000-0000-0000-0000-000000000000"];
    const battles: string[] = ["00000000-0000-0000-0000-000000000000"];
    const id = (known: string[]) => (r.chance(0.8) ? r.pick(known) : r.pick(["%25", "..%2F..", "x".repeat(300), "%00", "'", "%E0%A4%A"]));
    const endpoints: { method: string; path: () => string; body?: string }[] = [
      { method: "GET", path: () => "/health" },
      { method: "GET", path: () => "/metrics" },
      { method: "GET", path: () => "/v1/models" },
      { method: "GET", path: () => `/v1/models/${r.pick(["alpha", "org/gamma", "org%2Fgamma", "%25", "%", "nope", "a%20b", "%E0%A4%A"])}` },
      { method: "POST", path: () => "/v1/chat/completions", body: "chat" },
      { method: "POST", path: () => "/v1/chat/completions/render", body: "chat" },
      { method: "POST", path: () => "/v1/completions", body: "completion" },
      { method: "POST", path: () => "/v1/tokenize", body: "tokenize" },
      { method: "POST", path: () => "/v1/detokenize", body: "detokenize" },
      { method: "GET", path: () => `/api/requests?limit=${r.pick(["5", "1.5", "-1", "abc", "100000", "", "1e3"])}&model=${r.pick(["alpha", "", "%25"])}` },
      { method: "GET", path: () => `/api/conversations?limit=${r.pick(["5", "1.5", "0", "abc", "501"])}&offset=${r.pick(["0", "-1", "x", "99999999999999999999"])}` },
      { method: "POST", path: () => "/api/conversations", body: "conversation" },
      { method: "GET", path: () => `/api/conversations/${id(conversations)}` },
      { method: "PATCH", path: () => `/api/conversations/${id(conversations)}`, body: "conversation" },
      { method: "DELETE", path: () => `/api/conversations/${id(conversations)}` },
      { method: "POST", path: () => `/api/conversations/${id(conversations)}/messages`, body: "messages" },
      { method: "POST", path: () => "/api/arena/battles", body: "battle" },
      { method: "GET", path: () => `/api/arena/battles/${id(battles)}` },
      { method: "POST", path: () => `/api/arena/battles/${id(battles)}/turns`, body: "turn" },
      { method: "POST", path: () => `/api/arena/battles/${id(battles)}/answers/${r.pick(["a", "b", "a", "b", "c"])}`, body: "answer" },
      { method: "POST", path: () => `/api/arena/battles/${id(battles)}/reveal` },
      { method: "POST", path: () => `/api/arena/battles/${id(battles)}/vote`, body: "vote" },
      { method: "GET", path: () => `/api/arena/leaderboard?bootstrap=${r.pick(["0", "3", "-1", "x", "5001", "1.5"])}` },
      { method: "GET", path: () => "/api/arena/export/battles.json" },
      { method: "GET", path: () => "/api/arena/export/preferences.jsonl" },
      { method: "GET", path: () => r.pick(["/", "/index.html", "/js/app.js", "/styles.css", "/js/../../package.json", "/%2e%2e/secret", "/nope"]) },
    ];
    const statuses = new Map<number, number>();
    for (let index = 0; index < requests; index++) {
      const endpoint = r.pick(endpoints);
      const method = r.chance(0.05) ? r.pick(["PUT", "OPTIONS", "HEAD", "GET", "POST", "DELETE"]) : endpoint.method;
      const headers: Record<string, string> = {};
      const auth = r.int(10);
      if (auth < 6) headers.authorization = `Bearer ${auth < 3 ? keys.alice : auth < 5 ? keys.bob : admin}`;
      else if (auth === 6) headers.authorization = r.pick(["Bearer sk-revoked-key", "Bearer nope", "Basic abc", "Bearer "]);
      else if (auth === 7) headers["x-api-key"] = keys.alice;
      if (r.chance(0.05)) headers.origin = r.pick(["https://evil.example", "null", "http://localhost"]);
      if (r.chance(0.03)) headers["sec-fetch-site"] = "cross-site";
      let body: string | Uint8Array<ArrayBuffer> | undefined;
      if (endpoint.body && method !== "GET" && method !== "HEAD") {
        body = r.chance(0.1) ? rawBody(r) : JSON.stringify(r.chance(0.4) ? validBody(r, endpoint.body) : mutate(r, validBody(r, endpoint.body)));
        headers["content-type"] = r.chance(0.9) ? "application/json" : r.pick(["text/plain", "application/x-www-form-urlencoded", "application/merge-patch+json"]);
      }
      const host = r.chance(0.03) ? "http://rebound.example:8080" : "http://127.0.0.1:8080";
      const path = endpoint.path();
      const response = await app.request(`${host}${path}`, { method, headers, body });
      const text = await response.text();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      const where = `request ${index}: ${method} ${path} -> ${response.status}: ${text.slice(0, 300)}`;
      expect(response.status, where).toBeLessThan(500);
      if (response.status >= 400 && method !== "HEAD") {
        const error = JSON.parse(text).error;
        expect(error, where).toMatchObject({ message: expect.any(String), type: expect.any(String) });
        expect("param" in error && "code" in error, where).toBe(true);
      }
      if (response.status === 201 && path === "/api/conversations") conversations.push(JSON.parse(text).id);
      if (response.status === 201 && path === "/api/arena/battles") battles.push(JSON.parse(text).id);
    }
    expect(lines.filter((line) => line.includes("internal error"))).toEqual([]);
    // The run reached the handlers, not only the guards.
    for (const status of [200, 201, 400, 401, 403, 404, 415]) expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(10);
  }, 60_000);
});
