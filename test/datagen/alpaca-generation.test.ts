import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadSeedTasks } from "../../src/datagen/alpaca/seed-tasks.js";
import { batchPrompts, defaultAlpacaSettings, runAlpacaGeneration } from "../../src/datagen/self-instruct/alpaca-generation.js";
import { createOpenAICompatibleModel } from "../../src/providers/openai/index.js";
import { errorBody, jsonReply, startFakeOpenAIServer } from "../support/fake-openai-server.js";
import { waitFor } from "../support/wait-for.js";
import { repoRoot, sharedPath } from "../support/shared-data.js";
import { alpacaCompletionText, deterministicAlpacaTeacher } from "./support/alpaca-teacher.js";
import { killTestSettings } from "./support/generation-settings.js";
import { temporaryDirectories } from "../support/temporary-directories.js";

const temporaryDirectory = temporaryDirectories("camelid-datagen-");

const seedsPath = () => sharedPath("data", "alpaca", "seed_tasks.jsonl");
const templatePath = () => sharedPath("data", "alpaca", "prompt.txt");
const readJsonl = (path: string) => readFileSync(path, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));

function completionsBody(text: string, finishReason: string) {
  return { id: "cmpl-1", object: "text_completion", created: 1, model: "teacher", choices: [{ index: 0, text, finish_reason: finishReason, logprobs: null }], usage: { prompt_tokens: 900, completion_tokens: 300, total_tokens: 1200 } };
}

describe("Alpaca self-instruct against a scripted OpenAI-compatible teacher (loopback HTTP)", () => {
  it("sends Alpaca's prompt and settings, parses, filters with reasons, retries a 429 and accounts usage and cost", async () => {
    const server = await startFakeOpenAIServer();
    try {
      let call = 0;
      server.enqueue(jsonReply(errorBody("slow down", "rate_limit_error", null, "rate_limit_exceeded"), 429, { "retry-after": "0" }));
      server.route("POST", "/v1/completions", () => {
        call++;
        // good (3 tasks) | truncated tail | malformed | duplicates of call 1
        const variants = [
          [alpacaCompletionText(0, 3), "stop"],
          [`${alpacaCompletionText(3, 2)}###\n6. Instruction: Explain how rainbows form after a`, "length"],
          [" just some chatter with no fields at all", "stop"],
          [alpacaCompletionText(0, 3), "stop"],
          [alpacaCompletionText(5, 4), "stop"],
        ] as const;
        const [text, finish] = variants[(call - 1) % variants.length];
        return jsonReply(completionsBody(text, finish));
      });
      const teacher = createOpenAICompatibleModel({ baseURL: server.baseURL, apiKey: "k", model: "teacher", api: "completions", maxRetries: 0 });
      const output = temporaryDirectory();
      const summary = await runAlpacaGeneration({
        teacher,
        seeds: await loadSeedTasks(seedsPath()),
        template: readFileSync(templatePath(), "utf8"),
        // one prompt per batch, so the scripted replies (and the 429) meet the requests in a fixed order;
        // concurrent batches are tested below
        settings: { ...defaultAlpacaSettings, target: 7, promptsPerBatch: 1, exactTarget: true },
        outputDirectory: output,
        prices: { teacher: { promptPerMillion: 20, completionPerMillion: 20 } },
        retry: { maxRetries: 3, baseDelayMs: 1, maxDelayMs: 5 },
      });

      const first = server.requests.find((r) => r.path === "/v1/completions")!.body as Record<string, unknown>;
      // Alpaca lists "20." twice; the provider sends each stop string once.
      expect(first).toMatchObject({ model: "teacher", temperature: 1, top_p: 1, max_tokens: 3072, stop: ["\n20", "20."] });
      // Alpaca's {"50256": -100} bans <|endoftext|> of GPT vocabularies only: sent on request (--logit-bias).
      expect(first.logit_bias).toBeUndefined();
      expect(String(first.prompt)).toMatch(/List of 20 tasks:\n###\n1\. Instruction: [^]*\n###\n4\. Instruction:$/);

      expect(summary.stopReason).toBe("target-reached");
      expect(summary.kept).toBe(7);
      const kept = readJsonl(join(output, "instructions.jsonl"));
      expect(kept).toHaveLength(7);
      expect(new Set(kept.map((r) => r.instruction)).size).toBe(7);
      const bakery = kept.find((r) => r.instruction === "Suggest a name for a small bakery that sells sourdough bread.");
      expect(bakery).toMatchObject({ input: "", output: "Rise & Crumb." });
      expect(Object.keys(bakery.most_similar_instructions)).toHaveLength(10);
      expect(typeof bakery.avg_similarity_score).toBe("number");
      expect(summary.counts).toMatchObject({ truncated: expect.any(Number), malformed: expect.any(Number), "too-similar": expect.any(Number) });
      const rejected = readJsonl(join(output, "rejected.jsonl"));
      expect(rejected.some((r) => r.reason === "too-similar" && r.instruction === "Suggest a name for a small bakery that sells sourdough bread.")).toBe(true);
      expect(rejected.find((r) => r.reason === "truncated").raw).toContain("Explain how rainbows form");
      expect(summary.usage.retries).toBe(1);
      expect(summary.usage.rateLimited).toBe(1);
      expect(summary.usage.promptTokens).toBe(900 * summary.usage.requests);
      expect(summary.usage.estimatedCostUsd).toBeCloseTo((summary.usage.requests * 1200 * 20) / 1e6, 10);
      expect(JSON.parse(readFileSync(join(output, "summary.json"), "utf8")).kept).toBe(7);
      expect(JSON.parse(readFileSync(join(output, "regen.json"), "utf8"))).toHaveLength(7);
    } finally {
      await server.close();
    }
  });

  it("a chat-only teacher gets the prompt as one user message", async () => {
    const server = await startFakeOpenAIServer();
    try {
      server.route("POST", "/v1/chat/completions", jsonReply({ id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: alpacaCompletionText(0, 2) }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
      const summary = await runAlpacaGeneration({
        teacher: createOpenAICompatibleModel({ baseURL: server.baseURL, model: "m", api: "chat", maxRetries: 0 }),
        seeds: await loadSeedTasks(seedsPath()),
        template: readFileSync(templatePath(), "utf8"),
        settings: { ...defaultAlpacaSettings, target: 2, promptStyle: "chat", promptsPerBatch: 1 },
        outputDirectory: temporaryDirectory(),
      });
      expect(summary.kept).toBe(2);
      const body = server.requests[0].body as { messages: { role: string; content: string }[] };
      expect(body.messages).toHaveLength(1);
      expect(body.messages[0].role).toBe("user");
      expect(body.messages[0].content.endsWith("4. Instruction:")).toBe(true);
    } finally {
      await server.close();
    }
  });

  it("stops with a clear reason when nothing the teacher writes parses, and when every request fails", async () => {
    const seeds = await loadSeedTasks(seedsPath());
    const template = readFileSync(templatePath(), "utf8");
    const chatty = deterministicAlpacaTeacher();
    chatty.doGenerate = async () => ({ modelId: "x", choices: [{ index: 0, text: " Once upon a time there was a dog.", finishReason: "length", completionTokens: 9 }], usage: { promptTokens: 1, completionTokens: 9, totalTokens: 10 }, timings: { timeToFirstTokenMs: 1, totalMs: 1, tokensPerSecond: 1 }, warnings: [] });
    const unparsed = await runAlpacaGeneration({ teacher: chatty, seeds, template, settings: { ...defaultAlpacaSettings, target: 5, giveUpAfterEmptyBatches: 2 }, outputDirectory: temporaryDirectory() });
    expect(unparsed.stopReason).toBe("teacher-output-unparseable");
    expect(unparsed.message).toMatch(/did not parse/);
    expect(unparsed.kept).toBe(0);
    expect(unparsed.counts.truncated).toBe(10);

    const server = await startFakeOpenAIServer();
    try {
      server.route("POST", "/v1/completions", jsonReply(errorBody("context too long", "invalid_request_error", "prompt", "context_length_exceeded"), 400));
      const failing = await runAlpacaGeneration({
        teacher: createOpenAICompatibleModel({ baseURL: server.baseURL, model: "m", api: "completions", maxRetries: 0 }),
        seeds, template, settings: { ...defaultAlpacaSettings, target: 5, giveUpAfterEmptyBatches: 1 }, outputDirectory: temporaryDirectory(),
      });
      expect(failing.stopReason).toBe("teacher-output-unparseable");
      expect(failing.message).toMatch(/all 5 requests failed/);
    } finally {
      await server.close();
    }
  });
});

describe("kill and resume", () => {
  it("a run killed with SIGKILL mid-way and resumed equals an uninterrupted run: no row lost, none duplicated", async () => {
    const seeds = await loadSeedTasks(seedsPath());
    const template = readFileSync(templatePath(), "utf8");
    const reference = temporaryDirectory();
    await runAlpacaGeneration({ teacher: deterministicAlpacaTeacher(), seeds, template, settings: killTestSettings, outputDirectory: reference, concurrency: 10 });

    const killed = temporaryDirectory();
    const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "test/datagen/support/generation-child.ts"), killed, seedsPath(), templatePath()], { stdio: "ignore", cwd: repoRoot });
    const progressPath = join(killed, "progress.json");
    // Kill once a few batches are committed (a progress file being replaced right now reads as "not yet").
    const committed = () => (existsSync(progressPath) ? (JSON.parse(readFileSync(progressPath, "utf8")).state.nextBatch as number) : 0);
    await waitFor(committed, (next) => next >= 12, { what: "the child to commit 12 batches", intervalMs: 25 });
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    const committedAtKill = JSON.parse(readFileSync(progressPath, "utf8")).state.nextBatch;
    expect(committedAtKill).toBeGreaterThanOrEqual(12);
    expect(committedAtKill).toBeLessThan(killTestSettings.maxBatches);

    const resumed = await runAlpacaGeneration({ teacher: deterministicAlpacaTeacher(), seeds, template, settings: killTestSettings, outputDirectory: killed, concurrency: 10 });
    expect(resumed.resumed).toBe(true);
    expect(resumed.batches).toBe(killTestSettings.maxBatches);
    for (const file of ["instructions.jsonl", "rejected.jsonl", "regen.json"]) {
      expect(readFileSync(join(killed, file), "utf8"), file).toBe(readFileSync(join(reference, file), "utf8"));
    }
    const reference_summary = JSON.parse(readFileSync(join(reference, "summary.json"), "utf8"));
    expect(resumed.counts).toEqual(reference_summary.counts);
  });

  it("an AbortSignal (Ctrl-C in the CLI) stops between commits; the resumed run completes the same output", async () => {
    const seeds = await loadSeedTasks(seedsPath());
    const template = readFileSync(templatePath(), "utf8");
    const settings = { ...killTestSettings, maxBatches: 20 };
    const reference = temporaryDirectory();
    await runAlpacaGeneration({ teacher: deterministicAlpacaTeacher(), seeds, template, settings, outputDirectory: reference });
    const interrupted = temporaryDirectory();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("interrupted")), 60);
    const first = await runAlpacaGeneration({ teacher: deterministicAlpacaTeacher({ delayMs: 5 }), seeds, template, settings, outputDirectory: interrupted, signal: controller.signal }).then(
      (summary) => summary.batches,
      () => -1,
    );
    expect(first).toBeLessThan(20);
    await runAlpacaGeneration({ teacher: deterministicAlpacaTeacher(), seeds, template, settings, outputDirectory: interrupted });
    expect(readFileSync(join(interrupted, "instructions.jsonl"), "utf8")).toBe(readFileSync(join(reference, "instructions.jsonl"), "utf8"));
    expect(readFileSync(join(interrupted, "rejected.jsonl"), "utf8")).toBe(readFileSync(join(reference, "rejected.jsonl"), "utf8"));
  });

  it("refuses to resume with different settings, naming them", async () => {
    const seeds = await loadSeedTasks(seedsPath());
    const template = readFileSync(templatePath(), "utf8");
    const directory = temporaryDirectory();
    const exact = { ...defaultAlpacaSettings, exactTarget: true };
    await runAlpacaGeneration({ teacher: deterministicAlpacaTeacher(), seeds, template, settings: { ...exact, target: 2 }, outputDirectory: directory });
    await expect(runAlpacaGeneration({ teacher: deterministicAlpacaTeacher(), seeds, template, settings: { ...exact, target: 2, temperature: 0.5 }, outputDirectory: directory })).rejects.toThrow(/temperature: 1 → 0.5/);
    // Raising the target extends the finished run instead.
    const extended = await runAlpacaGeneration({ teacher: deterministicAlpacaTeacher(), seeds, template, settings: { ...exact, target: 4 }, outputDirectory: directory });
    expect(extended.kept).toBe(4);
    expect(readJsonl(join(directory, "instructions.jsonl"))).toHaveLength(4);
  });
});

describe("Alpaca's request loop (generate_instruction.py, utils.openai_completion)", () => {
  it("keeps the whole batch that reaches --num, as Alpaca's `while len(...) < num` loop does; exactTarget stops at exactly --num", async () => {
    const seeds = await loadSeedTasks(seedsPath());
    const template = readFileSync(templatePath(), "utf8");
    const target = 6;
    const whole = temporaryDirectory();
    const summary = await runAlpacaGeneration({ teacher: deterministicAlpacaTeacher(), seeds, template, settings: { ...defaultAlpacaSettings, target }, outputDirectory: whole });
    expect(summary.stopReason).toBe("target-reached");
    expect(summary.kept).toBeGreaterThan(target);
    expect(summary.message).toMatch(/past --num 6: the last batch is kept whole/);
    // Alpaca's loop: every instruction kept by the batches it ran, i.e. the same batches with no target at all.
    const batchesOnly = temporaryDirectory();
    await runAlpacaGeneration({ teacher: deterministicAlpacaTeacher(), seeds, template, settings: { ...defaultAlpacaSettings, target: 10_000, maxBatches: summary.batches, giveUpAfterEmptyBatches: 1000 }, outputDirectory: batchesOnly });
    expect(readFileSync(join(whole, "instructions.jsonl"), "utf8")).toBe(readFileSync(join(batchesOnly, "instructions.jsonl"), "utf8"));
    expect(JSON.parse(readFileSync(join(whole, "regen.json"), "utf8"))).toHaveLength(summary.kept);

    const exact = temporaryDirectory();
    const exactSummary = await runAlpacaGeneration({ teacher: deterministicAlpacaTeacher(), seeds, template, settings: { ...defaultAlpacaSettings, target, exactTarget: true }, outputDirectory: exact });
    expect(exactSummary.kept).toBe(target);
    expect(readJsonl(join(exact, "instructions.jsonl"))).toEqual(readJsonl(join(whole, "instructions.jsonl")).slice(0, target));
  });

  it("sends logit_bias when asked (Alpaca's {\"50256\": -100})", async () => {
    const server = await startFakeOpenAIServer();
    try {
      server.route("POST", "/v1/completions", jsonReply(completionsBody(alpacaCompletionText(0, 3), "stop")));
      await runAlpacaGeneration({
        teacher: createOpenAICompatibleModel({ baseURL: server.baseURL, model: "m", api: "completions", maxRetries: 0 }),
        seeds: await loadSeedTasks(seedsPath()),
        template: readFileSync(templatePath(), "utf8"),
        settings: { ...defaultAlpacaSettings, target: 3, promptsPerBatch: 1, logitBias: { "50256": -100 } },
        outputDirectory: temporaryDirectory(),
      });
      expect((server.requests[0].body as Record<string, unknown>).logit_bias).toEqual({ "50256": -100 });
    } finally {
      await server.close();
    }
  });

  it("on a context overflow shrinks max_tokens by 0.8 and retries, as utils.py does; a prompt that alone overflows fails at once", async () => {
    const server = await startFakeOpenAIServer();
    try {
      const promptTokens = 2000;
      server.route("POST", "/v1/completions", (request) => {
        const maxTokens = (request.body as { max_tokens: number }).max_tokens;
        if (promptTokens + maxTokens <= 4097) return jsonReply(completionsBody(alpacaCompletionText(0, 3), "stop"));
        const message = `This model's maximum context length is 4097 tokens, however you requested ${promptTokens + maxTokens} tokens (${promptTokens} in your prompt; ${maxTokens} for the completion). Please reduce your prompt; or completion length.`;
        return jsonReply(errorBody(message, "invalid_request_error", "messages", "context_length_exceeded"), 400);
      });
      const summary = await runAlpacaGeneration({
        teacher: createOpenAICompatibleModel({ baseURL: server.baseURL, model: "m", api: "completions", maxRetries: 0 }),
        seeds: await loadSeedTasks(seedsPath()),
        template: readFileSync(templatePath(), "utf8"),
        settings: { ...defaultAlpacaSettings, target: 3, promptsPerBatch: 1 },
        outputDirectory: temporaryDirectory(),
      });
      // int(3072 * 0.8) = 2457 (still too long), int(2457 * 0.8) = 1965.
      expect(server.requests.map((r) => (r.body as { max_tokens: number }).max_tokens)).toEqual([3072, 2457, 1965]);
      expect(summary).toMatchObject({ stopReason: "target-reached", kept: 3 });
      expect(summary.usage).toMatchObject({ requests: 1, failedRequests: 0, retries: 2 });
    } finally {
      await server.close();
    }

    const llamaServer = await startFakeOpenAIServer();
    try {
      llamaServer.route("POST", "/v1/completions", jsonReply({ error: { code: 400, message: "the request exceeds the available context size", type: "exceed_context_size_error", n_prompt_tokens: 5000, n_ctx: 4096 } }, 400));
      const summary = await runAlpacaGeneration({
        teacher: createOpenAICompatibleModel({ baseURL: llamaServer.baseURL, model: "m", api: "completions", maxRetries: 0 }),
        seeds: await loadSeedTasks(seedsPath()),
        template: readFileSync(templatePath(), "utf8"),
        settings: { ...defaultAlpacaSettings, target: 3, promptsPerBatch: 1, giveUpAfterEmptyBatches: 1 },
        outputDirectory: temporaryDirectory(),
      });
      expect(llamaServer.requests).toHaveLength(1);
      expect(summary.counts["request-failed"]).toBe(1);
    } finally {
      await llamaServer.close();
    }
  });

  it("a shrunk max_tokens holds for the whole batch, as in Alpaca's one request per batch: longer replies are asked again", async () => {
    const seeds = await loadSeedTasks(seedsPath());
    const template = readFileSync(templatePath(), "utf8");
    const settings = { ...defaultAlpacaSettings, target: 2, promptsPerBatch: 2, exactTarget: true };
    const [long, short] = batchPrompts({ seeds, template, settings }, 0);
    for (const shortReplyTokens of [2500, 100]) {
      const server = await startFakeOpenAIServer();
      try {
        server.route("POST", "/v1/completions", (request) => {
          const { prompt, max_tokens: maxTokens } = request.body as { prompt: string; max_tokens: number };
          if (prompt === long && 2000 + maxTokens > 4097) {
            return jsonReply(errorBody(`This model's maximum context length is 4097 tokens, however you requested ${2000 + maxTokens} tokens (2000 in your prompt; ${maxTokens} for the completion). Please reduce your prompt; or completion length.`), 400);
          }
          const tokens = prompt === long ? 300 : maxTokens === 3072 ? shortReplyTokens : 1000;
          return jsonReply({ ...completionsBody(alpacaCompletionText(prompt === long ? 0 : 4, 3), "stop"), usage: { prompt_tokens: 10, completion_tokens: tokens, total_tokens: 10 + tokens } });
        });
        await runAlpacaGeneration({ teacher: createOpenAICompatibleModel({ baseURL: server.baseURL, model: "m", api: "completions", maxRetries: 0 }), seeds, template, settings, outputDirectory: temporaryDirectory() });
        const limits = (prompt: string) => server.requests.filter((r) => (r.body as { prompt: string }).prompt === prompt).map((r) => (r.body as { max_tokens: number }).max_tokens);
        expect(limits(long)).toEqual([3072, 2457, 1965]);
        // A reply longer than the batch's max_tokens could not have come from Alpaca's request: asked again with it.
        expect(limits(short)).toEqual(shortReplyTokens > 1965 ? [3072, 1965] : [3072]);
      } finally {
        await server.close();
      }
    }
  });

  it("refuses to resume against other seed tasks or another prompt template, naming what changed", async () => {
    const seeds = await loadSeedTasks(seedsPath());
    const template = readFileSync(templatePath(), "utf8");
    const directory = temporaryDirectory();
    const settings = { ...defaultAlpacaSettings, target: 2, exactTarget: true };
    await runAlpacaGeneration({ teacher: deterministicAlpacaTeacher(), seeds, template, settings, outputDirectory: directory });
    await expect(runAlpacaGeneration({ teacher: deterministicAlpacaTeacher(), seeds, template: template.replace("20", "30"), settings, outputDirectory: directory })).rejects.toThrow(/the prompt template \(--prompt-file\) changed since the run started/);
    const edited = seeds.map((seed, index) => (index === 7 ? { ...seed, output: `${seed.output} (edited)` } : seed));
    await expect(runAlpacaGeneration({ teacher: deterministicAlpacaTeacher(), seeds: edited, template, settings, outputDirectory: directory })).rejects.toThrow(/the seed tasks \(--seed-tasks\) changed since the run started/);
    // The same inputs still resume.
    const resumed = await runAlpacaGeneration({ teacher: deterministicAlpacaTeacher(), seeds, template, settings: { ...settings, target: 3 }, outputDirectory: directory });
    expect(resumed.kept).toBe(3);
  });
});
