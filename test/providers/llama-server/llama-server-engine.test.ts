// The llama-server engine against the real llama-server and stories260K: camelid's answers equal llama.cpp's
// own for the same token ids, and the process is supervised (restart after a crash, idle stop, no orphan).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineBinaryError, GgufFormatError, ModelLoadError } from "../../../src/errors/index.js";
import { createLocalModel } from "../../../src/providers/local/index.js";
import { createLlamaServerModel, type LlamaServerLanguageModel } from "../../../src/providers/llama-server/index.js";
import { freePort } from "../../../src/providers/llama-server/free-port.js";
import { describeWithLlamaServer } from "../../support/llama-server-binary.js";
import { serveInProcess, type ServeInProcess } from "../../support/serve-in-process.js";
import { repoRoot, stories260KPath } from "../../support/shared-data.js";
import { isProcessAlive } from "../../support/processes.js";
import { temporaryDirectories } from "../../support/temporary-directories.js";
import { waitFor, waitUntil } from "../../support/wait-for.js";

const newDirectory = temporaryDirectories("camelid-llama-server-engine-");


const messages = [{ role: "user" as const, content: "Tell me a story about a cat." }];

async function postJson(url: string, body: unknown): Promise<{ status: number; json: Record<string, any> }> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, any> };
}

describe("llama-server engine: what is checked before any process starts", () => {
  it("a corrupt GGUF is an error naming the file, from camelid's own reader (llama.cpp never sees it)", async () => {
    const folder = newDirectory();
    const corrupt = join(folder, "corrupt.gguf");
    writeFileSync(corrupt, readFileSync(stories260KPath()).subarray(0, 4096));
    const model = createLlamaServerModel({ modelPath: corrupt, logDir: folder, cacheDir: folder, llamaServerBin: "/nonexistent/llama-server" });
    const load = model.load();
    await expect(load).rejects.toSatisfy((error: unknown) => error instanceof GgufFormatError || error instanceof ModelLoadError);
    await expect(load).rejects.toThrow(corrupt);
    expect(model.engineStats()).toBeUndefined(); // no process was ever started
  });

  it("a missing executable is an EngineBinaryError saying how to get one", async () => {
    const folder = newDirectory();
    const model = createLlamaServerModel({ modelPath: stories260KPath(), logDir: folder, cacheDir: folder, llamaServerBin: join(folder, "no-such-llama-server") });
    await expect(model.load()).rejects.toThrow(EngineBinaryError);
    await expect(model.load()).rejects.toThrow(/no-such-llama-server does not exist; build one with `camelid engine build`/);
    const none = createLlamaServerModel({ modelPath: stories260KPath(), logDir: folder, cacheDir: folder });
    await expect(none.load()).rejects.toThrow(/none was given or built/);
  });

  it("the options are the one local-model schema's: a bad keep-alive or engine is named", async () => {
    expect(() => createLlamaServerModel({ modelPath: "m.gguf", logDir: "l", cacheDir: "c", keepAliveSeconds: -2 })).toThrow(/keepAliveSeconds: must be an integer from -1 to 31536000/);
    const { parseServeFlags } = await import("../../../src/cli/commands/serve.js");
    expect(() => parseServeFlags(["--engine", "vllm"])).toThrow(/--engine must be one of node-llama-cpp, llama-server, got "vllm"/);
    expect(parseServeFlags(["--engine", "llama-server", "--llama-server-bin", "bin/ls", "--keep-alive=-1"]).localModel).toMatchObject({
      engine: "llama-server",
      llamaServerBin: "bin/ls",
      keepAliveSeconds: -1,
    });
    // The in-process engine refuses llama-server's settings rather than ignoring them.
    expect(() => createLocalModel({ modelPath: "m.gguf", keepAliveSeconds: 5 } as never)).toThrow(/keepAliveSeconds/);
  });

  it("serve's config: engine and keep-alive per model or as defaults; llamaServerBin relative to the config file, the flag to the working directory", async () => {
    const { resolveServeConfig } = await import("../../../src/server/config.js");
    const folder = newDirectory();
    writeFileSync(
      join(folder, "camelid.json"),
      JSON.stringify({
        defaults: { engine: "llama-server", llamaServerBin: "bin/llama-server", keepAliveSeconds: 60 },
        models: [
          { id: "a", path: stories260KPath() },
          { id: "b", path: stories260KPath(), engine: "node-llama-cpp" },
          { id: "c", path: stories260KPath(), llamaServerBin: "/opt/llama/llama-server", keepAliveSeconds: -1 },
        ],
      }),
    );
    const config = resolveServeConfig({ config: "camelid.json" }, {}, folder);
    expect(config.localModels.map(({ id, engine, llamaServerBin, keepAliveSeconds }) => ({ id, engine, llamaServerBin, keepAliveSeconds }))).toEqual([
      { id: "a", engine: "llama-server", llamaServerBin: join(folder, "bin/llama-server"), keepAliveSeconds: 60 },
      { id: "b", engine: "node-llama-cpp", llamaServerBin: join(folder, "bin/llama-server"), keepAliveSeconds: 60 },
      { id: "c", engine: "llama-server", llamaServerBin: "/opt/llama/llama-server", keepAliveSeconds: -1 },
    ]);
    const flagged = resolveServeConfig({ models: [stories260KPath()], localModel: { engine: "llama-server", llamaServerBin: "build/llama-server" } }, {}, folder);
    expect(flagged.localModels[0]).toMatchObject({ engine: "llama-server", llamaServerBin: join(folder, "build/llama-server") });
    expect(() => resolveServeConfig({ config: "bad.json" }, {}, (writeFileSync(join(folder, "bad.json"), JSON.stringify({ defaults: { engine: "ollama" } })), folder))).toThrow(
      /"defaults\.engine": must be one of node-llama-cpp, llama-server/,
    );
  });
});

describeWithLlamaServer("llama-server engine (real llama-server, stories260K)", (binary) => {
  let served: ServeInProcess;
  let dataDir: string;
  let direct: ChildProcess;
  let directURL: string;
  /** The in-process engine on the same file: the reference for tokenization. */
  let local: ReturnType<typeof createLocalModel>;

  beforeAll(async () => {
    dataDir = newDirectory();
    local = createLocalModel({ modelPath: stories260KPath(), sequences: 1 });
    served = await serveInProcess(["--model", stories260KPath(), "--engine", "llama-server", "--llama-server-bin", binary, "--port", "0", "--data-dir", dataDir, "--sequences", "2", "--keep-alive=-1"]);
    // llama-server on its own, started by hand as a user would: the reference answers come from it.
    const port = await freePort();
    direct = spawn(binary, ["--model", stories260KPath(), "--host", "127.0.0.1", "--port", String(port), "--parallel", "2", "--ctx-size", "1024", "--no-kv-unified", "--flash-attn", "off", "--no-webui"], { stdio: "ignore" });
    directURL = `http://127.0.0.1:${port}`;
    await waitUntil(async () => (await fetch(`${directURL}/health`).catch(() => undefined))?.status === 200, { what: "the direct llama-server to be ready", timeoutMs: 120_000 });
  }, 180_000);

  afterAll(async () => {
    direct?.kill("SIGKILL");
    await served?.stop();
    await local?.dispose();
  });

  it("greedy chat through camelid equals llama-server's own /completion for the same token ids, byte for byte; the tokens equal the in-process engine's", async () => {
    const reply = await postJson(`${served.url}/v1/chat/completions`, { model: "stories260K", messages, temperature: 0, max_tokens: 48 });
    expect(reply.status).toBe(200);
    const text = reply.json.choices[0].message.content as string;
    expect(text.length).toBeGreaterThan(0);
    // The exact prompt camelid rendered and tokenized, as the inspector shows it.
    const rendered = await postJson(`${served.url}/v1/chat/completions/render`, { model: "stories260K", messages });
    const localPrompt = await local.renderPrompt({ messages });
    const tokens = rendered.json.tokens as number[];
    expect(tokens).toEqual(localPrompt.tokens);
    expect(rendered.json.prompt).toBe(localPrompt.text);
    const reference = await postJson(`${directURL}/completion`, { prompt: tokens, n_predict: 48, temperature: 0, cache_prompt: false });
    expect(reference.status).toBe(200);
    expect(Buffer.from(text)).toEqual(Buffer.from(reference.json.content as string));
    expect(reply.json.usage).toMatchObject({ prompt_tokens: tokens.length, completion_tokens: reference.json.tokens_predicted });
  });

  it("streams: the deltas join to the non-streamed answer, with a finish reason and usage", async () => {
    const body = { model: "stories260K", messages, temperature: 0, max_tokens: 32 };
    const whole = await postJson(`${served.url}/v1/chat/completions`, body);
    const response = await fetch(`${served.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
    });
    expect(response.headers.get("content-type")).toMatch(/text\/event-stream/);
    const events = (await response.text())
      .split("\n\n")
      .map((event) => event.replace(/^data: /, "").trim())
      .filter((data) => data !== "" && data !== "[DONE]")
      .map((data) => JSON.parse(data) as Record<string, any>);
    const deltas = events.flatMap((event) => (event.choices?.[0]?.delta?.content ? [event.choices[0].delta.content as string] : []));
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe(whole.json.choices[0].message.content);
    expect(events.find((event) => event.choices?.[0]?.finish_reason)?.choices[0].finish_reason).toBe(whole.json.choices[0].finish_reason);
    expect(events.at(-1)?.usage).toEqual(whole.json.usage);
  });

  it("maps sampling one for one: a seeded sampled answer equals llama-server's for the same settings; stop strings end it", async () => {
    const settings = { temperature: 0.9, top_k: 20, top_p: 0.9, min_p: 0.02, repeat_penalty: 1.1, seed: 1234 };
    const reply = await postJson(`${served.url}/v1/completions`, { model: "stories260K", prompt: "Once upon a time", max_tokens: 40, ...settings });
    expect(reply.status).toBe(200);
    const tokens = (await local.renderPrompt({ prompt: "Once upon a time" })).tokens!;
    const reference = await postJson(`${directURL}/completion`, { prompt: tokens, n_predict: 40, cache_prompt: false, ...settings });
    expect(reply.json.choices[0].text).toBe(reference.json.content);
    const word = (reference.json.content as string).split(" ").filter((piece) => piece.length > 3)[2];
    const stopped = await postJson(`${served.url}/v1/completions`, { model: "stories260K", prompt: "Once upon a time", max_tokens: 40, stop: [word], ...settings });
    expect(stopped.json.choices[0].finish_reason).toBe("stop");
    expect(stopped.json.choices[0].text).toBe((reference.json.content as string).slice(0, (reference.json.content as string).indexOf(word)));
  });

  it("a non-streamed request (one whole /completion) answers exactly what the streamed one does for the same seed: text, logprobs, finish, usage", async () => {
    const body = { model: "stories260K", prompt: "Once upon a time", max_tokens: 24, temperature: 0.8, seed: 77, logprobs: 2 };
    const whole = await postJson(`${served.url}/v1/completions`, body);
    expect(whole.status).toBe(200);
    const response = await fetch(`${served.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
    });
    const events = (await response.text())
      .split("\n\n")
      .map((event) => event.replace(/^data: /, "").trim())
      .filter((data) => data !== "" && data !== "[DONE]")
      .map((data) => JSON.parse(data) as Record<string, any>);
    const choices = events.flatMap((event) => (event.choices?.[0] ? [event.choices[0]] : []));
    expect(choices.map((choice) => choice.text ?? "").join("")).toBe(whole.json.choices[0].text);
    const streamedTokens = choices.flatMap((choice) => choice.logprobs?.tokens ?? []);
    const streamedLogprobs = choices.flatMap((choice) => choice.logprobs?.token_logprobs ?? []);
    expect(streamedTokens).toEqual(whole.json.choices[0].logprobs.tokens);
    expect(streamedLogprobs).toEqual(whole.json.choices[0].logprobs.token_logprobs);
    expect(choices.find((choice) => choice.finish_reason)?.finish_reason).toBe(whole.json.choices[0].finish_reason);
    expect(events.at(-1)?.usage).toEqual(whole.json.usage);
  });

  it("logs llama-server's output per model in the data dir", () => {
    const log = join(dataDir, "engines", "stories260K.log");
    expect(existsSync(log)).toBe(true);
    const text = readFileSync(log, "utf8");
    expect(text).toMatch(/camelid: .* starting /);
    expect(text).toMatch(/llama-server pid \d+ ready on http:\/\/127\.0\.0\.1:\d+/);
    expect(text).toMatch(/model loaded|listening on http/);
  });
});

describeWithLlamaServer("llama-server engine supervision (real llama-server)", (binary) => {
  const engineFor = (folder: string, keepAliveSeconds: number): LlamaServerLanguageModel =>
    createLlamaServerModel({ modelPath: stories260KPath(), llamaServerBin: binary, logDir: folder, cacheDir: folder, sequences: 1, keepAliveSeconds });

  it("a killed llama-server is started again by the next request", async () => {
    const model = engineFor(newDirectory(), -1);
    try {
      const first = await model.doGenerate({ prompt: "Once", maxTokens: 8, temperature: 0 });
      const pid = (await model.enginePid())!;
      process.kill(pid, "SIGKILL");
      await waitUntil(() => !isProcessAlive(pid), { what: "the killed llama-server to be gone" });
      // The next request does not wait for camelid to notice: it finds the process dead and starts a new one.
      const second = await model.doGenerate({ prompt: "Once", maxTokens: 8, temperature: 0 });
      expect(second.choices[0].text).toBe(first.choices[0].text);
      const newPid = await model.enginePid();
      expect(newPid).not.toBe(pid);
      expect(model.engineStats()).toMatchObject({ starts: 2, crashes: 1 });
    } finally {
      await model.dispose();
    }
  });

  it("with keep-alive 0 the process ends when the request does, and the next request starts it again", async () => {
    const model = engineFor(newDirectory(), 0);
    try {
      await model.load();
      await waitFor(() => model.engineStats()?.state, (state) => state === "stopped", { what: "the idle engine to stop" });
      const result = await model.doGenerate({ prompt: "Once", maxTokens: 4, temperature: 0 });
      expect(result.choices[0].text.length).toBeGreaterThan(0);
      await waitFor(() => model.engineStats()?.state, (state) => state === "stopped", { what: "the idle engine to stop again" });
      expect(model.engineStats()).toMatchObject({ starts: 2, crashes: 0 });
    } finally {
      await model.dispose();
    }
  });

  it("leaves no llama-server behind after `kill -9` of camelid serve", async () => {
    const dataDir = newDirectory();
    const serve = spawn(
      process.execPath,
      [join(repoRoot, "bin/camelid.js"), "serve", "--model", stories260KPath(), "--engine", "llama-server", "--llama-server-bin", binary, "--port", "0", "--data-dir", dataDir, "--eager"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    serve.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    serve.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    try {
      const log = join(dataDir, "engines", "stories260K.log");
      const match = await waitFor(
        () => (existsSync(log) ? /llama-server pid (\d+) ready/.exec(readFileSync(log, "utf8")) : null),
        (found) => found !== null,
        { what: "camelid serve to start llama-server", timeoutMs: 180_000, show: () => output },
      );
      const pid = Number(match![1]);
      expect(isProcessAlive(pid)).toBe(true);
      serve.kill("SIGKILL");
      await waitUntil(() => !isProcessAlive(pid), { what: `llama-server (pid ${pid}) to exit after camelid was killed with SIGKILL` });
    } finally {
      serve.kill("SIGKILL");
    }
  }, 240_000);
});
