// Issue 14, points 10 and 12: input never produces a 500; parameters follow one set of rules at the
// edge; the 500s that remain (bugs) are logged with their stack to stderr and the request log.
import { describe, expect, it } from "vitest";
import { createArenaApp } from "../web/support/arena-app.js";
import { scriptedModel } from "../support/scripted-model.js";
import { createTestServer, postJson } from "./support/test-server.js";

/** JSON text nested `depth` objects deep (built as text: JSON.stringify itself overflows the stack on it). */
const nested = (depth: number, leaf = "1") => '{"a":'.repeat(depth) + leaf + "}".repeat(depth);

async function expectOpenAIError(response: Response, status: number, param?: string) {
  expect(response.status).toBe(status);
  const body = await response.json();
  expect(body.error).toMatchObject({ message: expect.any(String), type: expect.any(String) });
  if (param) expect(body.error.param).toBe(param);
}

describe("no 500s from input", () => {
  it("a percent sign in a model id (decoded twice before) is a 404", async () => {
    const { app } = createTestServer();
    await expectOpenAIError(await app.request("/v1/models/%25"), 404, "model");
    await expectOpenAIError(await app.request("/v1/models/%E0%A4%A"), 404, "model");
  });

  it("non-integer limit and offset are 400s naming the parameter", async () => {
    const { app } = createTestServer();
    await expectOpenAIError(await app.request("/api/conversations?limit=1.5"), 400, "limit");
    await expectOpenAIError(await app.request("/api/conversations?offset=abc"), 400, "offset");
    await expectOpenAIError(await app.request("/api/conversations?offset=-1"), 400, "offset");
    await expectOpenAIError(await app.request("/api/requests?limit=1e3"), 400, "limit");
    expect((await app.request("/api/conversations?limit=5&offset=0")).status).toBe(200);
  });

  it("JSON nested 5,000 deep in conversation settings or a response_format schema is a 400", async () => {
    const { app, conversations } = createTestServer();
    await expectOpenAIError(await postJson(app, "/api/conversations", `{"title":"deep","settings":{"window":${nested(5000)}}}`), 400);
    expect(conversations.list({ owner: null, seesAll: true })).toEqual([]);
    const schema = `{"type":"json_schema","json_schema":{"name":"deep","schema":${nested(5000, '{"type":"string"}')}}}`;
    await expectOpenAIError(await postJson(app, "/v1/chat/completions", `{"model":"fake","messages":[{"role":"user","content":"x"}],"response_format":${schema}}`), 400);
    // 500,000 deep fits in 1 MiB; the check must not overflow the stack itself.
    const deepest = "[".repeat(500_000) + "]".repeat(500_000);
    await expectOpenAIError(await postJson(app, "/v1/completions", `{"model":"fake","prompt":"x","extra":${deepest}}`), 400);
  });

  it("a lone surrogate is a 400; every other character is logged exactly as sent", async () => {
    const model = scriptedModel();
    const { app, requestLog } = createTestServer({ models: { echo: model } });
    const lone = await postJson(app, "/v1/completions", '{"model":"echo","prompt":"broken \\ud800 half","max_tokens":2}');
    await expectOpenAIError(lone, 400, "prompt");
    expect(model.calls).toHaveLength(0);
    const bytes = new Uint8Array([...new TextEncoder().encode('{"model":"echo","prompt":"'), 0xff, 0xfe, ...new TextEncoder().encode('","max_tokens":2}')]);
    await expectOpenAIError(await app.request("/v1/completions", { method: "POST", headers: { "content-type": "application/json" }, body: bytes }), 400, "body");

    const prompt = "naïve 🦙 e\u0301 \u200d\u{1F469}\u200d\u{1F4BB} \u0000 \\ \"quoted\" \ufeff";
    const response = await postJson(app, "/v1/completions", { model: "echo", prompt, max_tokens: 2 });
    expect(response.status).toBe(200);
    const row = requestLog.get((await response.json()).id)!;
    expect(Buffer.from(row.prompt!, "utf8").equals(Buffer.from(prompt, "utf8"))).toBe(true);
  });

  it("a bug that becomes a 500 is logged with its stack to the log sink and the request log", async () => {
    const lines: string[] = [];
    const model = scriptedModel();
    model.renderPrompt = async () => {
      throw new TypeError("Cannot read properties of undefined (reading 'tokens')");
    };
    model.doGenerate = async () => {
      throw new TypeError("Cannot read properties of undefined (reading 'choices')");
    };
    const { app, requestLog } = createTestServer({ models: { buggy: model }, log: (line) => lines.push(line) });

    const render = await postJson(app, "/v1/chat/completions/render", { model: "buggy", messages: [{ role: "user", content: "x" }] });
    expect(render.status).toBe(500);
    expect((await render.json()).error).toMatchObject({ type: "server_error", message: "internal server error" });
    const renderRow = requestLog.get(render.headers.get("x-request-id")!)!;
    expect(renderRow).toMatchObject({ endpoint: "POST /v1/chat/completions/render", status: "error", http_status: 500 });
    expect(renderRow.error).toMatch(/TypeError: Cannot read properties of undefined \(reading 'tokens'\)\n\s+at /);

    const generate = await postJson(app, "/v1/chat/completions", { model: "buggy", messages: [{ role: "user", content: "x" }] });
    expect(generate.status).toBe(500);
    const generateRow = requestLog.get(generate.headers.get("x-request-id")!)!;
    expect(generateRow).toMatchObject({ endpoint: "chat.completions", status: "error", http_status: 500 });
    expect(generateRow.error).toMatch(/reading 'choices'\)\n\s+at /);
    // Each 500 once on the log sink, with its stack.
    expect(lines.filter((line) => line.includes("internal error"))).toHaveLength(2);
    expect(lines.join("\n")).toMatch(/reading 'tokens'\)\n\s+at /);
    expect(lines.join("\n")).toMatch(/reading 'choices'\)\n\s+at /);
  });
});

describe("one set of sampling rules at the edge (point 12)", () => {
  it("seed -1 and top_p 0 are refused alike by chat, completions, arena battles and conversation settings", async () => {
    const { app } = createTestServer();
    const cases: [string, unknown, string][] = [
      ["/v1/chat/completions", { model: "fake", messages: [{ role: "user", content: "x" }], seed: -1 }, "seed"],
      ["/v1/completions", { model: "fake", prompt: "x", seed: 2 ** 32 }, "seed"],
      ["/v1/completions", { model: "fake", prompt: "x", top_p: 0 }, "top_p"],
      ["/api/conversations", { title: "t", settings: { seed: -1 } }, "settings.seed"],
      ["/api/conversations", { title: "t", settings: { top_p: 0 } }, "settings.top_p"],
    ];
    for (const [path, body, param] of cases) await expectOpenAIError(await postJson(app, path, body), 400, param);

    const { call } = createArenaApp();
    const battle = await call("POST", "/api/arena/battles", { message: "Hello", settings: { seed: -1 } });
    await expectOpenAIError(battle, 400, "settings.seed");
    // Within the rules a battle's settings work for both sides.
    const ok = await (await call("POST", "/api/arena/battles", { message: "Hello", settings: { seed: 4294967295, stop: "\n\n", top_p: 1 } })).json();
    const answer = await call("POST", `/api/arena/battles/${ok.id}/answers/a`, {});
    expect(answer.status).toBe(200);
    expect(await answer.text()).toContain('"type":"done"');
  });
});
