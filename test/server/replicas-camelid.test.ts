// A replica set whose upstreams are two real `camelid serve` processes serving stories260K: the
// gateway's greedy answer equals an upstream's own, requests alternate between idle replicas, and
// after kill -9 of one the next request routed to it fails over to the other and succeeds.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveInProcess, type ServeInProcess } from "../support/serve-in-process.js";
import { stories260KPath } from "../support/shared-data.js";
import { spawnServe, type ChildServer } from "./support/child-server.js";

const upstreams: ChildServer[] = [];
let gateway: ServeInProcess;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "camelid-replicas-llama-"));
  const started = await Promise.all(
    ["one", "two"].map((name) => spawnServe(["--model", `stories=${stories260KPath()}`, "--port", "0", "--data-dir", join(dir, name), "--ctx-size", "256"], { timeoutMs: 90_000 })),
  );
  upstreams.push(...started);
  writeFileSync(
    join(dir, "gateway.json"),
    JSON.stringify({
      port: 0,
      dataDir: "gateway",
      replicaSets: [
        {
          id: "tiny",
          // Probes only at startup within this test: which replica a request meets after the kill is then the routing rule's alone.
          healthCheck: { intervalMs: 3_600_000, timeoutMs: 30_000 },
          replicas: [
            { name: "one", url: `${started[0].url}/v1`, model: "stories" },
            { name: "two", url: `${started[1].url}/v1`, model: "stories" },
          ],
        },
      ],
    }),
  );
  gateway = await serveInProcess(["--config", join(dir, "gateway.json")]);
}, 180_000);

afterAll(async () => {
  await gateway?.stop();
  for (const upstream of upstreams) await upstream.stop("SIGKILL");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const request = { messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 12, temperature: 0 };

async function complete(url: string, model: string, stream = false): Promise<{ status: number; text: string }> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...request, model, stream }),
  });
  const body = await response.text();
  if (response.status !== 200) return { status: response.status, text: body };
  if (!stream) return { status: 200, text: (JSON.parse(body) as { choices: { message: { content: string } }[] }).choices[0].message.content };
  const events = body.split("\n\n").filter((event) => event.startsWith("data: {"));
  const text = events.map((event) => (JSON.parse(event.slice(6)) as { choices: { delta?: { content?: string } }[] }).choices[0]?.delta?.content ?? "").join("");
  return { status: 200, text };
}

async function loggedReplicas(): Promise<(string | null)[]> {
  const body = (await (await fetch(`${gateway.url}/api/requests?limit=100`)).json()) as { data: { replica: string | null; created_at: number }[] };
  return body.data.toSorted((a, b) => a.created_at - b.created_at).map((row) => row.replica);
}

describe("replicas that are camelid servers", () => {
  it("answers as the upstreams do, alternates between idle replicas, and fails over after kill -9", async () => {
    const direct = await complete(upstreams[1].url, "stories");
    expect(direct.status).toBe(200);
    expect(direct.text.length).toBeGreaterThan(0);

    const answers = [];
    for (const stream of [false, true, false, true]) answers.push(await complete(gateway.url, "tiny", stream));
    for (const answer of answers) expect(answer).toEqual({ status: 200, text: direct.text });
    expect(await loggedReplicas()).toEqual(["one", "two", "one", "two"]);

    // "one" is next in turn; killed, it fails the request before any output, and "two" answers.
    await upstreams[0].stop("SIGKILL");
    const afterKill = await complete(gateway.url, "tiny", true);
    expect(afterKill).toEqual({ status: 200, text: direct.text });
    expect((await loggedReplicas()).at(-1)).toBe("two");
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toContain('camelid_replica_failovers_total{model="tiny",replica="one"} 1');
    expect(metrics).toContain('camelid_replica_healthy{model="tiny",replica="one"} 0');
    expect(metrics).toContain('camelid_replica_requests_total{model="tiny",replica="two"} 3');
  }, 180_000);
});
