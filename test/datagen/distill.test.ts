import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultDistillSettings, runDistill } from "../../src/datagen/distill/distill.js";
import { promptsFromFile } from "../../src/datagen/distill/prompts-file.js";
import { defaultRefineSettings, miniGpt4FixPrompt, runRefine } from "../../src/datagen/distill/refine.js";
import { writeFileSync } from "node:fs";
import { sharedPath } from "../support/shared-data.js";
import { AuthenticationError } from "../../src/errors/index.js";
import { createOpenAICompatibleModel } from "../../src/providers/openai/index.js";
import type { CallOptions } from "../../src/spec/index.js";
import { chatCompletionBody, jsonReply, startFakeOpenAIServer } from "../support/fake-openai-server.js";
import { scriptedModel } from "../support/scripted-model.js";

const directories: string[] = [];
const temporaryDirectory = () => {
  const directory = mkdtempSync(join(tmpdir(), "camelid-distill-"));
  directories.push(directory);
  return directory;
};
afterAll(() => directories.forEach((d) => rmSync(d, { recursive: true, force: true })));
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
      // The simulated user sees the conversation with roles swapped: the assistant's answers are its "user" turns.
      expect(user.calls[0].messages!.map((m) => m.role)).toEqual(["system", "assistant", "user"]);
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
