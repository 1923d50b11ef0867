// Issue 14, point 8: before the vote nothing the voter can read names a battle's models: not the
// request log, not a failing side's error (which could carry a file path or an upstream URL).
import { describe, expect, it, vi } from "vitest";
import { ModelLoadError, UpstreamError } from "../../src/errors/index.js";
import { createServerApp } from "../../src/server/app.js";
import { ArenaStore } from "../../src/server/arena/arena-store.js";
import { ModelRegistry, type ModelSpec } from "../../src/server/model-registry.js";
import type { RequestLogList } from "../../src/server/routes/observability.js";
import { openServerDatabase } from "../../src/server/store/database.js";
import { RequestLog } from "../../src/server/store/request-log.js";
import type { LanguageModel } from "../../src/spec/index.js";
import { scriptedModel } from "../support/scripted-model.js";
import { readEvents } from "./support/arena-app.js";

/** Two models with telling names whose answers never mention them. */
function arena(models: Record<string, Partial<ModelSpec> & { model?: LanguageModel }>) {
  const specs: ModelSpec[] = Object.entries(models).map(([id, spec]) => ({
    id,
    kind: "local",
    ownedBy: "camelid",
    capacity: 2,
    maxQueue: 4,
    load: spec.load ?? (async () => spec.model ?? scriptedModel({ modelId: id, reply: () => "an answer" })),
  }));
  const db = openServerDatabase(":memory:");
  const store = new ArenaStore(db);
  const { app } = createServerApp({ registry: new ModelRegistry(specs), requestLog: new RequestLog(db), arena: { store, random: () => 0 } });
  const call = (method: string, path: string, body?: unknown) =>
    app.request(path, { method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { call, store };
}

describe("arena anonymity before the vote", () => {
  it("/api/requests shows the battle's rows without model names, prompts or token counts until the vote", async () => {
    const { call } = arena({ "llama-7b-secret": {}, "mistral-secret": {} });
    const battle = await (await call("POST", "/api/arena/battles", { message: "Hello" })).json();
    for (const side of ["a", "b"]) await (await call("POST", `/api/arena/battles/${battle.id}/answers/${side}`, {})).text();

    const before = (await (await call("GET", "/api/requests")).json()).data as Record<string, unknown>[];
    expect(before).toHaveLength(2);
    expect(JSON.stringify(before)).not.toMatch(/llama-7b-secret|mistral-secret/);
    expect(before[0]).toMatchObject({ model: "(hidden until the vote)", prompt: null, prompt_tokens: null });
    // Filtering by model must not single the hidden rows out either.
    expect((await (await call("GET", "/api/requests?model=llama-7b-secret")).json()).data).toEqual([]);

    expect((await call("POST", `/api/arena/battles/${battle.id}/vote`, { winner: "tie" })).status).toBe(200);
    const after = ((await (await call("GET", "/api/requests")).json()) as RequestLogList).data;
    expect(after.map((row) => row.model).sort()).toEqual(["llama-7b-secret", "mistral-secret"]);
  });

  it("a page of rows from several battles reads their battles in one store query, each row hidden or shown by its own battle", async () => {
    const { call, store } = arena({ "llama-7b-secret": {}, "mistral-secret": {} });
    const battles: { id: string }[] = [];
    for (const message of ["one", "two", "three"]) {
      const battle = await (await call("POST", "/api/arena/battles", { message })).json();
      for (const side of ["a", "b"]) await (await call("POST", `/api/arena/battles/${battle.id}/answers/${side}`, {})).text();
      battles.push(battle);
    }
    expect((await call("POST", `/api/arena/battles/${battles[1].id}/vote`, { winner: "a" })).status).toBe(200);

    const revealedBattles = vi.spyOn(store, "revealedBattles");
    const get = vi.spyOn(store, "get");
    const rows = ((await (await call("GET", "/api/requests")).json()) as RequestLogList).data;
    expect(revealedBattles).toHaveBeenCalledTimes(1);
    expect(get).not.toHaveBeenCalled();
    expect(rows).toHaveLength(6);
    const shown = (battle: { id: string }) => rows.filter((row) => row.id.startsWith(`arena-${battle.id}-`)).map((row) => row.model).sort();
    expect(shown(battles[0])).toEqual(["(hidden until the vote)", "(hidden until the vote)"]);
    expect(shown(battles[1])).toEqual(["llama-7b-secret", "mistral-secret"]);
    expect(shown(battles[2])).toEqual(["(hidden until the vote)", "(hidden until the vote)"]);
  });

  it("a retried side gets its own request-log row, as anonymous as the first", async () => {
    // llama's first answer fails; the retry succeeds. Both requests are logged, under different ids.
    const failOnce = scriptedModel({ modelId: "llama-7b-secret", reply: () => "an answer", fail: (_options, call) => (call === 1 ? "the upstream failed" : undefined) });
    const { call } = arena({ "llama-7b-secret": { model: failOnce }, "mistral-secret": {} });
    const battle = await (await call("POST", "/api/arena/battles", { message: "Hello" })).json();
    const answer = async (side: string) => {
      const response = await call("POST", `/api/arena/battles/${battle.id}/answers/${side}`, {});
      await response.text();
      return { side, status: response.status };
    };
    const statuses = await Promise.all(["a", "b"].map(answer));
    const failed = statuses.find((answer) => answer.status !== 200)!.side;
    const retried = await readEvents(await call("POST", `/api/arena/battles/${battle.id}/answers/${failed}`, {}));
    expect(retried.at(-1)).toMatchObject({ type: "done" });

    const rows = ((await (await call("GET", "/api/requests")).json()) as RequestLogList).data;
    expect(rows.map((row) => row.id).sort()).toEqual([`arena-${battle.id}-0-a`, `arena-${battle.id}-0-b`, `arena-${battle.id}-0-${failed}-try2`].sort());
    expect(JSON.stringify(rows)).not.toMatch(/llama-7b-secret|mistral-secret/);
    expect((await call("POST", `/api/arena/battles/${battle.id}/vote`, { winner: "tie" })).status).toBe(200);
    const after = ((await (await call("GET", "/api/requests")).json()) as RequestLogList).data;
    expect(after.find((row) => row.id.endsWith("-try2"))!.model).toBe("llama-7b-secret");
  });

  it("a side whose model fails once the battle exists answers with its status and code, without the model's path", async () => {
    // Models that fail to load are never drawn, so the failure comes after the draw: the model loaded,
    // then its generation reports a load failure (a file gone or corrupted since).
    const broken = scriptedModel({ modelId: "broken-model" });
    broken.doStream = async () => {
      throw new ModelLoadError("/srv/models/broken-model-q4.gguf", "cannot open /srv/models/broken-model-q4.gguf");
    };
    const { call } = arena({ good: {}, "broken-model": { model: broken } });
    const battle = await (await call("POST", "/api/arena/battles", { message: "Hello" })).json();
    const responses = await Promise.all(["a", "b"].map((side) => call("POST", `/api/arena/battles/${battle.id}/answers/${side}`, {})));
    const failed = responses.find((response) => response.status !== 200)!;
    expect(failed.status).toBe(503);
    const text = await failed.text();
    expect(text).not.toMatch(/broken-model|\/srv\/models/);
    expect(JSON.parse(text).error).toMatchObject({ type: "unavailable_error", code: "model_load_failed", message: expect.stringMatching(/^answer [AB] failed \(503/) });
  });

  it("an error in the middle of a side's stream reaches the browser without the upstream's URL", async () => {
    const failing = scriptedModel({ modelId: "remote-gpt" });
    failing.doStream = async () => ({
      warnings: [],
      stream: new ReadableStream({
        start(controller) {
          controller.enqueue({ type: "stream-start", warnings: [] });
          controller.enqueue({ type: "text-delta", choiceIndex: 0, delta: "partial" });
          controller.enqueue({ type: "error", error: new UpstreamError("http://10.0.0.7:8000/v1 (remote-gpt) closed the connection") });
          controller.close();
        },
      }),
    });
    const { call } = arena({ "remote-gpt": { model: failing }, local: {} });
    const battle = await (await call("POST", "/api/arena/battles", { message: "Hello" })).json();
    const events = (await Promise.all(["a", "b"].map(async (side) => readEvents(await call("POST", `/api/arena/battles/${battle.id}/answers/${side}`, {}))))).flat();
    const error = events.find((event) => event.type === "error")!;
    expect(error.message).toMatch(/^answer [AB] failed \(502 upstream_error\)/);
    expect(JSON.stringify(events)).not.toMatch(/10\.0\.0\.7|remote-gpt/);
  });

  it("the battles list and a battle's export name no model until the vote, then both", async () => {
    const { call } = arena({ "llama-7b-secret": {}, "mistral-secret": {} });
    const battle = await (await call("POST", "/api/arena/battles", { message: "Hello" })).json();
    for (const side of ["a", "b"]) await (await call("POST", `/api/arena/battles/${battle.id}/answers/${side}`, {})).text();
    const readable = async () => [await (await call("GET", "/api/arena/battles")).text(), await (await call("GET", `/api/arena/battles/${battle.id}/export`)).text()];

    const before = await readable();
    for (const text of before) expect(text).not.toMatch(/llama-7b-secret|mistral-secret/);
    expect(JSON.parse(before[0]).data).toEqual([expect.objectContaining({ id: battle.id, models: null })]);
    expect(JSON.parse(before[1])).toMatchObject({ id: battle.id, models: null, conversations: { a: [{ role: "user", content: "Hello" }, { role: "assistant", content: "an answer" }] } });

    expect((await call("POST", `/api/arena/battles/${battle.id}/vote`, { winner: "tie" })).status).toBe(200);
    for (const text of await readable()) expect(text).toMatch(/llama-7b-secret[^]*mistral-secret|mistral-secret[^]*llama-7b-secret/);
  });
});
