// A stand-in for llama-server's process behaviour (flags, /health, logs, signals) and the shape of its API
// (/props, a character tokenizer, a /completion that echoes the prompt, streamed or whole), for tests of the supervision
// and the engine's plumbing that must not need a real model: written as an executable script on demand.
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const SCRIPT = `#!/usr/bin/env node
// fake llama-server: --port P; /health 503 for the first probes (loading), then 200.
import { createServer } from "node:http";
import { appendFileSync, writeFileSync } from "node:fs";
const args = process.argv.slice(2);
// The flags it was started with, for tests of how the engine maps a model's settings.
writeFileSync(new URL("./fake-llama-server.args.json", import.meta.url), JSON.stringify(args));
const port = Number(args[args.indexOf("--port") + 1]);
const host = args[args.indexOf("--host") + 1];
if (args.includes("--fail-at-start")) { console.error("fake: cannot load the model"); process.exit(1); }
let probes = 0;
const server = createServer((request, response) => {
  if (request.url === "/health") {
    probes++;
    response.writeHead(probes > 2 ? 200 : 503, { "content-type": "application/json" });
    response.end(probes > 2 ? '{"status":"ok"}' : '{"error":{"code":503,"message":"Loading model"}}');
    return;
  }
  let body = "";
  request.on("data", (chunk) => (body += chunk));
  request.on("end", () => {
    const json = body ? JSON.parse(body) : {};
    const send = (value) => { response.writeHead(200, { "content-type": "application/json" }); response.end(JSON.stringify(value)); };
    if (request.url === "/props") return send({ default_generation_settings: { n_ctx: 64 }, total_slots: 1 });
    // One token per character (its code), BOS = 1 when add_special: enough to carry prompts through.
    if (request.url === "/tokenize") appendFileSync(new URL("./fake-llama-server.tokenize.jsonl", import.meta.url), JSON.stringify({ content: json.content, special: json.parse_special }) + "\\n");
    if (request.url === "/tokenize") return send({ tokens: [...(json.add_special ? [1] : []), ...[...json.content].map((c) => c.charCodeAt(0))] });
    if (request.url === "/detokenize") return send({ content: String.fromCharCode(...json.tokens) });
    if (request.url === "/completion") {
      // Each /completion's delivery, for tests of when the engine streams.
      appendFileSync(new URL("./fake-llama-server.completions.jsonl", import.meta.url), JSON.stringify({ stream: json.stream }) + "\\n");
      // Echoes the prompt's last tokens back, one event per token as llama-server streams, then a final event;
      // or, not streamed, all of it in one body as llama-server answers.
      const reply = json.prompt.slice(-json.n_predict).map((id) => String.fromCharCode(id));
      const probs = (text) => (json.n_probs ? [{ id: text.charCodeAt(0), token: text, bytes: [text.charCodeAt(0)], logprob: -0.5, top_logprobs: [{ id: 1, token: "x", bytes: [120], logprob: -1 }] }] : []);
      const last = { stop: true, stop_type: "limit", stopping_word: "", tokens_predicted: reply.length, tokens_evaluated: json.prompt.length, timings: { prompt_n: json.prompt.length, predicted_ms: 1 }, seed: json.seed };
      if (json.stream === false) return send({ content: reply.join(""), ...(json.n_probs ? { completion_probabilities: reply.flatMap(probs) } : {}), ...last });
      response.writeHead(200, { "content-type": "text/event-stream" });
      for (const [index, text] of reply.entries()) {
        response.write("data: " + JSON.stringify({ content: text, stop: false, tokens_predicted: index + 1, ...(json.n_probs ? { completion_probabilities: probs(text) } : {}) }) + "\\n\\n");
      }
      response.end("data: " + JSON.stringify({ content: "", ...last }) + "\\n\\n");
      return;
    }
    response.writeHead(404);
    response.end();
  });
});
server.listen(port, host, () => console.error("fake llama-server listening on " + host + ":" + port));
process.on("SIGTERM", () => { console.error("fake: SIGTERM, shutting down"); process.exit(0); });
`;

/** The flags the fake written into `folder` was last started with. */
export function fakeLlamaServerArguments(folder: string): string[] {
  return JSON.parse(readFileSync(join(folder, "fake-llama-server.args.json"), "utf8")) as string[];
}

function readLines<T>(folder: string, name: string): T[] {
  const path = join(folder, name);
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as T);
}

/** Whether each /completion the fake in `folder` answered was asked to stream, in order. */
export function fakeLlamaServerCompletions(folder: string): { stream: boolean | undefined }[] {
  return readLines(folder, "fake-llama-server.completions.jsonl");
}

/** Each text the fake in `folder` was asked to /tokenize, in order, with its parse_special flag. */
export function fakeLlamaServerTokenizeCalls(folder: string): { content: string; special: boolean }[] {
  return readLines(folder, "fake-llama-server.tokenize.jsonl");
}

/** Writes the fake into `folder` and returns its path (executable). */
export function writeFakeLlamaServer(folder: string): string {
  const path = join(folder, "fake-llama-server.mjs");
  writeFileSync(path, SCRIPT);
  chmodSync(path, 0o755);
  return path;
}
