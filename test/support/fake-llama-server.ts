// A stand-in for llama-server's process behaviour only (flags, /health, logs, signals), for tests of the
// supervision code that must not wait for a real model: written as an executable script on demand.
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const SCRIPT = `#!/usr/bin/env node
// fake llama-server: --port P; /health 503 for the first probes (loading), then 200.
import { createServer } from "node:http";
const args = process.argv.slice(2);
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
  response.writeHead(404);
  response.end();
});
server.listen(port, host, () => console.error("fake llama-server listening on " + host + ":" + port));
process.on("SIGTERM", () => { console.error("fake: SIGTERM, shutting down"); process.exit(0); });
`;

/** Writes the fake into `folder` and returns its path (executable). */
export function writeFakeLlamaServer(folder: string): string {
  const path = join(folder, "fake-llama-server.mjs");
  writeFileSync(path, SCRIPT);
  chmodSync(path, 0o755);
  return path;
}
