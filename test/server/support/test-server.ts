import { createServerApp, type ServerAppOptions } from "../../../src/server/app.js";
import { hashApiKey } from "../../../src/server/auth.js";
import { ModelRegistry, type ModelSpec } from "../../../src/server/model-registry.js";
import { ConversationStore } from "../../../src/server/store/conversations.js";
import { openServerDatabase } from "../../../src/server/store/database.js";
import { RequestLog } from "../../../src/server/store/request-log.js";
import type { LanguageModel } from "../../../src/spec/index.js";
import { FakeModel } from "./fake-model.js";

export interface TestServerOptions extends Partial<Omit<ServerAppOptions, "registry" | "apiKeys">> {
  models?: Record<string, LanguageModel>;
  capacity?: number;
  maxQueue?: number;
  /** Plain keys by name; hashed the way the config loader does. */
  keys?: Record<string, string>;
  /** Plain admin keys by name (they see every key's rows). */
  adminKeys?: Record<string, string>;
  revokedKeys?: string[];
  databasePath?: string;
}

/** A server app over in-memory SQLite and fake models, for socket-free `app.request()` tests. */
export function createTestServer(options: TestServerOptions = {}) {
  const models = options.models ?? { fake: new FakeModel() };
  const specs: ModelSpec[] = Object.entries(models).map(([id, model]) => ({
    id,
    kind: "local",
    ownedBy: "camelid",
    capacity: options.capacity ?? 4,
    maxQueue: options.maxQueue ?? 16,
    load: async () => model,
  }));
  const db = openServerDatabase(options.databasePath ?? ":memory:");
  const requestLog = new RequestLog(db);
  const conversations = new ConversationStore(db);
  const registry = new ModelRegistry(specs);
  const apiKeys = [
    ...Object.entries(options.keys ?? {}).map(([name, key]) => ({ name, sha256: hashApiKey(key), revoked: false })),
    ...Object.entries(options.adminKeys ?? {}).map(([name, key]) => ({ name, sha256: hashApiKey(key), revoked: false, admin: true })),
    ...(options.revokedKeys ?? []).map((key, index) => ({ name: `revoked-${index}`, sha256: hashApiKey(key), revoked: true })),
  ];
  const { app, context } = createServerApp({ requestLog, conversations, ...options, registry, apiKeys });
  return { app, context, registry, requestLog, conversations, db, models };
}

/** POST JSON through the app without a socket. */
export function postJson(app: { request: (path: string, init?: RequestInit) => Response | Promise<Response> }, path: string, body: unknown, headers: Record<string, string> = {}) {
  return app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Parses an SSE body into its `data:` payloads. */
export async function readSse(response: Response): Promise<string[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .map((event) => event.split("\n").filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\n"))
    .filter((data) => data.length > 0);
}
