import { createServerApp } from "../../../src/server/app.js";
import type { BattleAnswerEvent } from "../../../src/server/arena/arena-routes.js";
import { ArenaStore } from "../../../src/server/arena/arena-store.js";
import { hashApiKey } from "../../../src/server/auth.js";
import { ModelRegistry, type ModelSpec } from "../../../src/server/model-registry.js";
import { ImageIntake, type ImageOptions } from "../../../src/server/images/image-intake.js";
import { ImageStore } from "../../../src/server/images/image-store.js";
import { ConversationStore } from "../../../src/server/store/conversations.js";
import { RequestLog } from "../../../src/server/store/request-log.js";
import { openServerDatabase } from "../../../src/server/store/database.js";
import { PlaygroundSessionStore } from "../../../src/server/store/playground-sessions.js";
import { scriptedModel } from "../../support/scripted-model.js";

/** Models that each answer "<name> says: <last user message>", so a test can tell them apart. */
export function createArenaApp(
  options: {
    models?: string[];
    votesPerDay?: number;
    random?: () => number;
    keys?: Record<string, string>;
    adminKeys?: Record<string, string>;
    delayMs?: number;
    failingLoads?: string[];
    /** Each model's answer to the last user message (default "<id> says: <message>"). */
    reply?: (id: string, message: string) => string;
    /** Models that can see (the "vision" capability). */
    vision?: string[];
    /** Where the server keeps images (absent: it takes none); with it, a request log records the calls. */
    imagesDirectory?: string;
    imageOptions?: ImageOptions;
    /** The image store (default: one over imagesDirectory); tests inject one that counts its writes. */
    imageStore?: ImageStore;
    /** Tokens each image takes in the scripted models' rendered prompts (as a projector would say). */
    imageTokens?: number;
    bodyLimitBytes?: number;
  } = {},
) {
  const ids = options.models ?? ["alpha", "beta"];
  const reply = options.reply ?? ((id: string, message: string) => `${id} says: ${message}`);
  const models = Object.fromEntries(
    ids.map((id) => [id, scriptedModel({ modelId: id, delayMs: options.delayMs, imageTokens: options.imageTokens, reply: (o) => reply(id, String(o.messages?.filter((m) => m.role === "user").at(-1)?.content)) })]),
  );
  const loads: Record<string, number> = {};
  const specs: ModelSpec[] = ids.map((id) => ({
    id,
    kind: "local",
    ownedBy: "camelid",
    capacity: 4,
    maxQueue: 16,
    ...(options.vision?.includes(id) ? { capabilities: ["vision" as const] } : {}),
    load: async () => {
      loads[id] = (loads[id] ?? 0) + 1;
      if (options.failingLoads?.includes(id)) throw new Error(`${id}.gguf is corrupt`);
      return models[id];
    },
  }));
  const db = openServerDatabase(":memory:");
  const clock = { now: Date.UTC(2026, 0, 10, 12, 0, 0) };
  const store = new ArenaStore(db, () => clock.now);
  const apiKeys = [
    ...Object.entries(options.keys ?? {}).map(([name, key]) => ({ name, sha256: hashApiKey(key), revoked: false })),
    ...Object.entries(options.adminKeys ?? {}).map(([name, key]) => ({ name, sha256: hashApiKey(key), revoked: false, admin: true })),
  ];
  const requestLog = options.imagesDirectory ? new RequestLog(db) : undefined;
  const { app } = createServerApp({
    ...(options.imagesDirectory ? { images: new ImageIntake(options.imageStore ?? new ImageStore(options.imagesDirectory), options.imageOptions), requestLog } : {}),
    ...(options.bodyLimitBytes ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
    registry: new ModelRegistry(specs),
    conversations: new ConversationStore(db),
    sessions: new PlaygroundSessionStore(db, () => clock.now),
    arena: { store, votesPerClientPerDay: options.votesPerDay, random: options.random, bootstrapRounds: 50 },
    apiKeys,
  });
  const call = async (method: string, path: string, body?: unknown, key?: string) =>
    app.request(path, {
      method,
      headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return { app, store, clock, models, call, loads, db, requestLog };
}

/** The arena SSE events of one answer stream, parsed. */
export async function readEvents(response: Response): Promise<BattleAnswerEvent[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .filter((block) => block.startsWith("data: "))
    .map((block) => JSON.parse(block.slice(6)));
}
