// Issue 18 point 4: context distillation (LLaMA-2 §4.2.4): the teacher answers with a safety preprompt,
// the stored conversations hold the prompt alone, and the run is keyed on the preprompt.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/data.js";
import { runDistill, defaultDistillSettings, userSimulatorOpener } from "../../src/datagen/distill/distill.js";
import { ConfigError } from "../../src/errors/index.js";
import { createOpenAICompatibleModel } from "../../src/providers/openai/index.js";
import type { CallOptions } from "../../src/spec/index.js";
import { captureIo } from "../support/capture-io.js";
import { chatCompletionBody, jsonReply, startFakeOpenAIServer, type FakeOpenAIServer } from "../support/fake-openai-server.js";
import { scriptedModel } from "../support/scripted-model.js";
import { temporaryDirectories } from "../support/temporary-directories.js";

const temporaryDirectory = temporaryDirectories("camelid-context-distill-");
const readJsonl = (path: string) => readFileSync(path, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

const PREPROMPT = "You are a safe and responsible assistant.";
type Message = { role: string; content: string };
const sentMessages = (server: FakeOpenAIServer) => server.requests.map((r) => (r.body as { messages: Message[] }).messages);

/** A teacher server that answers "answer N" to each request. */
async function answeringServer(): Promise<FakeOpenAIServer> {
  const server = await startFakeOpenAIServer();
  let answer = 0;
  server.route("POST", "/v1/chat/completions", () => jsonReply(chatCompletionBody({ content: `answer ${++answer}` })));
  return server;
}

describe("context distillation: the teacher sees the preprompt, the stored conversation does not", () => {
  it("prefixes the preprompt to the first user turn (the paper's way) and stores the prompt alone, with the preprompt's hash", async () => {
    const server = await answeringServer();
    try {
      const teacher = createOpenAICompatibleModel({ baseURL: server.baseURL, model: "teacher", api: "chat", maxRetries: 0 });
      const user = scriptedModel({ modelId: "user-sim", reply: () => "Tell me more." });
      const output = temporaryDirectory();
      const summary = await runDistill({
        teacher,
        user,
        prompts: [{ id: "q1", prompt: "How do I pick a lock?", category: "illicit", kind: "adversarial" }],
        settings: { ...defaultDistillSettings, followUps: 1 },
        contextDistillation: { preprompt: PREPROMPT, placement: "prefix" },
        outputDirectory: output,
        concurrency: 1,
      });
      expect(summary.counts).toEqual({ done: 1 });
      // Both teacher calls open with the preprompted prompt; the follow-up is not preprompted.
      expect(sentMessages(server)).toEqual([
        [{ role: "user", content: `${PREPROMPT}\n\nHow do I pick a lock?` }],
        [
          { role: "user", content: `${PREPROMPT}\n\nHow do I pick a lock?` },
          { role: "assistant", content: "answer 1" },
          { role: "user", content: "Tell me more." },
        ],
      ]);
      // The simulated user sees the stored conversation.
      expect(user.calls[0].messages!.slice(1)).toEqual([
        { role: "user", content: userSimulatorOpener },
        { role: "assistant", content: "How do I pick a lock?" },
        { role: "user", content: "answer 1" },
      ]);
      const [row] = readJsonl(join(output, "conversations.jsonl"));
      expect(row.conversations).toEqual([
        { from: "human", value: "How do I pick a lock?" },
        { from: "gpt", value: "answer 1" },
        { from: "human", value: "Tell me more." },
        { from: "gpt", value: "answer 2" },
      ]);
      expect(JSON.stringify(row.conversations)).not.toContain("responsible");
      expect(row.context_distillation).toEqual({ preprompt_sha256: sha256(PREPROMPT), placement: "prefix" });
    } finally {
      await server.close();
    }
  });

  it("--preprompt-as system: the preprompt is the system message, before --system's text, which alone is stored", async () => {
    const server = await answeringServer();
    try {
      const teacher = createOpenAICompatibleModel({ baseURL: server.baseURL, model: "teacher", api: "chat", maxRetries: 0 });
      const output = temporaryDirectory();
      await runDistill({
        teacher,
        prompts: [{ id: "q1", prompt: "Hi" }],
        settings: { ...defaultDistillSettings, system: "Be brief." },
        contextDistillation: { preprompt: PREPROMPT, placement: "system" },
        outputDirectory: output,
      });
      expect(sentMessages(server)).toEqual([[{ role: "system", content: `${PREPROMPT}\n\nBe brief.` }, { role: "user", content: "Hi" }]]);
      const [row] = readJsonl(join(output, "conversations.jsonl"));
      expect(row.conversations).toEqual([{ from: "system", value: "Be brief." }, { from: "human", value: "Hi" }, { from: "gpt", value: "answer 1" }]);
      expect(row.context_distillation.placement).toBe("system");
    } finally {
      await server.close();
    }
  });
});

describe("camelid data distill --preprompt", () => {
  const promptRows = [
    { id: "a1", prompt: "How do I make a weapon?", category: "illicit", kind: "adversarial" },
    { id: "b1", prompt: "How do I kill a Python process?", category: "illicit", kind: "borderline" },
    { id: "a2", prompt: "Write an insult.", category: "hateful", kind: "adversarial" },
    { id: "c1", prompt: "What is a llama?" },
  ];

  it("--preprompt @FILE, --preprompt-if-category and --answer-templates: only the named prompts get the preprompt, with their category's template", async () => {
    const server = await answeringServer();
    try {
      const directory = temporaryDirectory();
      const prompts = join(directory, "prompts.jsonl");
      writeFileSync(prompts, promptRows.map((r) => JSON.stringify(r)).join("\n"));
      writeFileSync(join(directory, "preprompt.txt"), `${PREPROMPT}\n`);
      const templates = join(directory, "templates.json");
      writeFileSync(templates, JSON.stringify({ illicit: "1. Address safety concerns. 2. Decline to help with the crime." }));
      const out = join(directory, "out");
      const cli = captureIo("", {});
      const code = await run(
        ["distill", "--prompts", prompts, "--out", out, "--base-url", server.baseURL, "--remote-model", "teacher", "--concurrency", "1",
          "--preprompt", "@preprompt.txt", "--preprompt-if-category", "adversarial", "--answer-templates", templates],
        { ...cli.io, cwd: directory },
      );
      expect(cli.stderr()).not.toMatch(/Error/);
      expect(code).toBe(0);
      const firstTurns = sentMessages(server).map((messages) => messages[0].content);
      expect(firstTurns).toEqual([
        `${PREPROMPT}\n\n1. Address safety concerns. 2. Decline to help with the crime.\n\nHow do I make a weapon?`,
        "How do I kill a Python process?", // borderline: not preprompted, as the paper found necessary
        `${PREPROMPT}\n\nWrite an insult.`, // adversarial, but no template for "hateful"
        "What is a llama?",
      ]);
      const rows = readJsonl(join(out, "conversations.jsonl"));
      expect(rows.map((r) => r.conversations[0].value)).toEqual(promptRows.map((r) => r.prompt));
      expect(rows.map((r) => r.conversations[1].value)).toEqual(["answer 1", "answer 2", "answer 3", "answer 4"]);
      expect(rows.map((r) => r.context_distillation?.answer_template ?? (r.context_distillation ? "none" : undefined))).toEqual(["illicit", undefined, "none", undefined]);
      expect(rows[0].context_distillation.preprompt_sha256).toBe(sha256(PREPROMPT));
      expect(cli.stdout()).toMatch(/context distillation: preprompt sha256 [0-9a-f]{12} prefixed to the prompt for 2 of 4 prompts \(category or kind adversarial\), 1 with their category's answer template; stored without it/);
    } finally {
      await server.close();
    }
  });

  it("names flags that cannot be used: a companion without --preprompt, an unknown placement, a missing file, a bad templates file", async () => {
    const directory = temporaryDirectory();
    const prompts = join(directory, "prompts.jsonl");
    writeFileSync(prompts, JSON.stringify(promptRows[0]));
    const base = ["distill", "--prompts", prompts, "--out", join(directory, "out"), "--base-url", "http://127.0.0.1:1/v1", "--remote-model", "m"];
    const help = captureIo();
    expect(await run(["distill", "--help"], help.io)).toBe(0);
    expect(help.stdout()).toMatch(/--preprompt <text>\|@<file>[\s\S]*--preprompt-as prefix\|system[\s\S]*--preprompt-if-category[\s\S]*--answer-templates/);
    await expect(run([...base, "--preprompt-if-category", "adversarial"], captureIo().io)).rejects.toThrow(/--preprompt-if-category needs --preprompt/);
    await expect(run([...base, "--preprompt", "x", "--preprompt-as", "suffix"], captureIo().io)).rejects.toThrow(/--preprompt-as must be prefix or system, got "suffix"/);
    await expect(run([...base, "--preprompt", "@nowhere.txt"], captureIo().io)).rejects.toThrow(/--preprompt @FILE: file not found: .*nowhere\.txt/);
    const badTemplates = join(directory, "t.json");
    writeFileSync(badTemplates, JSON.stringify({ illicit: 3 }));
    await expect(run([...base, "--preprompt", "x", "--answer-templates", badTemplates], captureIo().io)).rejects.toThrow(/must be a JSON object of category → template text/);
  });
});

describe("context distillation: resume is keyed on the preprompt", () => {
  const echo = () => scriptedModel({ reply: (options: CallOptions) => `reply to ${options.messages!.at(-1)!.content}` });
  const prompts = [{ id: "p0", prompt: "question 0" }, { id: "p1", prompt: "question 1" }];

  it("refuses a resume with a changed, added or dropped preprompt (or changed templates), and resumes with the same one", async () => {
    const output = temporaryDirectory();
    const preprompted = (preprompt: string, answerTemplates?: Record<string, string>) => ({ preprompt, placement: "prefix" as const, ...(answerTemplates ? { answerTemplates } : {}) });
    await runDistill({ teacher: echo(), prompts: prompts.slice(0, 1), settings: defaultDistillSettings, contextDistillation: preprompted(PREPROMPT), outputDirectory: output });
    const refused = echo();
    await expect(runDistill({ teacher: refused, prompts, settings: defaultDistillSettings, contextDistillation: preprompted("You are a wise assistant."), outputDirectory: output })).rejects.toThrow(
      ConfigError,
    );
    await expect(runDistill({ teacher: refused, prompts, settings: defaultDistillSettings, contextDistillation: preprompted("You are a wise assistant."), outputDirectory: output })).rejects.toThrow(
      /preprompt \(--preprompt\) changed since the run started \(sha256 [0-9a-f]{12} → [0-9a-f]{12}\)/,
    );
    await expect(runDistill({ teacher: refused, prompts, settings: defaultDistillSettings, outputDirectory: output })).rejects.toThrow(/preprompt \(--preprompt\) changed since the run started \(sha256 [0-9a-f]{12} → none\)/);
    await expect(runDistill({ teacher: refused, prompts, settings: defaultDistillSettings, contextDistillation: preprompted(PREPROMPT, { x: "y" }), outputDirectory: output })).rejects.toThrow(
      /answer templates \(--answer-templates\) changed/,
    );
    await expect(runDistill({ teacher: refused, prompts, settings: defaultDistillSettings, contextDistillation: { ...preprompted(PREPROMPT), onlyFor: ["adversarial"] }, outputDirectory: output })).rejects.toThrow(
      /different settings \(contextDistillation/,
    );
    expect(refused.calls).toHaveLength(0);
    const same = echo();
    const resumed = await runDistill({ teacher: same, prompts, settings: defaultDistillSettings, contextDistillation: preprompted(PREPROMPT), outputDirectory: output });
    expect(resumed).toMatchObject({ resumed: true, done: 2 });
    expect(same.calls.map((c) => c.messages!.at(-1)!.content)).toEqual([`${PREPROMPT}\n\nquestion 1`]);

    // A run made without a preprompt is not resumed with one either.
    const plain = temporaryDirectory();
    await runDistill({ teacher: echo(), prompts: prompts.slice(0, 1), settings: defaultDistillSettings, outputDirectory: plain });
    await expect(runDistill({ teacher: echo(), prompts, settings: defaultDistillSettings, contextDistillation: preprompted(PREPROMPT), outputDirectory: plain })).rejects.toThrow(
      /preprompt \(--preprompt\) changed since the run started \(sha256 none → [0-9a-f]{12}\)/,
    );
  });
});
