// One model alias over three upstreams, each a separate process (a scripted OpenAI-compatible
// server that holds requests open on command), behind the real `camelid serve`: least-loaded
// routing, kill -9 of one upstream mid-load with failover of every request that had not started,
// in-band errors for the one that had, and recovery once the upstream is back. No timing: every
// step waits for the upstreams' own counters or the gateway's metrics.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveInProcess, type ServeInProcess } from "../support/serve-in-process.js";
import { waitFor, waitUntil } from "../support/wait-for.js";
import { spawnListening, type ChildServer } from "./support/child-server.js";

const upstreamScript = "test/server/support/replica-upstream.ts";
const names = ["a", "b", "c"] as const;
type Name = (typeof names)[number];
interface Stats {
  name: string;
  received: number;
  held: number;
  started: number;
}

const upstreams = new Map<Name, ChildServer>();
let gateway: ServeInProcess;
let dir: string;

beforeAll(async () => {
  const started = await Promise.all(names.map((name) => spawnListening(upstreamScript, [name])));
  names.forEach((name, index) => upstreams.set(name, started[index]));
  dir = mkdtempSync(join(tmpdir(), "camelid-replicas-"));
  writeFileSync(
    join(dir, "camelid.json"),
    JSON.stringify({
      port: 0,
      dataDir: "data",
      replicaSets: [
        {
          id: "tiny",
          // Probes often, so that recovery comes soon; the test still only waits for the metric.
          healthCheck: { intervalMs: 200, timeoutMs: 5000 },
          replicas: names.map((name) => ({ name, url: `${upstreams.get(name)!.url}/v1`, concurrency: 8 })),
        },
      ],
    }),
  );
  gateway = await serveInProcess(["--config", join(dir, "camelid.json")]);
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  for (const upstream of upstreams.values()) await upstream.stop("SIGKILL");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const stats = async (name: Name): Promise<Stats> => (await fetch(`${upstreams.get(name)!.url}/control/stats`)).json() as Promise<Stats>;
const allStats = () => Promise.all(names.map(stats));
const release = (name: Name) => fetch(`${upstreams.get(name)!.url}/control/release`, { method: "POST" });
const totalHeld = async (only: readonly Name[] = names) => (await Promise.all(only.map(stats))).reduce((sum, s) => sum + s.held, 0);

interface Answer {
  status: number;
  text: string;
}

/** A chat request to the gateway; resolves with the whole answer (the SSE text for a stream). */
function ask(content: string, stream = false): Promise<Answer> {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content }], stream }),
  }).then(async (response) => ({ status: response.status, text: await response.text() }));
}

/**
 * Sends a held request and waits until some upstream holds it, so the next one sees its load. The
 * answer comes wrapped: an async function returning the bare promise would wait for it.
 */
async function askHeld(content: string, stream: boolean, heldBefore: number, only: readonly Name[] = names): Promise<{ answer: Promise<Answer> }> {
  const answer = ask(content, stream);
  await waitUntil(async () => (await totalHeld(only)) === heldBefore + 1, { what: `"${content}" to be held by an upstream` });
  return { answer };
}

const servedBy = (answer: Answer): string | undefined => /served by (\w+)/.exec(answer.text)?.[1];

/** The value of one series of the gateway's /metrics, or undefined when it is absent. */
async function metric(name: string, replica: Name): Promise<number | undefined> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  const line = text.split("\n").find((row) => row.startsWith(`${name}{model="tiny",replica="${replica}"}`));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

async function requestLogReplicas(): Promise<Map<string, string | null>> {
  const body = (await (await fetch(`${gateway.url}/api/requests?limit=1000`)).json()) as { data: { id: string; replica: string | null; parameters: string; messages: string | null }[] };
  return new Map(body.data.map((row) => [JSON.parse(row.messages ?? "[]")[0]?.content as string, row.replica]));
}

describe("a model alias over three upstream processes", () => {
  it("sends each request to the replica with the fewest in flight, and logs which one served it", async () => {
    const answers: Promise<Answer>[] = [];
    for (let index = 0; index < 3; index++) answers.push((await askHeld(`hold spread ${index}`, index === 1, index)).answer);
    // Three requests, three idle replicas: one each, never two on one while another is idle.
    expect((await allStats()).map((s) => s.held)).toEqual([1, 1, 1]);

    // b finishes its request: it alone has the fewest in flight, so it gets the next one.
    await release("b");
    const fromB = await answers[1];
    expect(fromB.status).toBe(200);
    expect(servedBy(fromB)).toBe("b");
    await waitUntil(async () => (await totalHeld()) === 2, { what: "b's request to finish" });
    answers.push((await askHeld("hold after b", false, 2)).answer);
    expect((await stats("b")).held).toBe(1);

    for (const name of names) await release(name);
    const served = (await Promise.all(answers)).map((answer) => {
      expect(answer.status).toBe(200);
      return servedBy(answer);
    });
    expect(served.toSorted()).toEqual(["a", "b", "b", "c"]);
    // The request log names the replica of every row.
    const logged = await requestLogReplicas();
    expect(logged.get("hold after b")).toBe("b");
    expect(new Set(["hold spread 0", "hold spread 1", "hold spread 2"].map((content) => logged.get(content)))).toEqual(new Set(names));
  }, 120_000);

  it("fails over every request an upstream killed with kill -9 had not started, and reports the started one in-band", async () => {
    const before = Object.fromEntries((await allStats()).map((s) => [s.name, s])) as Record<Name, Stats>;
    // A stream that has output already: the replica it went to is the one that will die.
    const startedResponse = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "start then hold" }], stream: true }),
    });
    expect(startedResponse.status).toBe(200);
    const reader = startedResponse.body!.pipeThrough(new TextDecoderStream()).getReader();
    let startedText = "";
    while (!startedText.includes("served by")) startedText += (await reader.read()).value ?? "";
    const victim = servedBy({ status: 200, text: startedText }) as Name;
    const survivors = names.filter((name) => name !== victim);

    // Eight more requests (streams among them), each held before any byte: least-loaded puts two
    // on the victim (it already has one in flight) and three on each survivor.
    const held: Promise<Answer>[] = [];
    for (let index = 0; index < 8; index++) held.push((await askHeld(`hold load ${index}`, index % 3 === 0, index)).answer);
    const heldBy = Object.fromEntries((await allStats()).map((s) => [s.name, s.held]));
    expect(heldBy[victim]).toBe(2);
    for (const name of survivors) expect(heldBy[name]).toBe(3);

    await upstreams.get(victim)!.stop("SIGKILL");
    // The victim's two held requests move to the survivors: they hold all eight now.
    await waitUntil(async () => (await totalHeld(survivors)) === 8, { what: "the killed replica's requests to fail over" });
    for (const name of survivors) await release(name);
    const answers = await Promise.all(held);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(survivors).toContain(servedBy(answer));
    }

    // The started stream ends with an error event, never with a second answer from elsewhere.
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += value;
    }
    expect(rest).toMatch(/"error":/);
    expect(rest).not.toContain("served by");
    // Survivors got their own six plus the victim's two: nothing duplicated, the started one not resent.
    const after = await Promise.all(survivors.map(stats));
    expect(after.reduce((sum, s) => sum + s.received - before[s.name as Name].received, 0)).toBe(8);

    expect(await metric("camelid_replica_failovers_total", victim)).toBe(2);
    expect(await metric("camelid_replica_failures_total", victim)).toBe(3);
    expect(await metric("camelid_replica_healthy", victim)).toBe(0);
    for (const name of survivors) expect(await metric("camelid_replica_failures_total", name)).toBe(0);
    expect(await metric("camelid_replica_in_flight", survivors[0])).toBe(0);
    expect(await metric("camelid_replica_request_duration_seconds_count", survivors[0])).toBeGreaterThan(0);

    // /health names the replica that is down and why.
    const health = (await (await fetch(`${gateway.url}/health`)).json()) as { models: { id: string; replicas: { name: string; healthy: boolean; lastError?: string }[] }[] };
    const down = health.models.find((model) => model.id === "tiny")!.replicas.find((replica) => replica.name === victim)!;
    expect(down.healthy).toBe(false);
    expect(down.lastError).toBeTruthy();

    // While the victim is down, requests still succeed on the others (it is skipped, not tried).
    const whileDown = await ask("plain while down");
    expect(whileDown.status).toBe(200);
    expect(survivors).toContain(servedBy(whileDown));
    expect(await metric("camelid_replica_failovers_total", victim)).toBe(2);
  }, 120_000);

  it("sends requests to an upstream again once its health check passes", async () => {
    const victim = (await Promise.all(names.map(async (name) => ({ name, healthy: await metric("camelid_replica_healthy", name) })))).find((r) => r.healthy === 0)!.name;
    const port = new URL(upstreams.get(victim)!.url).port;
    upstreams.set(victim, await spawnListening(upstreamScript, [victim, port]));
    await waitFor(() => metric("camelid_replica_healthy", victim), (value) => value === 1, { what: `replica ${victim} to pass a health check` });

    // All three idle again: three held requests land one on each, the recovered one included.
    const answers: Promise<Answer>[] = [];
    for (let index = 0; index < 3; index++) answers.push((await askHeld(`hold recovered ${index}`, false, index)).answer);
    expect((await stats(victim)).held).toBe(1);
    for (const name of names) await release(name);
    expect((await Promise.all(answers)).map(servedBy).toSorted()).toEqual([...names]);
  }, 120_000);
});
