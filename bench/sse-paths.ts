/**
 * The two ways the server writes a token stream, against each other and against the provider called
 * directly, in one process and one run: SSE written straight to the Node socket (what `camelid serve`
 * uses) and the web-stream Response body (what `app.request()` and other runtimes get; here forced by
 * calling the app without the Node response). One stream of stories260K, 128 tokens, runs interleaved,
 * ratios paired per round (each HTTP run over the direct run just before it).
 *
 *   npx tsx bench/sse-paths.ts [--rounds 9]
 */
import { resolve } from "node:path";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { createLocalModel } from "../src/providers/local/index.js";
import { createServerApp } from "../src/server/app.js";
import { ModelRegistry } from "../src/server/model-registry.js";
const model = createLocalModel({ modelPath: resolve(import.meta.dirname, "../../shared/models/stories260K.gguf"), modelId: "bench", contextSize: 256, sequences: 8 });
await model.load();
const registry = new ModelRegistry([{ id: "bench", kind: "local", ownedBy: "camelid", capacity: 8, maxQueue: 64, load: async () => model }]);
const { app } = createServerApp({ registry });
async function serve(fetch: any): Promise<{ url: string; server: Server }> {
  const server = createAdaptorServer({ fetch, hostname: "127.0.0.1", port: 0 }) as Server;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
const fast = await serve(app.fetch);
const web = await serve((req: Request) => app.fetch(req));
async function http(url: string, seed: number) {
  const t0 = performance.now();
  const r = await fetch(`${url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "bench", prompt: "Once upon a time", max_tokens: 128, temperature: 0.8, seed, stream: true }) });
  const reader = r.body!.getReader(); const dec = new TextDecoder(); let buf = ""; let n = 0; let first = 0;
  for (;;) { const { done, value } = await reader.read(); if (done) break; buf += dec.decode(value, { stream: true }); let e; while ((e = buf.indexOf("\n\n")) >= 0) { const ev = buf.slice(6, e); buf = buf.slice(e + 2); if (ev !== "[DONE]") { const j = JSON.parse(ev); if (j.choices[0]?.text) { if (!first) first = performance.now(); n++; } } } }
  return (n - 1) / ((performance.now() - first) / 1000);
}
async function direct(seed: number) {
  const { stream } = await model.doStream({ prompt: "Once upon a time", maxTokens: 128, temperature: 0.8, seed });
  let n = 0, first = 0; for await (const p of stream as any) if (p.type === "text-delta") { if (!first) first = performance.now(); n++; }
  return (n - 1) / ((performance.now() - first) / 1000);
}
const res: Record<string, number[]> = { direct: [], fast: [], web: [] };
await http(fast.url, 99); await http(web.url, 99); await direct(99);
const rounds = Number(process.argv[process.argv.indexOf("--rounds") + 1]) || 9;
for (let i = 0; i < rounds; i++) {
  res.direct.push(await direct(i)); res.fast.push(await http(fast.url, i)); res.web.push(await http(web.url, i));
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const paired = (a: number[]) => med(a.map((v, i) => v / res.direct[i]));
console.log(`direct ${med(res.direct).toFixed(0)} tok/s; socket path ${med(res.fast).toFixed(0)} (${paired(res.fast).toFixed(2)}x paired); web-stream path ${med(res.web).toFixed(0)} (${paired(res.web).toFixed(2)}x paired); socket/web ${med(res.fast.map((v, i) => v / res.web[i])).toFixed(2)}x paired`);
fast.server.close(); web.server.close(); fast.server.closeAllConnections(); web.server.closeAllConnections(); await model.dispose();
