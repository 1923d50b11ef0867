// A scripted OpenAI-compatible upstream in its own process, for replica tests that must kill one
// (kill -9) and start it again. Run: node --import tsx test/server/support/replica-upstream.ts NAME [PORT]
// It serves model "tiny"; each answer is "served by NAME". The last user message steers it:
//   "hold ...": the request waits, before any response byte, until POST /control/release;
//   "start then hold": a stream sends its first text chunk, then nothing more (the process is killed);
//   anything else: answered at once.
// GET /control/stats says how many chat requests arrived, and how many are held or mid-stream now.
import {
  chatCompletionBody,
  chatCompletionChunks,
  jsonReply,
  sseReply,
  startFakeOpenAIServer,
} from "../../support/fake-openai-server.js";

const [name, portText] = process.argv.slice(2);
if (!name) throw new Error("usage: replica-upstream.ts NAME [PORT]");
const server = await startFakeOpenAIServer({ port: Number(portText ?? 0) });
const held: (() => void)[] = [];
let received = 0;
let started = 0;

server.route("GET", "/v1/models", jsonReply({ object: "list", data: [{ id: "tiny", object: "model", owned_by: name }] }));
server.route("POST", "/v1/chat/completions", async (request) => {
  received++;
  const body = request.body as { stream?: boolean; messages: { content: string }[] };
  const last = body.messages.at(-1)?.content ?? "";
  const content = `served by ${name}`;
  if (last === "start then hold" && body.stream) {
    started++;
    // The role chunk and the first text: the client has output, the answer never ends.
    return sseReply(chatCompletionChunks({ pieces: [content] }).slice(0, 2), { end: "hang" });
  }
  if (last.startsWith("hold")) await new Promise<void>((resolve) => held.push(resolve));
  return body.stream ? sseReply(chatCompletionChunks({ pieces: [content] })) : jsonReply(chatCompletionBody({ content }));
});
server.route("GET", "/control/stats", () => jsonReply({ name, received, held: held.length, started }));
server.route("POST", "/control/release", () => {
  const released = held.splice(0);
  for (const resolve of released) resolve();
  return jsonReply({ released: released.length });
});
process.stdout.write(`listening on ${server.url}\n`);
