import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/data.js";
import { chatCompletionBody, errorBody, jsonReply, startFakeOpenAIServer } from "../support/fake-openai-server.js";
import { captureIo } from "../support/capture-io.js";
import { sharedPath } from "../support/shared-data.js";
import { alpacaCompletionText } from "./support/alpaca-teacher.js";

const directory = mkdtempSync(join(tmpdir(), "camelid-data-cli-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("camelid data", () => {
  it("prints help and rejects an unknown subcommand", async () => {
    const { io, stdout } = captureIo();
    expect(await run(["--help"], io)).toBe(0);
    expect(stdout()).toMatch(/self-instruct[\s\S]*split/);
    await expect(run(["bogus"], captureIo().io)).rejects.toThrow(/unknown data subcommand "bogus"/);
  });

  it("convert, stats and split on the shared ShareGPT set", async () => {
    const out = join(directory, "messages.jsonl");
    const convert = captureIo();
    expect(await run(["convert", "--in", sharedPath("data", "sharegpt", "dummy_conversation.json"), "--out", out, "--to", "openai"], convert.io)).toBe(0);
    expect(convert.stdout()).toMatch(/sharegpt → openai: wrote 500 records/);
    expect(readFileSync(out, "utf8").trim().split("\n")).toHaveLength(500);

    const stats = captureIo();
    expect(await run(["stats", "--in", out, "--json"], stats.io)).toBe(0);
    expect(JSON.parse(stats.stdout())).toMatchObject({ format: "openai", records: 500, tokenizer: "estimate: characters / 4" });

    const split = captureIo();
    expect(await run(["split", "--in", out, "--out-dir", join(directory, "parts"), "--ratios", "train=0.8,test=0.2"], split.io)).toBe(0);
    expect(readFileSync(join(directory, "parts", "train.jsonl"), "utf8").trim().split("\n")).toHaveLength(400);
  });

  it("names the bad flag, and --strict reports the first malformed row as file:line", async () => {
    await expect(run(["convert", "--in", "x.json", "--out", "y.json", "--to", "parquet"], captureIo().io)).rejects.toThrow(/--to must be one of/);
    const bad = join(directory, "bad.jsonl");
    writeFileSync(bad, '{"instruction":"a","output":"b"}\n{"instruction":"a"}\n');
    const lenient = captureIo();
    expect(await run(["convert", "--in", bad, "--out", join(directory, "ok.json"), "--to", "sharegpt"], lenient.io)).toBe(0);
    expect(lenient.stderr()).toContain(`skipped ${bad}:2: output`);
    await expect(run(["convert", "--in", bad, "--out", join(directory, "ok.json"), "--to", "sharegpt", "--strict"], captureIo().io)).rejects.toThrow(new RegExp(`bad\\.jsonl:2`));
  });

  it("filter runs Alpaca's filters alone on an existing file", async () => {
    const input = join(directory, "candidates.json");
    writeFileSync(input, JSON.stringify([
      { instruction: "Is there anything I can eat for breakfast that doesn't include eggs, yet includes protein, and has roughly 700-1000 calories?", input: "", output: "x" }, // a seed, reworded slightly
      { instruction: "Explain how photosynthesis works in plants.", input: "", output: "y" },
      { instruction: "Draw a picture of a dog.", input: "", output: "z" },
      { instruction: "Explain how photosynthesis works in green plants.", input: "", output: "w" },
    ]));
    const { io, stdout } = captureIo();
    expect(await run(["filter", "--in", input, "--out", join(directory, "kept.json"), "--rejected", join(directory, "rejected.jsonl"), "--seed-tasks", sharedPath("data", "alpaca", "seed_tasks.jsonl"), "--json"], io)).toBe(0);
    expect(JSON.parse(stdout())).toMatchObject({ input: 4, kept: 1, counts: { kept: 1, "too-similar": 2, "blacklisted-word": 1 } });
    const kept = JSON.parse(readFileSync(join(directory, "kept.json"), "utf8"));
    // Every rule is a flag: without "picture" on the blacklist the drawing task survives.
    const relaxed = captureIo();
    await run(["filter", "--in", input, "--out", join(directory, "kept2.json"), "--no-seeds", "--blacklist", "image,video", "--json"], relaxed.io);
    expect(JSON.parse(relaxed.stdout()).counts).toEqual({ kept: 3, "too-similar": 1 });
    expect(kept[0]).toMatchObject({ instruction: "Explain how photosynthesis works in plants.", avg_similarity_score: expect.any(Number) });
  });

  it("self-instruct --method self-instruct sends --temperature/--top-p/--max-tokens/--stop in step 1, stops at --max-batches, and refuses the other method's flags", async () => {
    const server = await startFakeOpenAIServer();
    try {
      server.route("POST", "/v1/completions", (request) => {
        const prompt = String((request.body as { prompt?: unknown }).prompt);
        const text = prompt.startsWith("Come up with a series of tasks:") ? " Classify the fruit as sweet or sour." : prompt.endsWith("Is it classification?") ? " Yes" : "Class label: Sweet\nInput: mango";
        return jsonReply({ id: "c", object: "text_completion", created: 1, model: "t", choices: [{ index: 0, text, finish_reason: "stop", logprobs: null }], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } });
      });
      const { io, stdout } = captureIo("", { TEST_KEY: "secret" });
      const out = join(directory, "self-instruct-run");
      const teacher = ["--base-url", server.baseURL, "--remote-model", "t", "--api-key-env", "TEST_KEY", "--seed-tasks", sharedPath("data", "alpaca", "seed_tasks.jsonl")];
      const code = await run(["self-instruct", "--method", "self-instruct", "--out", out, ...teacher, "--num", "20", "--batch", "1", "--temperature", "0.2", "--top-p", "0.9", "--max-tokens", "77", "--stop", "\\n20", "--stop", "20.", "--max-batches", "2", "--exact-num", "--json"], io);
      expect(code).toBe(1); // stopped by --max-batches before --num
      const stepOne = server.requests.map((r) => r.body as Record<string, unknown>).filter((body) => String(body.prompt).startsWith("Come up with a series of tasks:"));
      expect(stepOne).toHaveLength(2);
      for (const body of stepOne) expect(body).toMatchObject({ temperature: 0.2, top_p: 0.9, max_tokens: 77, stop: ["\n20", "20."] });
      const summary = JSON.parse(stdout());
      expect(summary).toMatchObject({ stopReason: "max-batches", batches: 2, decoding: { temperature: 0.2, topP: 0.9, maxTokens: 77 } });
      expect(summary.extensions).toHaveLength(5);
      expect(summary.extensions).toContain("--exact-num: step 1 stops at exactly 20 (the original keeps the whole last batch)");
      await expect(run(["self-instruct", "--method", "self-instruct", "--out", join(directory, "x"), ...teacher, "--details", "none"], captureIo("", { TEST_KEY: "secret" }).io)).rejects.toThrow(/--details applies only to --method alpaca/);
      await expect(run(["self-instruct", "--out", join(directory, "y"), ...teacher, "--templates", "t.json", "--machine-examples", "1"], captureIo("", { TEST_KEY: "secret" }).io)).rejects.toThrow(/--templates, --machine-examples apply only to --method self-instruct/);
    } finally {
      await server.close();
    }
  });

  it("self-instruct against a remote completions teacher, with a price, writes a JSON summary", async () => {
    const server = await startFakeOpenAIServer();
    try {
      server.route("POST", "/v1/completions", jsonReply({ id: "c", object: "text_completion", created: 1, model: "t", choices: [{ index: 0, text: alpacaCompletionText(0, 4), finish_reason: "stop", logprobs: null }], usage: { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 } }));
      const { io, stdout } = captureIo("", { TEST_KEY: "secret" });
      const out = join(directory, "run");
      const code = await run(["self-instruct", "--out", out, "--base-url", server.baseURL, "--remote-model", "t", "--api-key-env", "TEST_KEY", "--num", "4", "--seed-tasks", sharedPath("data", "alpaca", "seed_tasks.jsonl"), "--price-prompt", "2", "--price-completion", "4", "--json"], io);
      expect(code).toBe(0);
      const summary = JSON.parse(stdout());
      expect(summary).toMatchObject({ stopReason: "target-reached", kept: 4, usage: { requests: 5, promptTokens: 5000, completionTokens: 2500 } });
      expect(summary.departures).toEqual(['no logit_bias sent (Alpaca sent {"50256":-100}, for GPT-2/3 vocabularies: --logit-bias)']);
      expect(summary.usage.estimatedCostUsd).toBeCloseTo((5000 * 2 + 2500 * 4) / 1e6, 12);
      expect(server.requests[0].headers.authorization).toBe("Bearer secret");
    } finally {
      await server.close();
    }
  });

  it("distill's default --api works against a chat server (camelid serve, vLLM, OpenAI); a run where every request fails exits non-zero", async () => {
    const server = await startFakeOpenAIServer();
    try {
      server.route("POST", "/v1/chat/completions", (request) => jsonReply(chatCompletionBody({ content: `answer to ${(request.body as { messages: { content: string }[] }).messages.at(-1)!.content}` })));
      const prompts = join(directory, "prompts.jsonl");
      writeFileSync(prompts, '{"prompt":"What is a llama?"}\n{"prompt":"And an alpaca?"}\n');
      const ok = captureIo();
      const out = join(directory, "distilled");
      expect(await run(["distill", "--prompts", prompts, "--out", out, "--base-url", server.baseURL, "--remote-model", "m"], ok.io)).toBe(0);
      expect(ok.stdout()).toMatch(/^distilled 2 of 2 prompts/);
      expect(readFileSync(join(out, "conversations.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l).conversations[1].value)).toEqual(["answer to What is a llama?", "answer to And an alpaca?"]);
      expect(server.requests.every((r) => r.path === "/v1/chat/completions")).toBe(true);

      server.route("POST", "/v1/chat/completions", jsonReply(errorBody("overloaded", "server_error"), 503));
      const failing = captureIo();
      const failedOut = join(directory, "distilled-failing");
      expect(await run(["distill", "--prompts", prompts, "--out", failedOut, "--base-url", server.baseURL, "--remote-model", "m", "--retries", "0"], failing.io)).toBe(1);
      expect(failing.stdout()).toMatch(/^distilled 0 of 2 prompts .*; 2 failed \(errors\.jsonl\): run the same command again to retry them/);
    } finally {
      await server.close();
    }
  });

  it("self-instruct --logit-bias is sent to a remote teacher and checked; --exact-num stops at --num", async () => {
    const server = await startFakeOpenAIServer();
    try {
      server.route("POST", "/v1/completions", jsonReply({ id: "c", object: "text_completion", created: 1, model: "t", choices: [{ index: 0, text: alpacaCompletionText(0, 5), finish_reason: "stop", logprobs: null }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
      const seeds = sharedPath("data", "alpaca", "seed_tasks.jsonl");
      const { io, stdout } = captureIo();
      const code = await run(["self-instruct", "--out", join(directory, "biased"), "--base-url", server.baseURL, "--remote-model", "t", "--num", "3", "--exact-num", "--seed-tasks", seeds, "--logit-bias", '{"50256": -100}', "--json"], io);
      expect(code).toBe(0);
      expect(JSON.parse(stdout())).toMatchObject({ kept: 3, departures: ["--exact-num: stopped at exactly 3 (Alpaca keeps the last batch whole)"] });
      expect((server.requests[0].body as Record<string, unknown>).logit_bias).toEqual({ "50256": -100 });
      await expect(run(["self-instruct", "--out", join(directory, "b2"), "--base-url", server.baseURL, "--remote-model", "t", "--seed-tasks", seeds, "--logit-bias", "{50256: -100}"], captureIo().io)).rejects.toThrow(/--logit-bias must be a JSON object of token id → bias/);
      await expect(run(["self-instruct", "--out", join(directory, "b3"), "--model", "x.gguf", "--seed-tasks", seeds, "--logit-bias", '{"2": -100}'], captureIo().io)).rejects.toThrow(/a local --model teacher cannot take it/);
    } finally {
      await server.close();
    }
  });
});
