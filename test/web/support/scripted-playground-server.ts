// A `camelid serve`-equivalent server on loopback for browser tests that script what the models do:
// the real app and SQLite file, with scripted models that can fail, stall mid-answer or fail to load.
// It can be "restarted" on a copy of its database taken mid-stream (what kill -9 would leave) on the
// same port, so the page keeps its origin and local storage.
import { join } from "node:path";
import { createServerApp } from "../../../src/server/app.js";
import { ArenaStore } from "../../../src/server/arena/arena-store.js";
import { listen } from "../../../src/server/listen.js";
import { ModelRegistry, type ModelSpec } from "../../../src/server/model-registry.js";
import { ConversationStore } from "../../../src/server/store/conversations.js";
import { openServerDatabase } from "../../../src/server/store/database.js";
import { PlaygroundSessionStore } from "../../../src/server/store/playground-sessions.js";
import { RequestLog } from "../../../src/server/store/request-log.js";
import { ImageIntake } from "../../../src/server/images/image-intake.js";
import { ImageStore } from "../../../src/server/images/image-store.js";
import { scriptedModel, type ScriptedModelSettings } from "../../support/scripted-model.js";

export type ScriptedServerModel = ScriptedModelSettings & {
  loadError?: string;
  /** A load that reports these fractions done, then waits for `until` (the test decides when it ends). */
  loadProgress?: { fractions: number[]; until: Promise<void> };
  /** The model takes images (the "vision" capability). */
  vision?: boolean;
};

export interface ScriptedPlayground {
  url: string;
  port: number;
  /** Copies the database as it is now, as a crash at this instant would leave it. */
  snapshot(path: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts the server on `databasePath` (created if missing); port 0 picks a free one. */
export async function startScriptedPlayground(options: { directory: string; models: Record<string, ScriptedServerModel>; databasePath?: string; port?: number }): Promise<ScriptedPlayground> {
  const specs: ModelSpec[] = Object.entries(options.models).map(([id, { loadError, loadProgress, vision, ...settings }]) => {
    const model = scriptedModel({ modelId: id, reply: (o) => `${id} says: ${o.messages?.filter((m) => m.role === "user").at(-1)?.content}`, ...settings });
    return {
      id,
      kind: "local",
      ownedBy: "camelid",
      capacity: 2,
      maxQueue: 8,
      ...(vision ? { capabilities: ["vision" as const] } : {}),
      load: async (onProgress) => {
        if (loadError) throw new Error(loadError);
        if (loadProgress) {
          for (const fraction of loadProgress.fractions) onProgress?.(fraction);
          await loadProgress.until;
        }
        return model;
      },
    };
  });
  const registry = new ModelRegistry(specs);
  const db = openServerDatabase(options.databasePath ?? join(options.directory, "camelid.sqlite"));
  const conversations = new ConversationStore(db);
  conversations.markInterruptedReplies();
  const { app } = createServerApp({ registry, requestLog: new RequestLog(db), conversations, sessions: new PlaygroundSessionStore(db), arena: { store: new ArenaStore(db), bootstrapRounds: 20 }, images: new ImageIntake(new ImageStore(join(options.directory, "images"))) });
  const server = await listen(app, { host: "127.0.0.1", port: options.port ?? 0 });
  let closed = false;
  return {
    url: server.url,
    port: server.port,
    snapshot: async (path) => {
      await db.backup(path);
    },
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
      await registry.dispose();
      db.close();
    },
  };
}
