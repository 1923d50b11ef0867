import { describe, expect, it, vi } from "vitest";
import { createLlamaServerModel } from "../../../src/providers/llama-server/index.js";
import type { StreamPart } from "../../../src/spec/index.js";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fakeLlamaServerArguments, fakeLlamaServerCompletions, fakeLlamaServerTokenizeCalls, writeFakeLlamaServer } from "../../support/fake-llama-server.js";
import { generateFromStream } from "../../../src/providers/shared/choice-stream.js";
import { defaultThreadsFor } from "../../../src/spec/cpu-threads.js";
import { isProcessAlive } from "../../support/processes.js";
import { serveInProcess } from "../../support/serve-in-process.js";
import { stories260KPath } from "../../support/shared-data.js";
import { temporaryDirectories } from "../../support/temporary-directories.js";

const newDirectory = temporaryDirectories("camelid-engine-plumbing-");

/** A llama-server engine model on the fake, disposed after `use`. */
async function withFakeEngine(use: (model: ReturnType<typeof createLlamaServerModel>, folder: string) => Promise<void>): Promise<void> {
  const folder = newDirectory();
  const model = createLlamaServerModel({ modelPath: stories260KPath(), llamaServerBin: writeFakeLlamaServer(folder), logDir: folder, cacheDir: folder, keepAliveSeconds: -1 });
  try {
    await use(model, folder);
  } finally {
    await model.dispose();
  }
}

describe("llama-server engine plumbing (a fake llama-server with a character tokenizer)", () => {
  it("renders and tokenizes through the server, streams /completion's events as parts, runs n choices, maps logprobs and limits", async () => {
    const folder = newDirectory();
    const model = createLlamaServerModel({ modelPath: stories260KPath(), llamaServerBin: writeFakeLlamaServer(folder), logDir: folder, cacheDir: folder, keepAliveSeconds: -1 });
    try {
      const rendered = await model.renderPrompt({ prompt: "hello" });
      expect(rendered.tokens).toEqual([1, ..."hello"].map((c) => (typeof c === "number" ? c : c.charCodeAt(0))));
      const result = await model.doGenerate({ prompt: "hello", maxTokens: 3, n: 2, seed: 7, topLogprobs: 1 });
      expect(result.choices.map((choice) => [choice.text, choice.finishReason, choice.completionTokens])).toEqual([
        ["llo", "length", 3],
        ["llo", "length", 3],
      ]);
      expect(result.choices[0].logprobs?.[0]).toEqual({ token: "l", logprob: -0.5, bytes: [108], tokenId: 108, topLogprobs: [{ token: "x", logprob: -1, bytes: [120] }] });
      expect(result.usage).toEqual({ promptTokens: 6, completionTokens: 6, totalTokens: 12 });
      const { stream } = await model.doStream({ prompt: "abc", maxTokens: 2 });
      const parts: StreamPart[] = [];
      for await (const part of stream as unknown as AsyncIterable<StreamPart>) parts.push(part);
      expect(parts.map((part) => part.type)).toEqual(["stream-start", "text-delta", "text-delta", "choice-finish", "finish"]);
      // The context (64 per slot) bounds a prompt.
      await expect(model.doGenerate({ prompt: "x".repeat(80) })).rejects.toThrow(/the prompt has 81 tokens but the context holds 64/);
      expect(await model.tokenize("hi")).toEqual([1, 104, 105]);
      expect(await model.detokenize([104, 105])).toBe("hi");
      expect(model.engineStats()).toMatchObject({ state: "running", starts: 1, crashes: 0, activeRequests: 0 });
    } finally {
      await model.dispose();
    }
    expect(model.engineStats()?.state).toBe("closed");
  });

  it("a collected answer is one non-streamed /completion per choice, with the same result as the streamed call; logprobs with stop strings still stream", async () => {
    await withFakeEngine(async (model, folder) => {
      const call = { prompt: "hello", maxTokens: 3, n: 2, seed: 7, topLogprobs: 1 };
      const whole = await model.doGenerate(call);
      expect(fakeLlamaServerCompletions(folder)).toEqual([{ stream: false }, { stream: false }]);
      const streamed = await generateFromStream(model.modelId, call, await model.doStream(call));
      expect(fakeLlamaServerCompletions(folder).slice(2)).toEqual([{ stream: true }, { stream: true }]);
      expect(whole.choices).toEqual(streamed.choices);
      expect(whole.choices[0].logprobs).toHaveLength(3);
      expect(whole.usage).toEqual(streamed.usage);
      expect(whole.prompt).toEqual(streamed.prompt);
      // The first token's time comes from llama-server's decode time, so a whole answer still has one.
      expect(whole.timings.timeToFirstTokenMs).toBeLessThanOrEqual(whole.timings.totalMs);
      // A non-streamed answer stopped by a stop string drops that string's probabilities: such calls stream.
      await model.doGenerate({ ...call, n: 1, stop: ["zz"] });
      await model.doGenerate({ prompt: "hello", maxTokens: 3, stop: ["zz"] });
      expect(fakeLlamaServerCompletions(folder).slice(4)).toEqual([{ stream: true }, { stream: false }]);
    });
  });

  it("a text already tokenized for this model is not sent to /tokenize again: repeated prompts, chat markup, the window's second render", async () => {
    await withFakeEngine(async (model, folder) => {
      const first = await model.renderPrompt({ prompt: "hello" });
      const asked = fakeLlamaServerTokenizeCalls(folder).length;
      // Asked at once and again later: one round trip in all, the same ids every time.
      const [again, generated] = await Promise.all([Promise.all([model.renderPrompt({ prompt: "hello" }), model.renderPrompt({ prompt: "hello" })]), model.doGenerate({ prompt: "hello", maxTokens: 1 })]);
      expect(again.map((rendered) => rendered.tokens)).toEqual([first.tokens, first.tokens]);
      expect(generated.prompt?.tokens).toEqual(first.tokens);
      expect(fakeLlamaServerTokenizeCalls(folder).length).toBe(asked);
      // The same flag only: "hello" as message content is tokenized without special parsing, once.
      const chat = { messages: [{ role: "user" as const, content: "hello" }], promptFormat: "chatml" };
      const before = fakeLlamaServerTokenizeCalls(folder).length;
      const rendered = await model.renderPrompt(chat);
      const texts = fakeLlamaServerTokenizeCalls(folder).slice(before);
      expect(texts.filter((call) => call.content.includes("hello"))).toEqual([{ content: "user\nhello", special: false }]);
      expect(new Set(texts.map((call) => `${call.special}:${call.content}`)).size).toBe(texts.length);
      expect((await model.renderPrompt(chat)).tokens).toEqual(rendered.tokens);
      expect(fakeLlamaServerTokenizeCalls(folder).length).toBe(before + texts.length);
      // The ids are the tokenizer's own: the same as one uncached /tokenize of the whole text.
      expect(rendered.tokens).toEqual(await model.tokenize(rendered.text, { parseSpecial: true }));
    });
  });

  it("talks to llama-server through node:http, not Node's fetch (which stops waiting for headers after 300 s: a long non-streamed answer)", async () => {
    await withFakeEngine(async (model) => {
      try {
        await model.tokenize("warm");
        vi.stubGlobal("fetch", () => Promise.reject(new Error("the engine must not use the global fetch")));
        const result = await model.doGenerate({ prompt: "hello", maxTokens: 3 });
        expect(result.choices[0].text).toBe("llo");
        const { stream } = await model.doStream({ prompt: "abc", maxTokens: 2 });
        const parts: StreamPart[] = [];
        for await (const part of stream as unknown as AsyncIterable<StreamPart>) parts.push(part);
        expect(parts.filter((part) => part.type === "text-delta")).toHaveLength(2);
      } finally {
        vi.unstubAllGlobals();
      }
    });
  });

  it("names llama-server's threads: the model's, else the default chosen for this engine from the measured cores", async () => {
    const threadsOf = async (threads?: number) => {
      const folder = newDirectory();
      const model = createLlamaServerModel({ modelPath: stories260KPath(), llamaServerBin: writeFakeLlamaServer(folder), logDir: folder, cacheDir: folder, keepAliveSeconds: -1, ...(threads ? { threads } : {}) });
      try {
        await model.tokenize("hi");
        const args = fakeLlamaServerArguments(folder);
        return args.includes("--threads") ? args[args.indexOf("--threads") + 1] : undefined;
      } finally {
        await model.dispose();
      }
    };
    expect(await threadsOf(3)).toBe("3");
    expect(await threadsOf()).toBe(String(defaultThreadsFor("llama-server")));
  });

  it("serve --engine llama-server answers chat completions, streamed or not, through the supervised process, which ends with the server", async () => {
    const folder = newDirectory();
    const served = await serveInProcess(["--model", stories260KPath(), "--engine", "llama-server", "--llama-server-bin", writeFakeLlamaServer(folder), "--port", "0", "--data-dir", folder]);
    let pid: number;
    try {
      const body = { model: "stories260K", messages: [{ role: "user", content: "Hi" }], max_tokens: 4 };
      const reply = await fetch(`${served.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      expect(reply.status).toBe(200);
      const json = (await reply.json()) as { choices: { message: { content: string }; finish_reason: string }[] };
      expect(json.choices[0].message.content).toHaveLength(4);
      expect(json.choices[0].finish_reason).toBe("length");
      const streamed = await fetch(`${served.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...body, stream: true }) });
      const text = await streamed.text();
      expect(text).toContain("data: [DONE]");
      const deltas = text
        .split("\n\n")
        .map((event) => event.replace(/^data: /, "").trim())
        .filter((data) => data.startsWith("{"))
        .map((data) => (JSON.parse(data) as { choices: { delta?: { content?: string } }[] }).choices[0]?.delta?.content ?? "")
        .join("");
      expect(deltas).toBe(json.choices[0].message.content);
      const log = join(folder, "engines", "stories260K.log");
      expect(existsSync(log)).toBe(true);
      pid = Number(/llama-server pid (\d+) ready/.exec(readFileSync(log, "utf8"))![1]);
      expect(isProcessAlive(pid)).toBe(true);
      expect(served.log()).toMatch(/model "stories260K": llama-server engine \(log: .*stories260K\.log\)/);
    } finally {
      await served.stop();
    }
    expect(isProcessAlive(pid!)).toBe(false);
  });
});

describe("camelid generate --engine llama-server (fake llama-server)", () => {
  it("generates through a llama-server process that ends with the command", async () => {
    const { main } = await import("../../../src/cli/main.js");
    const { captureIo } = await import("../../support/capture-io.js");
    const folder = newDirectory();
    const { io, stdout, stderr } = captureIo("", { CAMELID_HOME: folder });
    const code = await main(["generate", "--model", stories260KPath(), "--engine", "llama-server", "--llama-server-bin", writeFakeLlamaServer(folder), "--max-tokens", "3", "--temperature", "0", "--prompt", "hello"], io);
    expect(stderr()).not.toMatch(/error/i);
    expect(code).toBe(0);
    expect(stdout()).toContain("llo");
    const log = readFileSync(join(folder, "engines", "logs", "stories260K.log"), "utf8");
    const pid = Number(/llama-server pid (\d+) ready/.exec(log)![1]);
    expect(isProcessAlive(pid)).toBe(false);
  });
});
