// The playground's session saver (web/js/sessions-api.js): a session's writes go out one at a time,
// the first creates it and later ones replace it with the newest document, and a write queued for a
// session the page has left is dropped. Runs in Node against a recording fetch.
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadWebModule, type SessionsApiModule } from "./support/web-modules.js";

const { createSessionSaver, storedNumbers } = await loadWebModule<SessionsApiModule>("sessions-api.js");

/** A fetch that records each request and answers when `release()` is called, in order. */
function recordingFetch() {
  const requests: { method: string; path: string; body: unknown }[] = [];
  const waiting: (() => void)[] = [];
  vi.stubGlobal("localStorage", { getItem: () => null });
  vi.stubGlobal("fetch", (path: string, init: RequestInit) => {
    requests.push({ method: init.method ?? "GET", path, body: init.body ? JSON.parse(String(init.body)) : undefined });
    return new Promise<Response>((resolve) => waiting.push(() => resolve(Response.json({ id: "s1" }, { status: init.method === "POST" ? 201 : 200 }))));
  });
  const settle = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  return {
    requests,
    /** Answers the oldest pending request and lets the saver move on. */
    async release() {
      await settle();
      waiting.shift()?.();
      await settle();
    },
  };
}

afterEach(() => vi.unstubAllGlobals());

describe("session saver", () => {
  it("creates the session once, then replaces it with the newest document, one write at a time", async () => {
    const server = recordingFetch();
    const created: string[] = [];
    const saver = createSessionSaver("arena", (id) => created.push(id));
    let state = { turns: 1 };
    const first = saver.save(() => state);
    const second = saver.save(() => state);
    state = { turns: 2 };
    await server.release();
    // The second write waited for the first (no second POST creating a duplicate session)…
    expect(server.requests.map((request) => `${request.method} ${request.path}`)).toEqual(["POST /api/sessions", "PUT /api/sessions/s1"]);
    state = { turns: 3 };
    await server.release();
    await Promise.all([first, second]);
    expect(created).toEqual(["s1"]);
    expect(saver.current()).toBe("s1");
    // …and each write sends the document as it is when the write goes out, never an older one.
    expect(server.requests.map((request) => request.body)).toEqual([{ kind: "arena", state: { turns: 2 } }, { state: { turns: 2 } }]);
  });

  it("drops a write queued for a session the page has left", async () => {
    const server = recordingFetch();
    const saver = createSessionSaver("collaborate", () => undefined);
    saver.reset("old");
    const sent = saver.save(() => ({ a: 1 }));
    await Promise.resolve();
    const dropped = saver.save(() => ({ a: 2 }));
    saver.reset("new");
    await server.release();
    await server.release();
    await Promise.all([sent, dropped]);
    expect(server.requests.map((request) => `${request.method} ${request.path}`)).toEqual(["PUT /api/sessions/old"]);
  });

  it("keeps only the figures of a stream's usage or timings", () => {
    expect(storedNumbers({ prompt_tokens: 3, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 1 }, note: "x", bad: Number.NaN })).toEqual({ prompt_tokens: 3, completion_tokens: 4 });
    expect(storedNumbers(null)).toBeNull();
  });
});
