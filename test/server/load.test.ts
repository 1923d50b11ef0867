// Bounded load on loopback with the real local provider: 32 concurrent streaming clients per model
// (stories260K and a random GQA model), every stream complete and well-formed; then 32 clients that
// disconnect mid-stream, after which no sequence is held and the next 32 still complete.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeRandomLlamaGguf } from "../../src/gguf/random-llama.js";
import { createLocalModel } from "../../src/providers/local/index.js";
import { createServerApp } from "../../src/server/app.js";
import { listen, type ListeningServer } from "../../src/server/listen.js";
import { ModelRegistry } from "../../src/server/model-registry.js";
import { openServerDatabase } from "../../src/server/store/database.js";
import { everyone } from "../../src/server/context.js";
import { RequestLog } from "../../src/server/store/request-log.js";
import { stories260KPath } from "../support/shared-data.js";
import { waitFor } from "../support/wait-for.js";

const clients = 32;
const sequences = 8;
// Short completions keep the whole file fast on 2 shared cores; 32 clients over 8 sequences still queue.
const maxTokens = 8;
let server: ListeningServer;
let registry: ModelRegistry;
let dir: string;
let requestLog: RequestLog;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "camelid-load-"));
  const gqaPath = join(dir, "random-gqa.gguf");
  // GQA: 8 query heads share 2 KV heads; the real 512-token vocabulary of stories260K keeps it small.
  await writeRandomLlamaGguf({ path: gqaPath, vocabFrom: stories260KPath(), dim: 64, layers: 2, heads: 8, kvHeads: 2, hiddenDim: 128, contextLength: 512, tiedEmbeddings: true, seed: 7 });
  const local = (id: string, modelPath: string) => ({
    id,
    kind: "local" as const,
    ownedBy: "camelid",
    capacity: sequences,
    maxQueue: 64,
    load: async () => {
      const model = createLocalModel({ modelPath, modelId: id, contextSize: 256, sequences });
      await model.load();
      return model;
    },
  });
  registry = new ModelRegistry([local("stories260K", stories260KPath()), local("random-gqa", gqaPath)]);
  await registry.loadAll();
  requestLog = new RequestLog(openServerDatabase(":memory:"));
  server = await listen(createServerApp({ registry, requestLog }).app, { host: "127.0.0.1", port: 0 });
});
afterAll(async () => {
  await server?.close();
  await registry?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function requestBody(model: string, index: number) {
  const common = { model, max_tokens: maxTokens, temperature: 0.8, seed: index, stream: true, stream_options: { include_usage: true } };
  return index % 2 === 0
    ? { path: "/v1/completions", body: { ...common, prompt: "Once upon a time" } }
    : { path: "/v1/chat/completions", body: { ...common, messages: [{ role: "user", content: `Tell story ${index}` }], prompt_format: "alpaca" } };
}

/** Reads one stream to the end and checks it is well-formed; returns the text. */
async function completeStream(model: string, index: number): Promise<string> {
  const { path, body } = requestBody(model, index);
  const response = await fetch(server.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  const events = (await response.text()).split("\n\n").filter(Boolean);
  expect(events.at(-1)).toBe("data: [DONE]");
  const chunks = events.slice(0, -1).map((event) => {
    expect(event.startsWith("data: ")).toBe(true);
    return JSON.parse(event.slice(6));
  });
  expect(chunks.some((chunk) => "error" in chunk)).toBe(false);
  const finishes = chunks.flatMap((chunk) => chunk.choices.map((choice: { finish_reason: string | null }) => choice.finish_reason)).filter(Boolean);
  expect(finishes).toHaveLength(1);
  expect(["stop", "length"]).toContain(finishes[0]);
  const usage = chunks.at(-1).usage;
  expect(usage.completion_tokens).toBeGreaterThan(0);
  expect(usage.completion_tokens).toBeLessThanOrEqual(maxTokens);
  return chunks.map((chunk) => chunk.choices[0]?.text ?? chunk.choices[0]?.delta?.content ?? "").join("");
}

/** Starts a stream and hangs up after its second chunk. */
async function disconnectMidStream(model: string, index: number): Promise<void> {
  const { path, body } = requestBody(model, index);
  const controller = new AbortController();
  const response = await fetch(server.url + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...body, max_tokens: 200 }),
    signal: controller.signal,
  });
  const reader = response.body!.getReader();
  for (let chunk = 0; chunk < 2; chunk++) if ((await reader.read()).done) break;
  controller.abort();
  await reader.cancel().catch(() => undefined);
}

function waitUntilIdle(model: string): Promise<{ active: number; queued: number }> {
  return waitFor(() => registry.get(model).scheduler.stats(), (stats) => stats.active === 0 && stats.queued === 0, { what: `${model} to go idle`, intervalMs: 25 });
}

describe.each(["stories260K", "random-gqa"])("load on %s", (model) => {
  it(`${clients} concurrent streaming clients all complete, well-formed`, async () => {
    const texts = await Promise.all(Array.from({ length: clients }, (_, index) => completeStream(model, index)));
    expect(texts).toHaveLength(clients);
    if (model === "stories260K") expect(texts.filter((text) => text.trim().length > 0).length).toBeGreaterThan(clients / 2);
  });

  it(`${clients} clients that disconnect mid-stream leak no sequences; the next ${clients} still complete`, async () => {
    await Promise.all(Array.from({ length: clients }, (_, index) => disconnectMidStream(model, index)));
    expect(await waitUntilIdle(model)).toMatchObject({ active: 0, queued: 0 });
    // Every hung-up stream was cancelled and logged as aborted, far short of its 200 tokens.
    const aborted = requestLog.recent(1000, everyone, model).filter((row) => row.status === "aborted");
    expect(aborted).toHaveLength(clients);
    const texts = await Promise.all(Array.from({ length: clients }, (_, index) => completeStream(model, index + clients)));
    expect(texts).toHaveLength(clients);
  });
});
