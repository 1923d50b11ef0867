// The routes the playground's settings form reads instead of hand-copying the server's rules: the
// prompt-format registry with what "auto" picks per loaded model (and why), and every sampling field's
// bounds generated from the request schema.
import { describe, expect, it } from "vitest";
import { promptFormatNames } from "../../src/prompts/index.js";
import { samplingOptionsSchema } from "../../src/server/openai/request-schemas.js";
import { FakeModel } from "./support/fake-model.js";
import { createTestServer } from "./support/test-server.js";

describe("playground settings routes", () => {
  it("lists the registry's prompt formats, the model's own template, and auto's choice only for loaded models", async () => {
    const { app, registry } = createTestServer({ models: { loaded: new FakeModel(), lazy: new FakeModel() } });
    await registry.get("loaded").model();
    const response = await app.request("/api/prompt-formats");
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.data.map((format: { name: string }) => format.name)).toEqual([...promptFormatNames(), "gguf-jinja"]);
    expect(body.data[0]).toMatchObject({ name: "alpaca", supports_system: expect.any(Boolean), description: expect.stringContaining("Alpaca") });
    expect(body.models).toEqual([
      { id: "loaded", state: "ready", auto: { name: "fake-chat", source: "heuristic", reason: "test double" } },
      // Listing formats never starts a load.
      { id: "lazy", state: "unloaded", auto: null },
    ]);
    expect(registry.get("lazy").status().state).toBe("unloaded");
  });

  it("serves each sampling field's type and bounds from the zod schema that checks requests", async () => {
    const { app } = createTestServer();
    const body = await (await app.request("/api/sampling-limits")).json();
    expect(body.object).toBe("sampling_limits");
    expect(body.fields.temperature).toEqual({ type: "number", minimum: 0, maximum: 2 });
    expect(body.fields.top_p).toEqual({ type: "number", exclusiveMinimum: 0, maximum: 1 });
    expect(body.fields.seed).toEqual({ type: "integer", minimum: 0, maximum: 0xffffffff });
    expect(body.fields.max_tokens).toMatchObject({ type: "integer", minimum: 1 });
    // Exactly the request schema's fields: a new one appears here without a second list to update.
    expect(Object.keys(body.fields).sort()).toEqual(Object.keys(samplingOptionsSchema.shape).sort());
  });
});
