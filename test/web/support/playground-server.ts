// A `camelid serve`-equivalent server on loopback for the browser tests: the real app, SQLite on
// disk, the local llama.cpp provider with stories260K under two aliases, and a random model with
// LLaMA's 32000-token vocabulary that is slow enough (and rarely samples EOS) to be stopped mid-stream.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeRandomLlamaGguf } from "../../../src/gguf/random-llama.js";
import { createLocalModel } from "../../../src/providers/local/index.js";
import { createServerApp } from "../../../src/server/app.js";
import { ArenaStore } from "../../../src/server/arena/arena-store.js";
import { listen } from "../../../src/server/listen.js";
import { ModelRegistry, type ModelSpec } from "../../../src/server/model-registry.js";
import { ConversationStore } from "../../../src/server/store/conversations.js";
import { openServerDatabase } from "../../../src/server/store/database.js";
import { PlaygroundSessionStore } from "../../../src/server/store/playground-sessions.js";
import { RequestLog } from "../../../src/server/store/request-log.js";
import { sharedPath, stories260KPath } from "../../support/shared-data.js";

export async function startPlaygroundServer() {
  const dir = mkdtempSync(join(tmpdir(), "camelid-web-"));
  const randomPath = join(dir, "random-32k.gguf");
  await writeRandomLlamaGguf({
    path: randomPath,
    vocabFrom: sharedPath("tokenizers", "ggml-vocab-llama-spm.gguf"),
    dim: 256,
    layers: 4,
    heads: 4,
    kvHeads: 4,
    hiddenDim: 512,
    contextLength: 2048,
    tiedEmbeddings: true,
    seed: 3,
  });
  const local = (id: string, modelPath: string, contextSize: number): ModelSpec => ({
    id,
    kind: "local",
    ownedBy: "camelid",
    capacity: 2,
    maxQueue: 16,
    load: async () => {
      const model = createLocalModel({ modelPath, modelId: id, contextSize, sequences: 2 });
      await model.load();
      return model;
    },
  });
  const registry = new ModelRegistry([local("stories-a", stories260KPath(), 512), local("stories-b", stories260KPath(), 512), local("random-32k", randomPath, 2048)]);
  const db = openServerDatabase(join(dir, "camelid.sqlite"));
  const { app } = createServerApp({
    registry,
    requestLog: new RequestLog(db),
    conversations: new ConversationStore(db),
    sessions: new PlaygroundSessionStore(db),
    arena: { store: new ArenaStore(db), bootstrapRounds: 50 },
  });
  await registry.loadAll();
  const server = await listen(app, { host: "127.0.0.1", port: 0 });
  return {
    url: server.url,
    async close() {
      await server.close();
      await registry.dispose();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
