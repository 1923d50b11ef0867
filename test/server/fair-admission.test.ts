// Issue 14, point 9: fair queueing by authenticated key (not the client-chosen `user`), a 429 decided
// before the body is read, and a deadline for receiving a request so half-sent bodies cannot pile up.
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { everyone } from "../../src/server/context.js";
import { listen, type ListeningServer } from "../../src/server/listen.js";
import type { CallOptions } from "../../src/spec/index.js";
import { scriptedModel } from "../support/scripted-model.js";
import { waitUntil } from "../support/wait-for.js";
import { FakeModel } from "./support/fake-model.js";
import { createTestServer, postJson } from "./support/test-server.js";

/** A model whose first call waits until `open()`, so a test can fill the queue behind it. */
function gatedModel() {
  const model = scriptedModel();
  const generate = model.doGenerate.bind(model);
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let first = true;
  model.doGenerate = async (options: CallOptions) => {
    if (first) {
      first = false;
      await gate;
    }
    return generate(options);
  };
  return { model, open };
}

/** Resolves once `check` holds (the timeout only bounds a hang). */
const until = (check: () => boolean) => waitUntil(check, { what: "the scheduler to reach the expected state", intervalMs: 1 });

const keys = { alice: "sk-alice-key", bob: "sk-bob-key-1" };
const as = (key: string) => ({ authorization: `Bearer ${key}` });
const ask = (content: string, user?: string) => ({ model: "m", messages: [{ role: "user", content }], max_tokens: 2, ...(user ? { user } : {}) });

describe("fair queueing", () => {
  it("is keyed on the API key: a key that varies `user` per request does not get extra turns", async () => {
    const { model, open } = gatedModel();
    const { app, registry } = createTestServer({ models: { m: model }, capacity: 1, maxQueue: 16, keys });
    const scheduler = registry.get("m").scheduler;
    const all = [postJson(app, "/v1/chat/completions", ask("blocker"), as(keys.alice))];
    await until(() => scheduler.stats().active === 1);
    for (const user of ["u1", "u2", "u3"]) {
      all.push(postJson(app, "/v1/chat/completions", ask(`alice ${user}`, user), as(keys.alice)));
      await until(() => scheduler.stats().queued === all.length - 1);
    }
    all.push(postJson(app, "/v1/chat/completions", ask("bob"), as(keys.bob)));
    await until(() => scheduler.stats().queued === 4);
    open();
    await Promise.all(all);
    const order = model.calls.map((call) => call.messages!.at(-1)!.content);
    // Round-robin between alice and bob: bob goes right after alice's first queued request.
    expect(order).toEqual(["blocker", "alice u1", "bob", "alice u2", "alice u3"]);
  });

  it("without keys it is keyed on the peer address, whatever `user` says", async () => {
    const { model, open } = gatedModel();
    const peers = ["10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.2"];
    let next = 0;
    const { app, registry } = createTestServer({ models: { m: model }, capacity: 1, maxQueue: 16, peerAddress: () => peers[Math.min(next++, peers.length - 1)] });
    const scheduler = registry.get("m").scheduler;
    const all = [postJson(app, "/v1/chat/completions", ask("blocker", "x"))];
    await until(() => scheduler.stats().active === 1);
    for (const [index, content] of ["first u1", "first u2", "second"].entries()) {
      all.push(postJson(app, "/v1/chat/completions", ask(content, `u${index}`)));
      await until(() => scheduler.stats().queued === index + 1);
    }
    open();
    await Promise.all(all);
    expect(model.calls.map((call) => call.messages!.at(-1)!.content)).toEqual(["blocker", "first u1", "second", "first u2"]);
  });
});

describe("admission before the body", () => {
  // Every route that generates: the OpenAI ones, the playground's chat reply and regenerate, an arena side's answer and its regeneration.
  it.each(["/v1/chat/completions", "/v1/completions", "/api/conversations/c1/replies", "/api/conversations/c1/messages/2/regenerate", "/api/arena/battles/b1/answers/a", "/api/arena/battles/b1/answers/b/regenerate"])(
    "a full server answers 429 on %s without reading the body (even a malformed one)",
    async (path) => {
      const { model, open } = gatedModel();
      const { app, registry, conversations } = createTestServer({ models: { m: model }, capacity: 1, maxQueue: 0 });
      const blocker = postJson(app, "/v1/chat/completions", ask("blocker"));
      await until(() => registry.get("m").scheduler.stats().active === 1);
      expect(conversations.has("c1", everyone)).toBe(false); // the refusal comes before the route looks anything up
      let pulled = false;
      const body = new ReadableStream({
        pull(controller) {
          pulled = true;
          controller.enqueue(new TextEncoder().encode("{not json"));
          controller.close();
        },
      }, { highWaterMark: 0 });
      const refused = await app.request(path, { method: "POST", headers: { "content-type": "application/json" }, body, duplex: "half" } as RequestInit);
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toBe("1");
      expect((await refused.json()).error).toMatchObject({ type: "rate_limit_error", code: "queue_full" });
      expect(pulled).toBe(false);
      open();
      expect((await blocker).status).toBe(200);
      expect((await postJson(app, "/v1/chat/completions", ask("after"))).status).toBe(200);
    },
  );
});

describe("request body deadline", () => {
  let server: ListeningServer | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await server?.close();
    server = undefined;
  });

  it("closes half-sent bodies with 408 and keeps serving, without cutting a stream that outlasts the deadline", async () => {
    const { app } = createTestServer({ models: { fake: new FakeModel({ tokenDelayMs: 20 }) } });
    server = await listen(app, { host: "127.0.0.1", port: 0, requestTimeoutMs: 200, timeoutCheckIntervalMs: 20 });
    const { port } = server;
    const halfSent = Array.from({ length: 5 }, () => {
      const socket = connect(port, "127.0.0.1");
      sockets.push(socket);
      let received = "";
      socket.on("data", (data) => (received += String(data)));
      socket.write(`POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model":`);
      return new Promise<string>((resolve) => socket.on("close", () => resolve(received)));
    });
    for (const answer of await Promise.all(halfSent)) expect(answer).toMatch(/^HTTP\/1\.1 408/);

    // 20 tokens at 20 ms each: the stream lasts twice the deadline and still completes.
    const response = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "fake", prompt: "Hi", max_tokens: 20, stream: true }),
    });
    const text = await response.text();
    expect(text.trim().endsWith("data: [DONE]")).toBe(true);
  });
});
