import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultDistillSettings, runDistill, userSimulatorOpener } from "../../src/datagen/distill/distill.js";
import { promptsFromFile } from "../../src/datagen/distill/prompts-file.js";
import { defaultRefineSettings, miniGpt4FixPrompt, runRefine } from "../../src/datagen/distill/refine.js";
import { writeFileSync } from "node:fs";
import { sharedPath } from "../support/shared-data.js";
import { AuthenticationError, UpstreamError } from "../../src/errors/index.js";
import { createOpenAICompatibleModel } from "../../src/providers/openai/index.js";
import type { CallOptions } from "../../src/spec/index.js";
import { chatCompletionBody, jsonReply, startFakeOpenAIServer } from "../support/fake-openai-server.js";
import { scriptedModel } from "../support/scripted-model.js";
import { temporaryDirectories } from "../support/temporary-directories.js";

const temporaryDirectory = temporaryDirectories("camelid-distill-");
const readJsonl = (path: string) => readFileSync(path, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));

describe("distill", () => {
  it("writes ShareGPT conversations with K follow-ups from a simulated user (teacher over loopback HTTP)", async () => {
    const server = await startFakeOpenAIServer();
    try {
      let answer = 0;
      server.route("POST", "/v1/chat/completions", () => jsonReply(chatCompletionBody({ content: `answer ${++answer}` })));
      const teacher = createOpenAICompatibleModel({ baseURL: server.baseURL, model: "teacher", api: "chat", maxRetries: 0 });
      const user = scriptedModel({ modelId: "user-sim", reply: (options: CallOptions) => `follow-up to "${options.messages!.at(-1)!.content}"` });
      const output = temporaryDirectory();
      const summary = await runDistill({
        teacher,
        user,
        prompts: [{ id: "q1", prompt: "What is a llama?" }],
        settings: { ...defaultDistillSettings, followUps: 2, system: "Be brief." },
        outputDirectory: output,
        concurrency: 1,
      });
      expect(summary.counts).toEqual({ done: 1 });
      const [row] = readJsonl(join(output, "conversations.jsonl"));
      expect(row).toEqual({
        id: "q1",
        model: "teacher",
        conversations: [
          { from: "system", value: "Be brief." },
          { from: "human", value: "What is a llama?" },
          { from: "gpt", value: "answer 1" },
          { from: "human", value: 'follow-up to "answer 1"' },
          { from: "gpt", value: "answer 2" },
          { from: "human", value: 'follow-up to "answer 2"' },
          { from: "gpt", value: "answer 3" },
        ],
      });
      // The simulated user sees the conversation with roles swapped (the assistant's answers are its "user"
      // turns), opened by a fixed user message so that it starts with the user and alternates strictly.
      expect(user.calls[0].messages!.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
      expect(user.calls[0].messages![1].content).toBe(userSimulatorOpener);
      // The teacher got the whole history each time.
      const lastTeacherCall = server.requests.at(-1)!.body as { messages: { role: string }[] };
      expect(lastTeacherCall.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user", "assistant", "user"]);
      expect(summary.usage.requests).toBe(5);
    } finally {
      await server.close();
    }
  });

  it("stops on a fatal error with progress saved, and a rerun finishes without repeating or losing prompts", async () => {
    const prompts = Array.from({ length: 6 }, (_, i) => ({ id: `p${i}`, prompt: `question ${i}` }));
    const output = temporaryDirectory();
    let calls = 0;
    const failing = scriptedModel({
      reply: (options) => {
        if (++calls === 4) throw new AuthenticationError("key revoked");
        return `reply to ${options.messages!.at(-1)!.content}`;
      },
    });
    await expect(runDistill({ teacher: failing, prompts, settings: defaultDistillSettings, outputDirectory: output, concurrency: 1 })).rejects.toThrow(/key revoked/);
    expect(readJsonl(join(output, "conversations.jsonl")).map((r) => r.id)).toEqual(["p0", "p1", "p2"]);
    const working = scriptedModel({ reply: (options) => `reply to ${options.messages!.at(-1)!.content}` });
    const summary = await runDistill({ teacher: working, prompts, settings: defaultDistillSettings, outputDirectory: output, concurrency: 3 });
    expect(summary.resumed).toBe(true);
    expect(working.calls).toHaveLength(3);
    expect(readJsonl(join(output, "conversations.jsonl")).map((r) => r.id)).toEqual(["p0", "p1", "p2", "p3", "p4", "p5"]);
  });
});

describe("prompt files", () => {
  it("takes MT-bench turns[0], Alpaca instruction + input, ShareGPT first human turn; reports rows without a prompt by line", () => {
    const mtBench = promptsFromFile(sharedPath("eval", "mt_bench", "question.jsonl"));
    expect(mtBench.prompts).toHaveLength(80);
    expect(mtBench.prompts[0].id).toBe("81");
    const alpaca = promptsFromFile(sharedPath("data", "alpaca", "alpaca_data_first1727.json")).prompts;
    expect(alpaca).toHaveLength(1727);
    const sharegpt = promptsFromFile(sharedPath("data", "sharegpt", "dummy_conversation.json")).prompts;
    expect(sharegpt[0]).toEqual({ id: "identity_0", prompt: "Who are you?" });
    const path = join(temporaryDirectory(), "mixed.jsonl");
    writeFileSync(path, '{"instruction":"Add.","input":"2 and 3"}\n{"nothing":1}\n{"prompt":"Hi"}\n');
    const mixed = promptsFromFile(path);
    expect(mixed.prompts.map((p) => p.prompt)).toEqual(["Add.\n\n2 and 3", "Hi"]);
    expect(mixed.problems).toEqual([`${path}:2: no prompt (prompt, instruction, question, text, turns[0] or a first user message)`]);
  });
});

describe("refine", () => {
  it("sends MiniGPT-4's fixing prompt for each assistant turn and keeps both versions", async () => {
    const fixer = scriptedModel({ modelId: "fixer", reply: (options) => options.messages!.at(-1)!.content.replace(/ the the /g, " the ").replace(/ xx$/, "") });
    const output = temporaryDirectory();
    const summary = await runRefine({
      fixer,
      records: [
        { id: "a", turns: [{ role: "user", content: "Describe it." }, { role: "assistant", content: "It is on the the table xx" }] },
        { id: "b", turns: [{ role: "user", content: "And this?" }, { role: "assistant", content: "Fine already." }] },
      ],
      settings: defaultRefineSettings,
      outputDirectory: output,
    });
    expect(fixer.calls[0].messages![0]).toEqual({ role: "system", content: miniGpt4FixPrompt });
    expect(fixer.calls).toHaveLength(2);
    const rows = readJsonl(join(output, "refined.jsonl"));
    expect(rows[0].conversations).toEqual([
      { from: "human", value: "Describe it." },
      { from: "gpt", value: "It is on the table", original: "It is on the the table xx" },
    ]);
    expect(summary.counts).toEqual({ changed: 1, unchanged: 1 });
  });
});

describe("distill: no silent loss", () => {
  const prompts = (count: number, from = 0) => Array.from({ length: count }, (_, i) => ({ id: `p${from + i}`, prompt: `question ${from + i}` }));
  const echo = () => scriptedModel({ reply: (options) => `reply to ${options.messages!.at(-1)!.content}` });

  it("refuses to resume against a changed prompts file instead of skipping its new prompts; appended prompts are distilled next", async () => {
    const output = temporaryDirectory();
    const first = await runDistill({ teacher: echo(), prompts: prompts(5), settings: defaultDistillSettings, outputDirectory: output });
    expect(first).toMatchObject({ done: 5, total: 5 });
    // Same count, other prompts: before, the resume saw next = 5, asked nothing and reported "5 of 5".
    const replaced = echo();
    await expect(runDistill({ teacher: replaced, prompts: prompts(5, 100), settings: defaultDistillSettings, outputDirectory: output })).rejects.toThrow(
      /the prompts \(--prompts\) changed since the run in .* started: its first 5 items differ from those already processed/,
    );
    await expect(runDistill({ teacher: replaced, prompts: prompts(3), settings: defaultDistillSettings, outputDirectory: output })).rejects.toThrow(/it has 3 items but 5 were already processed/);
    expect(replaced.calls).toHaveLength(0);
    // A longer file whose first prompts are those done (a raised --limit) extends the run.
    const extended = await runDistill({ teacher: echo(), prompts: prompts(7), settings: defaultDistillSettings, outputDirectory: output });
    expect(extended).toMatchObject({ done: 7, total: 7, resumed: true });
    expect(readJsonl(join(output, "conversations.jsonl")).map((r) => r.id)).toEqual(["p0", "p1", "p2", "p3", "p4", "p5", "p6"]);
  });

  it("counts failed prompts (a 503 after the retries), and the next run with the same --out retries exactly those", async () => {
    const output = temporaryDirectory();
    const flaky = scriptedModel({
      reply: (options) => {
        const content = options.messages!.at(-1)!.content;
        if (content === "question 1" || content === "question 3") throw new UpstreamError("503 Service Unavailable", 503);
        return `reply to ${content}`;
      },
    });
    const first = await runDistill({ teacher: flaky, prompts: prompts(5), settings: defaultDistillSettings, outputDirectory: output, retry: { maxRetries: 1, baseDelayMs: 0, maxDelayMs: 0 } });
    expect(first).toMatchObject({ done: 3, failed: 2, total: 5, counts: { done: 3, "request-failed": 2 } });
    expect(readJsonl(join(output, "errors.jsonl")).map((r) => r.index)).toEqual([1, 3]);

    const working = echo();
    const second = await runDistill({ teacher: working, prompts: prompts(5), settings: defaultDistillSettings, outputDirectory: output });
    expect(working.calls.map((c) => c.messages!.at(-1)!.content)).toEqual(["question 1", "question 3"]);
    expect(second).toMatchObject({ done: 5, failed: 0, retried: 2, counts: { done: 5 } });
    expect(readJsonl(join(output, "conversations.jsonl")).map((r) => r.id)).toEqual(["p0", "p2", "p4", "p1", "p3"]);
    // Nothing left to retry: a third run asks nothing.
    const third = echo();
    await runDistill({ teacher: third, prompts: prompts(5), settings: defaultDistillSettings, outputDirectory: output });
    expect(third.calls).toHaveLength(0);
  });

  it("a reply cut by max_tokens is marked truncated and kept apart, not stored as a complete turn", async () => {
    const output = temporaryDirectory();
    const teacher = {
      ...echo(),
      async doGenerate(options: CallOptions) {
        const content = options.messages!.at(-1)!.content;
        const cut = content === "question 1" || content.startsWith("follow-up");
        const text = cut ? "An answer that stops in the mid" : `reply to ${content}`;
        return { modelId: "t", choices: [{ index: 0, text, finishReason: cut ? ("length" as const) : ("stop" as const), completionTokens: 8 }], usage: { promptTokens: 1, completionTokens: 8, totalTokens: 9 }, timings: { timeToFirstTokenMs: 1, totalMs: 1, tokensPerSecond: 1 }, warnings: [] };
      },
    };
    const user = scriptedModel({ reply: () => "follow-up please" });
    const summary = await runDistill({ teacher, user, prompts: prompts(3), settings: { ...defaultDistillSettings, followUps: 1 }, outputDirectory: output, concurrency: 1 });
    expect(summary.counts).toEqual({ truncated: 3 });
    expect(readJsonl(join(output, "conversations.jsonl"))).toEqual([]);
    const truncated = readJsonl(join(output, "truncated.jsonl"));
    expect(truncated.map((r) => r.id)).toEqual(["p0", "p1", "p2"]);
    expect(truncated[1]).toMatchObject({ truncated: true, conversations: [{ from: "human", value: "question 1" }, { from: "gpt", value: "An answer that stops in the mid", truncated: true }] });
    expect(truncated[0].conversations).toHaveLength(4);
    expect(truncated[0].conversations.at(-1)).toMatchObject({ from: "gpt", truncated: true });
    expect(truncated[0].conversations[1].truncated).toBeUndefined();
  });

  it("--turns K works through strict-alternation templates (ChatML, Llama-2) rendered for a completions server", async () => {
    for (const promptFormat of ["chatml", "llama-2-chat"]) {
      const server = await startFakeOpenAIServer();
      try {
        let call = 0;
        server.route("POST", "/v1/completions", () => jsonReply({ id: "c", object: "text_completion", created: 1, model: "m", choices: [{ index: 0, text: `text ${++call}`, finish_reason: "stop", logprobs: null }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
        const model = createOpenAICompatibleModel({ baseURL: server.baseURL, model: "m", api: "completions", promptFormat, maxRetries: 0 });
        const output = temporaryDirectory();
        const summary = await runDistill({ teacher: model, prompts: prompts(1), settings: { ...defaultDistillSettings, followUps: 2, system: "Be brief." }, outputDirectory: output, concurrency: 1 });
        expect(summary.counts, promptFormat).toEqual({ done: 1 });
        const [row] = readJsonl(join(output, "conversations.jsonl"));
        expect(row.conversations.map((m: { from: string }) => m.from)).toEqual(["system", "human", "gpt", "human", "gpt", "human", "gpt"]);
        expect(server.requests).toHaveLength(5);
      } finally {
        await server.close();
      }
    }
  });

  it("a teacher whose prompt format cannot render the messages stops the run (fatal), instead of failing every prompt", async () => {
    const server = await startFakeOpenAIServer();
    try {
      const model = createOpenAICompatibleModel({ baseURL: server.baseURL, model: "m", api: "completions", maxRetries: 0 });
      const output = temporaryDirectory();
      await expect(runDistill({ teacher: model, prompts: prompts(4), settings: defaultDistillSettings, outputDirectory: output })).rejects.toThrow(/needs an explicit promptFormat/);
      expect(readFileSync(join(output, "errors.jsonl"), "utf8")).toBe("");
    } finally {
      await server.close();
    }
  });

  it("refine keeps the original text when the fixer's reply was cut by max_tokens", async () => {
    const fixer = echo();
    const cutting = { ...fixer, doGenerate: async (options: CallOptions) => ({ ...(await fixer.doGenerate(options)), choices: [{ index: 0, text: "It is on the", finishReason: "length" as const, completionTokens: 4 }] }) };
    const output = temporaryDirectory();
    const summary = await runRefine({ fixer: cutting, records: [{ id: "a", turns: [{ role: "user", content: "Q" }, { role: "assistant", content: "It is on the the table" }] }], settings: defaultRefineSettings, outputDirectory: output });
    expect(summary.counts).toEqual({ "fixer-truncated": 1 });
    expect(readJsonl(join(output, "refined.jsonl"))[0].conversations[1]).toEqual({ from: "gpt", value: "It is on the the table", original: "It is on the the table", fix_truncated: true });
  });

  it("refine refuses to resume against changed records", async () => {
    const output = temporaryDirectory();
    const records = [{ id: "a", turns: [{ role: "user" as const, content: "Q" }, { role: "assistant" as const, content: "A" }] }];
    await runRefine({ fixer: echo(), records, settings: defaultRefineSettings, outputDirectory: output });
    const changed = [{ ...records[0], turns: [records[0].turns[0], { role: "assistant" as const, content: "B" }] }];
    await expect(runRefine({ fixer: echo(), records: changed, settings: defaultRefineSettings, outputDirectory: output })).rejects.toThrow(/the records \(--in\) changed/);
  });
});
