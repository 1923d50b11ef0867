/**
 * Speed parity of camelid's local engines with llama.cpp's own tools, same models, threads and run:
 *
 *   in-process     `camelid serve` (node-llama-cpp's prebuilt llama.cpp), as a child process
 *   llama-server   `camelid serve --engine llama-server` (camelid in front of a supervised llama-server),
 *                  measured when this build of camelid has the engine, else reported as missing
 *   direct         llama.cpp's `llama-server` (`-t T -np S -c S×ctx --no-kv-unified --flash-attn off`: camelid's settings)
 *   llama-bench    llama.cpp's `llama-bench -n N -p 0 -t T`: single-sequence decode, no HTTP
 *
 *   npx tsx bench/engine-parity.ts --quick                      # random-24m, 1 and 8 streams, 1 repeat
 *   npx tsx bench/engine-parity.ts [--models random-24m,random-110m-q8_0] [--threads 1,2] [--streams 1,8,32]
 *                                  [--tokens 128] [--repeats 3] [--llama-bin-dir DIR] [--no-probe] [--in-process-threads N]
 *                                  [--engine-checkout DIR] [--stream] [--no-in-process] [--flash-attention]
 *                                  [--in-process-uv-threadpool-size N]
 *
 * Threads default to 1 everywhere: node-llama-cpp with 2 threads decodes ~1 token/s on a busy 2-core
 * machine (the probe below says why), which would take this run hours. `--threads 1,2 --in-process-threads 1`
 * compares llama.cpp at 1 and 2 threads with the in-process engine at its best count.
 *
 * The llama.cpp binaries come from --llama-bin-dir, else $LLAMA_BIN_DIR, else ../llama-build/bin beside
 * this checkout (`--llama-server PATH` / `--llama-bench PATH` name them one by one). Build them from the
 * llama.cpp that node-llama-cpp carries, so that both sides run the same llama.cpp version.
 *
 * All servers take the same requests from this process (non-streamed /v1/completions, max_tokens
 * tokens, temperature 0.8, one seed per stream), S at once; a figure is completion tokens / wall
 * time, the median over repeats. `--stream` sends them streamed (stream: true, usage in the last
 * event) to every server instead; `--no-in-process` leaves the in-process engine out. Every server runs
 * with camelid's attention settings (per-sequence KV cells, flash attention off unless --flash-attention). Variants run interleaved within each repeat so that drift in the
 * machine's load hits them alike; the load average is printed with every section.
 *
 * Goals (issue 16): llama-server engine ≥ 0.95x direct llama-server at 8 and 32 streams; in-process
 * engine ≥ 0.9x llama-bench decode (1 stream) and ≥ 0.9x direct llama-server at 8 streams.
 *
 * The thread probe (bench/threads-probe.ts under strace) counts the threads node-llama-cpp creates per
 * decoded token at 1 and 2 threads, and its CPU time per token: the README's "Performance" section.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { benchModelPath } from "./bench-models.js";
import { argument, median } from "./measure.js";
import { readCpuFacts, usableCores } from "../src/spec/cpu-threads.js";

const repoRoot = resolve(import.meta.dirname, "..");
const quick = process.argv.includes("--quick");
const list = (name: string, fallback: string) => argument(name, fallback).split(",").filter(Boolean);
const models = list("models", quick ? "random-24m" : "random-24m,random-110m-q8_0");
const threadCounts = list("threads", "1").map(Number);
const streamCounts = list("streams", quick ? "1,8" : "1,8,32").map(Number);
const tokens = Number(argument("tokens", quick ? "48" : "128"));
const repeats = Number(argument("repeats", quick ? "1" : "3"));
const binDir = argument("llama-bin-dir", process.env.LLAMA_BIN_DIR ?? resolve(repoRoot, "../llama-build/bin"));
const llamaServerBin = argument("llama-server", join(binDir, "llama-server"));
const llamaBenchBin = argument("llama-bench", join(binDir, "llama-bench"));
const probe = !process.argv.includes("--no-probe");
/** The camelid checkout whose `serve --engine llama-server` is measured (this one unless told; e.g. a branch not yet merged). */
const engineCheckout = resolve(argument("engine-checkout", repoRoot));
/** The in-process engine's threads when they should differ from the others' (its best count, where theirs is another). */
const inProcessThreads = process.argv.includes("--in-process-threads") ? Number(argument("in-process-threads", "1")) : undefined;
const streamed = process.argv.includes("--stream");
const inProcess = !process.argv.includes("--no-in-process");
/** `camelid serve --uv-threadpool-size N` for the in-process engine (1: every decode on one libuv thread, one OpenMP team). */
const inProcessPool = process.argv.includes("--in-process-uv-threadpool-size") ? argument("in-process-uv-threadpool-size", "1") : undefined;
/** Flash attention on everywhere (camelid's --flash-attention, llama-server's --flash-attn on); off by default, as in camelid. */
const flashAttention = process.argv.includes("--flash-attention");
const prompt = "Once upon a time";
const maxStreams = Math.max(...streamCounts);
const contextPerSequence = Math.max(128, tokens + 32);

const load = () => loadavg().map((value) => value.toFixed(1)).join(" ");
const say = (line: string) => process.stdout.write(`${line}\n`);

interface Server {
  name: string;
  url: string;
  child: ChildProcess;
  log: string[];
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolvePort(port));
    });
  });
}

/** Starts a server process and waits until GET /health answers 200 (llama-server answers 503 while loading). */
async function startServer(name: string, command: string, args: string[], url: string | ((log: string) => string | undefined), cwd = repoRoot): Promise<Server> {
  const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  // A run that dies on an error leaves no server behind.
  process.once("exit", () => child.kill("SIGKILL"));
  const log: string[] = [];
  const collect = (data: Buffer) => {
    log.push(String(data));
    if (log.length > 200) log.shift();
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  let exited: string | undefined;
  child.once("exit", (code, signal) => (exited = `exited with ${code ?? signal}`));
  child.once("error", (error) => (exited = `could not start: ${error.message}`));
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${name} ${exited}: ${log.join("").slice(-600)}`);
    const base = typeof url === "string" ? url : url(log.join(""));
    if (base) {
      const healthy = await fetch(`${base}/health`).then((response) => response.ok, () => false);
      if (healthy) return { name, url: base, child, log };
    }
    await new Promise((wait) => setTimeout(wait, 250));
  }
  child.kill("SIGKILL");
  throw new Error(`${name} did not become healthy within 300 s`);
}

function stopServer(server: Server): Promise<void> {
  return new Promise((done) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return done();
    const timer = setTimeout(() => server.child.kill("SIGKILL"), 10_000);
    server.child.once("exit", () => {
      clearTimeout(timer);
      done();
    });
    server.child.kill("SIGTERM");
  });
}

async function startDirect(modelPath: string, threads: number): Promise<Server> {
  const port = await freePort();
  // The attention settings camelid's engines use (per-sequence KV cells; flash attention only when asked):
  // llama-server's own default, flash attention "auto", turns it on for CPU, which alone made direct 1.3x faster
  // than the same llama-server under camelid at 32 streams (random-24m).
  const attention = ["--no-kv-unified", "--flash-attn", flashAttention ? "on" : "off"];
  const args = ["-m", modelPath, "-t", String(threads), "-tb", String(threads), "-np", String(maxStreams), "-c", String(maxStreams * contextPerSequence), ...attention, "--host", "127.0.0.1", "--port", String(port), "--no-webui"];
  return startServer("llama-server", llamaServerBin, args, `http://127.0.0.1:${port}`);
}

async function startCamelid(name: string, modelPath: string, threads: number, dataDir: string, extra: string[], checkout = repoRoot): Promise<Server> {
  const args = ["bin/camelid.js", "serve", "--model", `bench=${modelPath}`, "--sequences", String(maxStreams), "--ctx-size", String(contextPerSequence), "--threads", String(threads), "--port", "0", "--data-dir", dataDir, "--eager", ...(flashAttention ? ["--flash-attention"] : []), ...extra];
  return startServer(name, process.execPath, args, (log) => /listening on (\S+)/.exec(log)?.[1], checkout);
}

/**
 * One POST through node:http. Not fetch: Node's fetch (undici) against llama-server's
 * HTTP thread pool (cpp-httplib) now and then leaves a few of S simultaneous requests waiting ~1-3 s before
 * llama-server takes them (its pool spawns no thread for a job queued while another thread counts as idle,
 * and kept-alive connections hold their threads), which made the direct reference swing 2-3x between repeats.
 */
// A connection per request: llama-server closes a streamed response's connection, which a keep-alive agent
// would reuse a moment later ("socket hang up").
const agent = new HttpAgent({ keepAlive: false });
function postText(url: string, body: unknown): Promise<{ ok: boolean; status: number; text: string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolvePost, reject) => {
    const request = httpRequest(url, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolvePost({ ok: (response.statusCode ?? 0) < 300, status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(payload);
  });
}

/**
 * S concurrent completions: aggregate completion tokens per second of wall time, and the decode phase's own rate
 * as each server reports it (`timings.predicted_per_second`, llama-server's field, which camelid's answers carry
 * too; averaged over the streams). The wall rate includes the prompt, sampling and HTTP; the decode rate is what
 * compares with llama-bench's decode (which has none of those).
 */
async function streamsRate(server: Server, streams: number, seedBase: number): Promise<{ wall: number; decode?: number }> {
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: streams }, async (_, index) => {
      const response = await postText(`${server.url}/v1/completions`, { model: "bench", prompt, max_tokens: tokens, temperature: 0.8, seed: seedBase + index, ...(streamed ? { stream: true, stream_options: { include_usage: true } } : {}) });
      const text = response.text;
      // Streamed: the usage comes in the last event that has one.
      const events = streamed ? text.split("\n").filter((line) => line.startsWith("data: {")).map((line) => line.slice(6)) : [text];
      const body = JSON.parse(events.findLast((event) => event.includes('"usage"')) ?? events.at(-1) ?? "{}") as { usage?: { completion_tokens?: number }; timings?: { predicted_per_second?: number }; error?: unknown };
      if (!response.ok || !body.usage?.completion_tokens) throw new Error(`${server.name}: HTTP ${response.status} ${text.slice(0, 300)}`);
      const reported = events.map((event) => (JSON.parse(event) as { timings?: { predicted_per_second?: number } }).timings?.predicted_per_second).findLast((value) => typeof value === "number" && value > 0);
      return { tokens: body.usage.completion_tokens, decode: reported };
    }),
  );
  const wall = answers.reduce((sum, answer) => sum + answer.tokens, 0) / ((performance.now() - started) / 1000);
  const decodes = answers.flatMap((answer) => (answer.decode === undefined ? [] : [answer.decode]));
  return { wall, ...(decodes.length === answers.length ? { decode: decodes.reduce((sum, value) => sum + value, 0) / decodes.length } : {}) };
}

/** llama-bench's decode tokens/s (tg test, no prompt), one repetition after its own warm-up. */
function llamaBenchDecode(modelPath: string, threads: number, env: NodeJS.ProcessEnv = process.env, count = tokens): number {
  const result = spawnSync(llamaBenchBin, ["-m", modelPath, "-t", String(threads), "-p", "0", "-n", String(count), "-r", "1", "-o", "json"], { encoding: "utf8", maxBuffer: 1 << 24, env });
  if (result.status !== 0) throw new Error(`llama-bench failed (${result.status}): ${result.stderr.slice(-600)}`);
  const rows = JSON.parse(result.stdout) as { n_gen: number; avg_ts: number }[];
  const row = rows.find((entry) => entry.n_gen > 0);
  if (!row) throw new Error(`llama-bench printed no decode row: ${result.stdout.slice(0, 300)}`);
  return row.avg_ts;
}

/** Clones per decoded token, CPU ms per token and context switches for node-llama-cpp at `threads`. */
function threadProbe(model: string, threads: number): string {
  const out = join(mkdtempSync(join(tmpdir(), "camelid-probe-")), "strace.log");
  const probeTokens = 32;
  const args = ["-f", "-qq", "-e", "trace=clone,clone3,access,faccessat,faccessat2", "-e", "signal=none", "-o", out, process.execPath, "--import", "tsx", "bench/threads-probe.ts", "--model", model, "--threads", String(threads), "--tokens", String(probeTokens), "--marker"];
  const traced = spawnSync("strace", args, { cwd: repoRoot, encoding: "utf8", maxBuffer: 1 << 24 });
  if (traced.status !== 0) return `probe failed (${traced.status}): ${traced.stderr.slice(-300)}`;
  const lines = readFileSync(out, "utf8").split("\n");
  rmSync(resolve(out, ".."), { recursive: true, force: true });
  const start = lines.findIndex((line) => line.includes("/camelid-probe/decode-start"));
  const end = lines.findIndex((line) => line.includes("/camelid-probe/decode-end"));
  const clones = lines.slice(start, end).filter((line) => /\bclone3?\(/.test(line) && !line.includes("<unfinished")).length;
  const stats = JSON.parse(traced.stdout.trim().split("\n").at(-1)!) as { tokens: number; cpuMsPerToken: number; involuntarySwitchesPerToken: number; voluntarySwitchesPerToken: number; peakThreads: number };
  return `threads ${threads}: ${(clones / stats.tokens).toFixed(2)} threads created per token (${clones} for ${stats.tokens}), CPU ${stats.cpuMsPerToken.toFixed(2)} ms/token (under strace), context switches per token ${stats.voluntarySwitchesPerToken.toFixed(1)} voluntary + ${stats.involuntarySwitchesPerToken.toFixed(1)} involuntary, peak ${stats.peakThreads} threads in the process`;
}

const ratio = (value: number | undefined, reference: number | undefined, goal?: number) => {
  if (value === undefined || reference === undefined || !(reference > 0)) return "n/a";
  const text = `${(value / reference).toFixed(2)}x`;
  return goal === undefined ? text : `${text} ${value / reference >= goal ? "meets" : "misses"} ≥${goal}x`;
};
const rate = (value: number | undefined) => (value === undefined ? "n/a" : value.toFixed(1));

async function main(): Promise<void> {
  const facts = readCpuFacts();
  say(`# engine parity: models ${models.join(", ")}; threads ${threadCounts.join(",")}; streams ${streamCounts.join(",")}; ${tokens} tokens per stream; ${streamed ? "streamed" : "non-streamed"} requests; flash attention ${flashAttention ? "on" : "off"}; ${repeats} repeat(s), median`);
  say(`# ${cpus().length} logical CPUs (${cpus()[0]?.model ?? "?"}), usable cores ${usableCores(facts)} (${JSON.stringify(facts)}); load average ${load()}`);
  say(`# llama.cpp binaries: ${binDir}`);
  const haveServer = existsSync(llamaServerBin), haveBench = existsSync(llamaBenchBin);
  for (const [label, path, found] of [["llama-server", llamaServerBin, haveServer], ["llama-bench", llamaBenchBin, haveBench]] as const) {
    if (!found) say(`# ${label} not found at ${path}: its column is left out (build llama.cpp, see the README's "Performance", and pass --llama-bin-dir DIR or LLAMA_BIN_DIR)`);
  }

  if (probe) {
    say(`\n## node-llama-cpp thread probe (random-24m, strace -f clone/clone3 between decode markers); load average ${load()}`);
    if (spawnSync("strace", ["-V"]).status !== 0) say("strace not installed: probe skipped");
    else for (const threads of [1, 2]) say(threadProbe("random-24m", threads));
    if (haveBench) {
      // The control: llama.cpp built with OpenMP, whose barrier sleeps after a short spin, and the same
      // build told to spin forever at barriers as ggml's own (non-OpenMP) barrier does.
      const probePath = await benchModelPath("random-24m");
      // 16 tokens: two threads may decode at ~1 token/s on a busy machine.
      const one = llamaBenchDecode(probePath, 1, process.env, 16), two = llamaBenchDecode(probePath, 2, process.env, 16);
      const spinning = llamaBenchDecode(probePath, 2, { ...process.env, OMP_WAIT_POLICY: "active" }, 16);
      say(`llama-bench decode (OpenMP build): 1 thread ${one.toFixed(1)} tok/s, 2 threads ${two.toFixed(1)} (${(two / one).toFixed(2)}x), 2 threads with OMP_WAIT_POLICY=active (barriers spin, never sleep) ${spinning.toFixed(1)} (${(spinning / one).toFixed(2)}x); load average ${load()}`);
    }
  }

  const dataRoot = mkdtempSync(join(tmpdir(), "camelid-parity-"));
  try {
    for (const modelName of models) {
      const modelPath = await benchModelPath(modelName);
      for (const threads of threadCounts) {
        say(`\n## ${modelName}, ${threads} thread(s)${inProcessThreads !== undefined ? ` (in-process engine: ${inProcessThreads})` : ""}; load average ${load()}`);
        const servers: Server[] = [];
        const missing: string[] = [];
        try {
          if (haveServer) servers.push(await startDirect(modelPath, threads));
          if (inProcess) {
            const poolFlags = inProcessPool === undefined ? [] : ["--uv-threadpool-size", inProcessPool];
            const server = await startCamelid("in-process", modelPath, inProcessThreads ?? threads, join(dataRoot, `${modelName}-${threads}-in`), poolFlags);
            servers.push(server);
            // Which node-llama-cpp binary ran ("prebuilt" or "localBuild" after `camelid engine build --in-process`): the figures differ.
            const listed = (await (await fetch(`${server.url}/v1/models/bench`)).json()) as { status?: { engine?: { binary?: string; threads?: number } } };
            say(`in-process engine: node-llama-cpp ${listed.status?.engine?.binary ?? "binary unknown"}, ${listed.status?.engine?.threads ?? "?"} thread(s)${inProcessPool === undefined ? "" : `, libuv pool ${inProcessPool} thread(s)`}`);
          }
          try {
            if (!haveServer) throw new Error("no llama-server binary");
            servers.push(await startCamelid("llama-server engine", modelPath, threads, join(dataRoot, `${modelName}-${threads}-ls`), ["--engine", "llama-server", "--llama-server-bin", llamaServerBin], engineCheckout));
          } catch (error) {
            missing.push(`llama-server engine not measured: ${(error as Error).message.split("\n")[0].slice(0, 200)}`);
          }
          for (const server of servers) await streamsRate(server, 1, 999); // warm-up
          const samples = new Map<string, number[]>();
          const add = (key: string, value: number) => samples.set(key, [...(samples.get(key) ?? []), value]);
          for (let repeat = 0; repeat < repeats; repeat++) {
            if (haveBench) add("llama-bench", llamaBenchDecode(modelPath, threads));
            for (const streams of streamCounts) {
              // Rotated start so that no variant always runs first after a pause.
              for (let index = 0; index < servers.length; index++) {
                const server = servers[(index + repeat) % servers.length];
                const measured = await streamsRate(server, streams, repeat * 1000 + streams);
                add(`${server.name}@${streams}`, measured.wall);
                if (measured.decode !== undefined) add(`${server.name}@${streams}:decode`, measured.decode);
              }
            }
          }
          const get = (key: string) => (samples.has(key) ? median(samples.get(key)!) : undefined);
          const bench = get("llama-bench");
          say(`llama-bench decode: ${rate(bench)} tok/s`);
          say(`streams | direct llama-server | in-process (vs direct) | llama-server engine (vs direct)`);
          for (const streams of streamCounts) {
            const direct = get(`llama-server@${streams}`), inProcess = get(`in-process@${streams}`), engine = get(`llama-server engine@${streams}`);
            say(
              `${String(streams).padStart(7)} | ${rate(direct).padStart(19)} | ${rate(inProcess).padStart(8)} (${ratio(inProcess, direct, streams === 8 ? 0.9 : undefined)}) | ${rate(engine)} (${ratio(engine, direct, streams >= 8 ? 0.95 : undefined)})`,
            );
          }
          say(`in-process 1 stream vs llama-bench decode: ${ratio(get("in-process@1"), bench, 0.9)}; direct llama-server 1 stream vs llama-bench: ${ratio(get("llama-server@1"), bench)}`);
          if (streamCounts.includes(1)) {
            // The decode phase alone, as each server times it: no prompt, no HTTP, the same phase llama-bench's tg measures.
            const decodeOf = (name: string) => get(`${name}@1:decode`);
            say(
              `decode phase at 1 stream (each server's own timings.predicted_per_second) vs llama-bench decode: in-process ${rate(decodeOf("in-process"))} tok/s (${ratio(decodeOf("in-process"), bench, 0.9)}); direct llama-server ${rate(decodeOf("llama-server"))} (${ratio(decodeOf("llama-server"), bench)}); llama-server engine ${rate(decodeOf("llama-server engine"))} (${ratio(decodeOf("llama-server engine"), bench)})`,
            );
          }
          for (const line of missing) say(line);
        } finally {
          for (const server of servers) await stopServer(server);
        }
      }
    }
  } finally {
    rmSync(dataRoot, { recursive: true, force: true });
  }
  say(`\nload average at the end ${load()}`);
}

await main();
