// The read-only safety report routes, socket-free through app.request().
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createServerApp } from "../../src/server/app.js";
import { hashApiKey } from "../../src/server/auth.js";
import type { OpenAIErrorBody } from "../../src/errors/index.js";
import { ModelRegistry } from "../../src/server/model-registry.js";
import type { SafetyReportList } from "../../src/server/routes/safety-reports.js";
import { sampleSafetyReport, writeSafetyReport } from "./support/safety-reports.js";

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "camelid-safety-"));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

const appFor = (options: { keys?: Record<string, string> } = {}) =>
  createServerApp({
    registry: new ModelRegistry([]),
    safetyReportsDirectory: join(directory, "safety"),
    apiKeys: Object.entries(options.keys ?? {}).map(([name, key]) => ({ name, sha256: hashApiKey(key), revoked: false })),
  }).app;

describe("safety report routes", () => {
  it("list nothing before any report is written", async () => {
    const response = await appFor().request("/api/safety/reports");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ object: "list", data: [] });
  });

  it("list the reports under <data dir>/safety and return one as eval safety wrote it", async () => {
    const report = sampleSafetyReport();
    writeSafetyReport(join(directory, "safety"), "tiny-llama2", report);
    writeSafetyReport(join(directory, "safety"), "broken", "{not json");
    const app = appFor();
    const list = (await (await app.request("/api/safety/reports")).json()) as SafetyReportList;
    expect(list.data).toEqual([
      { name: "broken", error: expect.stringMatching(/safety report "broken" cannot be read: broken\/report\.json: not valid JSON/) },
      { name: "tiny-llama2", model: "tiny-chat", judge: "rater", rubric: "llama2", created: "2026-12-07T12:00:00.000Z", violation_rate: 1 / 3, false_refusal_rate: 0.5 },
    ]);
    const one = await app.request("/api/safety/reports/tiny-llama2");
    expect(one.status).toBe(200);
    expect(await one.json()).toEqual(report);
  });

  it("answer a missing, damaged or path-like name with a named 404, never a 500 or a file outside the folder", async () => {
    writeSafetyReport(join(directory, "safety"), "foreign", { format: "something-else" });
    writeSafetyReport(directory, "outside", sampleSafetyReport());
    const app = appFor();
    for (const path of ["/api/safety/reports/nope", "/api/safety/reports/..", "/api/safety/reports/%2E%2E%2Foutside", "/api/safety/reports/..%2Foutside"]) {
      const response = await app.request(path);
      expect(response.status, path).toBe(404);
      expect(((await response.json()) as OpenAIErrorBody).error.type).toBe("not_found_error");
    }
    const foreign = await app.request("/api/safety/reports/foreign");
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as OpenAIErrorBody).error.message).toMatch(/cannot be read: .*not an eval safety report \(field "format"/);
  });

  it("need a key when the server has keys", async () => {
    writeSafetyReport(join(directory, "safety"), "tiny", sampleSafetyReport());
    const app = appFor({ keys: { alice: "sk-alice" } });
    expect((await app.request("/api/safety/reports")).status).toBe(401);
    expect((await app.request("/api/safety/reports/tiny", { headers: { authorization: "Bearer sk-alice" } })).status).toBe(200);
  });
});
