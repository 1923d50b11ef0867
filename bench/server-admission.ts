/**
 * The server's reaction times that test/server/routes.test.ts checks by counting (not timing): each
 * figure against its reference measured in the same run, with the test's fake model (one word per
 * token, a fixed delay between tokens).
 *
 *   npx tsx bench/server-admission.ts [--rounds 9] [--token-delay 20]
 *
 * 1. Continuous admission: time to the first chunk of a request that arrives while another streams,
 *    over the same request's time to first chunk on a fresh server (goal ≤ 1.5x; queued behind the
 *    running stream it would be the stream's whole remaining length).
 * 2. Hang-up: from a client leaving mid-stream to its sequence being free, in token delays
 *    (goal ≤ 1: the step under way may finish, the next must not start).
 */
import { createTestServer, postJson } from "../test/server/support/test-server.js";
import { FakeModel } from "../test/server/support/fake-model.js";
import { argument, median } from "./measure.js";

const rounds = Number(argument("rounds", "9"));
const tokenDelayMs = Number(argument("token-delay", "20"));
const chat = (maxTokens: number) => ({ model: "fake", messages: [{ role: "user", content: "Hi" }], stream: true, max_tokens: maxTokens });

/** Milliseconds from sending a streaming request to its first chunk; the reader is returned to cancel. */
async function firstChunk(app: ReturnType<typeof createTestServer>["app"], maxTokens: number) {
  const started = performance.now();
  const response = await postJson(app, "/v1/chat/completions", chat(maxTokens));
  const reader = response.body!.getReader();
  await reader.read();
  return { ms: performance.now() - started, reader };
}

const alone: number[] = [];
const beside: number[] = [];
const freedInTokens: number[] = [];
// Round -1 warms the JIT up and is not counted.
for (let round = -1; round < rounds; round++) {
  const model = new FakeModel({ tokenDelayMs });
  const { app } = createTestServer({ models: { fake: model }, capacity: 4 });

  const idle = await firstChunk(app, 8);
  if (round >= 0) alone.push(idle.ms);
  await idle.reader.cancel();

  const long = await firstChunk(app, 256);
  for (let chunk = 0; chunk < 3; chunk++) await long.reader.read();
  const late = await firstChunk(app, 8);
  if (round >= 0) beside.push(late.ms);
  await late.reader.cancel();

  const controller = new AbortController();
  const response = await app.request("/v1/chat/completions", { method: "POST", body: JSON.stringify(chat(400)), signal: controller.signal });
  const reader = response.body!.getReader();
  for (let chunk = 0; chunk < 3; chunk++) await reader.read();
  const activeBefore = model.active;
  const hungUpAt = performance.now();
  controller.abort();
  await reader.cancel().catch(() => undefined);
  while (model.active >= activeBefore) await new Promise((resolve) => setTimeout(resolve, 1));
  if (round >= 0) freedInTokens.push((performance.now() - hungUpAt) / tokenDelayMs);
  await long.reader.cancel();
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
console.log(`# server admission and hang-up, fake model with ${tokenDelayMs} ms per token, median of ${rounds}`);
console.log(`first chunk beside a running stream ${ms(median(beside))}  on an idle server ${ms(median(alone))}  → ${(median(beside) / median(alone)).toFixed(2)}x (goal ≤ 1.5x)`);
console.log(`sequence freed after a hang-up in ${median(freedInTokens).toFixed(2)} token delays (max ${Math.max(...freedInTokens).toFixed(2)}; goal ≤ 1)`);
