// Model load progress: node-llama-cpp's onLoadProgress → the local provider → the server's model
// registry → /v1/models `status.progress`, which every playground picker reads. Event-driven: the
// checks run inside the progress callbacks and after the load's own promise, never after a delay.
import { describe, expect, it } from "vitest";
import { createLocalModel } from "../../src/providers/local/index.js";
import { ModelRegistry, type LoadProgressListener, type ModelStatus } from "../../src/server/model-registry.js";
import { stories260KPath } from "../support/shared-data.js";
import { createServerApp } from "../../src/server/app.js";
import { ConversationStore } from "../../src/server/store/conversations.js";
import { openServerDatabase } from "../../src/server/store/database.js";
import { RequestLog } from "../../src/server/store/request-log.js";
import { FakeModel } from "./support/fake-model.js";

describe("model load progress", () => {
  it("reports a real llama.cpp load of stories260K in the registry's status, rising to 1, then ready", async () => {
    const seen: number[] = [];
    const statusesWhileLoading: ModelStatus[] = [];
    const registry = new ModelRegistry([
      {
        id: "stories",
        kind: "local",
        ownedBy: "camelid",
        capacity: 1,
        maxQueue: 1,
        load: async (onProgress) => {
          const model = createLocalModel({ modelPath: stories260KPath(), modelId: "stories", contextSize: 128, sequences: 1 });
          await model.load((fraction) => {
            onProgress?.(fraction);
            seen.push(fraction);
            statusesWhileLoading.push(registry.get("stories").status());
          });
          return model;
        },
      },
    ]);
    try {
      expect(await registry.loadAll()).toEqual([]);
      expect(seen.length).toBeGreaterThan(1);
      expect(seen.at(-1)).toBe(1);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      // Every report reached the registry while the model was still loading.
      expect(statusesWhileLoading.every((status) => status.state === "loading")).toBe(true);
      expect(statusesWhileLoading.map((status) => status.progress)).toEqual(seen);
      const ready = registry.get("stories").status();
      expect(ready.state).toBe("ready");
      expect(ready.progress).toBeUndefined();
    } finally {
      await registry.dispose();
    }
  }, 60_000);

  it("serves the fraction loaded in /v1/models while a model loads, and drops it once ready", async () => {
    const model = new FakeModel();
    let report!: LoadProgressListener;
    let finish!: () => void;
    let loadStarted!: () => void;
    const started = new Promise<void>((resolve) => (loadStarted = resolve));
    const registry = new ModelRegistry([
      {
        id: "fake",
        kind: "local",
        ownedBy: "camelid",
        capacity: 1,
        maxQueue: 1,
        // Reports what the test tells it to and finishes when told: the test drives every step.
        load: (onProgress) =>
          new Promise((resolve) => {
            report = onProgress!;
            finish = () => resolve(model);
            loadStarted();
          }),
      },
    ]);
    const db = openServerDatabase(":memory:");
    const { app } = createServerApp({ registry, requestLog: new RequestLog(db), conversations: new ConversationStore(db) });
    const statusOf = async () => (await (await app.request("/v1/models/fake")).json()).status;
    try {
      const loading = registry.get("fake").model();
      await started;
      expect(await statusOf()).toEqual({ value: "loading" });
      report(0.25);
      expect(await statusOf()).toEqual({ value: "loading", progress: 0.25 });
      report(0.1); // a late, smaller report never moves the bar back
      report(0.75);
      expect(await statusOf()).toEqual({ value: "loading", progress: 0.75 });
      expect((await (await app.request("/v1/models")).json()).data[0].status).toEqual({ value: "loading", progress: 0.75 });
      finish();
      await loading;
      expect(await statusOf()).toEqual({ value: "ready" });
      report(0.9); // after the load: ignored
      expect(await statusOf()).toEqual({ value: "ready" });
    } finally {
      await registry.dispose();
      db.close();
    }
  });
});
