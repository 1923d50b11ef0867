import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/data.js";
import { run as train } from "../../src/cli/commands/train.js";
import { defaultGattSettings, gattDialogues, instructionFor, runGatt, type GattDialogue } from "../../src/datagen/gatt/ghost-attention.js";
import { UpstreamError } from "../../src/errors/index.js";
import { vicunaV11Format } from "../../src/prompts/index.js";
import type { CallOptions, LanguageModel } from "../../src/spec/index.js";
import { readTrainingDataset } from "../../src/train/dataset.js";
import { prepareTrainingData } from "../../src/train/prepare-data.js";
import { loadGgufTokenizer, type TrainingTokenizer } from "../../src/train/tokenizer.js";
import { captureIo } from "../support/capture-io.js";
import { chatCompletionBody, jsonReply, startFakeOpenAIServer } from "../support/fake-openai-server.js";
import { scriptedModel } from "../support/scripted-model.js";
import { stories260KPath } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";

const temporaryDirectory = temporaryDirectories("camelid-gatt-");
const readJsonl = (path: string) => readFileSync(path, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
const instruction = "Always answer in French.";
const lastUser = (options: CallOptions) => options.messages!.filter((m) => m.role === "user").at(-1)!.content;
/** Answers name their turn (how many user turns the teacher saw), so the tests can tell them apart. */
const turnTeacher = (modelId = "teacher") => scriptedModel({ modelId, reply: (options) => `réponse ${options.messages!.filter((m) => m.role === "user").length} à ${lastUser(options).split("\n\n").at(-1)}` });

const dialogues = (count: number): GattDialogue[] =>
  Array.from({ length: count }, (_, i) => ({ id: `d${i}`, users: [`hello ${i}`, `how are you ${i}?`, `bye ${i}`], instruction }));
const settings = { ...defaultGattSettings, sampling: { temperature: 0, maxTokens: 64 } };

describe("camelid data gatt (Ghost Attention, LLaMA-2 §3.3)", () => {
  it("the teacher sees the instruction on every user turn and its own earlier answers; the sample keeps it in the first turn only", async () => {
    const teacher = turnTeacher();
    const output = temporaryDirectory();
    const summary = await runGatt({ teacher, dialogues: dialogues(1), instructions: [instruction], settings, outputDirectory: output, concurrency: 1 });
    expect(summary.counts).toEqual({ done: 1 });
    // Turn by turn: each request is the conversation so far, "inst + u_i" on every user turn.
    expect(teacher.calls).toHaveLength(3);
    expect(teacher.calls.map((call) => call.messages)).toEqual([
      [{ role: "user", content: `${instruction}\n\nhello 0` }],
      [
        { role: "user", content: `${instruction}\n\nhello 0` },
        { role: "assistant", content: "réponse 1 à hello 0" },
        { role: "user", content: `${instruction}\n\nhow are you 0?` },
      ],
      [
        { role: "user", content: `${instruction}\n\nhello 0` },
        { role: "assistant", content: "réponse 1 à hello 0" },
        { role: "user", content: `${instruction}\n\nhow are you 0?` },
        { role: "assistant", content: "réponse 2 à how are you 0?" },
        { role: "user", content: `${instruction}\n\nbye 0` },
      ],
    ]);
    const [row] = readJsonl(join(output, "conversations.jsonl"));
    expect(row.conversations).toEqual([
      { from: "human", value: `${instruction}\n\nhello 0` },
      { from: "gpt", value: "réponse 1 à hello 0", weight: 0 },
      { from: "human", value: "how are you 0?" },
      { from: "gpt", value: "réponse 2 à how are you 0?", weight: 0 },
      { from: "human", value: "bye 0" },
      { from: "gpt", value: "réponse 3 à bye 0" },
    ]);
    expect(row.gatt.instruction).toBe(instruction);
  });

  describe("loss masks through camelid train's data preparation (stories260K's tokenizer)", () => {
    let tokenizer: TrainingTokenizer;
    beforeAll(async () => {
      tokenizer = await loadGgufTokenizer(stories260KPath());
    });
    afterAll(() => tokenizer?.dispose());

    const trainableText = (file: string) => {
      const dataset = readTrainingDataset(file);
      const prepared = prepareTrainingData(dataset.examples, vicunaV11Format, tokenizer, { maxLength: 4096, truncation: "drop", packing: false, validationFraction: 0, seed: 0 });
      expect(prepared.problems).toEqual([]);
      const [row] = prepared.train;
      const runs: number[][] = [];
      row.trainable.forEach((flag, i) => {
        if (flag && !row.trainable[i - 1]) runs.push([]);
        if (flag) runs.at(-1)!.push(row.tokens[i]);
      });
      return runs;
    };

    it("only the last assistant turn (and its end-of-turn) carries loss; without weights every reply does", async () => {
      const output = temporaryDirectory();
      await runGatt({ teacher: scriptedModel({ reply: (options) => `Once upon a time there was turn ${options.messages!.filter((m) => m.role === "user").length}.` }), dialogues: dialogues(1), instructions: [instruction], settings, outputDirectory: output, concurrency: 1 });
      const file = join(output, "conversations.jsonl");
      const eos = tokenizer.tokenizeSpecial("</s>")[0];
      const last = [...tokenizer.tokenizeText(" Once upon a time there was turn 3.", true), eos];
      expect(trainableText(file)).toEqual([last]);

      // The same sample without the weights: all three replies train (the default is unchanged).
      const unweighted = join(output, "unweighted.jsonl");
      const [row] = readJsonl(file);
      writeFileSync(unweighted, `${JSON.stringify({ conversations: row.conversations.map(({ from, value }: { from: string; value: string }) => ({ from, value })) })}\n`);
      expect(trainableText(unweighted)).toHaveLength(3);
    });

    it("camelid train --export axolotl keeps the weights and reads them; --export trl refuses what it would train", async () => {
      const output = temporaryDirectory();
      await runGatt({ teacher: turnTeacher(), dialogues: dialogues(1), instructions: [instruction], settings, outputDirectory: output, concurrency: 1 });
      const data = join(output, "conversations.jsonl");
      const recipe = join(output, "recipe");
      expect(await train(["--export", "axolotl", "--data", data, "--out", recipe, "--base-model", "m", "--prompt-format", "vicuna-v1.1"], captureIo().io)).toBe(0);
      const [exported] = readJsonl(join(recipe, "train.jsonl"));
      expect(exported.messages.map((m: { weight?: number }) => m.weight)).toEqual([undefined, 0, undefined, 0, undefined, undefined]);
      expect(readFileSync(join(recipe, "axolotl.yml"), "utf8")).toContain("    message_field_training: weight\n");
      await expect(train(["--export", "trl", "--data", data, "--out", join(output, "trl"), "--base-model", "m", "--prompt-format", "vicuna-v1.1"], captureIo().io)).rejects.toThrow(/"weight": 0[\s\S]*use --export axolotl/);
    });

    it("a weight other than 0 or 1 is a row problem with file:line; all replies at weight 0 is not a sample", () => {
      const file = join(temporaryDirectory(), "bad.jsonl");
      writeFileSync(file, [
        JSON.stringify({ messages: [{ role: "user", content: "a" }, { role: "assistant", content: "b", weight: 0.5 }] }),
        JSON.stringify({ messages: [{ role: "user", content: "a" }, { role: "assistant", content: "b", weight: 0 }] }),
        JSON.stringify({ messages: [{ role: "user", content: "a" }, { role: "assistant", content: "b", weight: 1 }] }),
      ].join("\n"));
      const dataset = readTrainingDataset(file);
      expect(dataset.examples).toHaveLength(1);
      expect(dataset.problems.map((p) => [p.line, p.message])).toEqual([
        [1, '"weight" must be 0 or 1, got 0.5'],
        [2, 'every assistant reply has "weight": 0: nothing to learn from'],
      ]);
    });
  });

  it("an interrupted run resumes where it stopped and ends with the rows of an uninterrupted one; a changed input is refused", async () => {
    const reference = temporaryDirectory();
    await runGatt({ teacher: turnTeacher(), dialogues: dialogues(4), instructions: [instruction], settings, outputDirectory: reference, concurrency: 1 });

    const killed = temporaryDirectory();
    const controller = new AbortController();
    // The run is stopped at the 5th request (dialogue d1's second turn), as a provider's call ends when
    // its abort signal fires: d0 is committed, d1 is abandoned mid-way.
    const base = turnTeacher();
    const stopping: LanguageModel = { ...base, async doGenerate(options) {
      if (base.calls.length === 4) {
        controller.abort(new Error("killed"));
        throw controller.signal.reason;
      }
      return base.doGenerate(options);
    } };
    await expect(runGatt({ teacher: stopping, dialogues: dialogues(4), instructions: [instruction], settings, outputDirectory: killed, concurrency: 1, signal: controller.signal })).rejects.toThrow();
    expect(readJsonl(join(killed, "conversations.jsonl")).map((row) => row.id)).toEqual(["d0"]);

    const changed = dialogues(4);
    changed[0] = { ...changed[0], instruction: "Speak like a pirate." };
    await expect(runGatt({ teacher: turnTeacher(), dialogues: changed, instructions: [instruction], settings, outputDirectory: killed, concurrency: 1 })).rejects.toThrow(/dialogues \(--in\) changed/);
    await expect(runGatt({ teacher: turnTeacher(), dialogues: dialogues(4), instructions: ["Speak like a pirate."], settings, outputDirectory: killed, concurrency: 1 })).rejects.toThrow(/instructions/);

    const resumedTeacher = turnTeacher();
    const summary = await runGatt({ teacher: resumedTeacher, dialogues: dialogues(4), instructions: [instruction], settings, outputDirectory: killed, concurrency: 1 });
    expect(summary.resumed).toBe(true);
    expect(resumedTeacher.calls).toHaveLength(9); // d1..d3, three turns each: d0 is not asked again
    expect(readFileSync(join(killed, "conversations.jsonl"), "utf8")).toBe(readFileSync(join(reference, "conversations.jsonl"), "utf8"));
  });

  it("a failed dialogue is counted and written to errors.jsonl; the next run retries it", async () => {
    const base = turnTeacher();
    let failing = true;
    const flaky: LanguageModel = { ...base, async doGenerate(options) {
      if (failing && lastUser(options).endsWith("how are you 1?")) throw new UpstreamError("overloaded");
      return base.doGenerate(options);
    } };
    const output = temporaryDirectory();
    const first = await runGatt({ teacher: flaky, dialogues: dialogues(3), instructions: [instruction], settings, outputDirectory: output, concurrency: 1, retry: { maxRetries: 0, baseDelayMs: 0, maxDelayMs: 0 } });
    expect(first.failed).toBe(1);
    expect(first.counts).toEqual({ done: 2, "request-failed": 1 });
    expect(readJsonl(join(output, "errors.jsonl"))).toEqual([{ index: 1, error: expect.stringMatching(/overloaded/) }]);
    failing = false;
    const second = await runGatt({ teacher: flaky, dialogues: dialogues(3), instructions: [instruction], settings, outputDirectory: output, concurrency: 1 });
    expect(second).toMatchObject({ failed: 0, retried: 1, counts: { done: 3 } });
  });

  it("instructions are drawn per dialogue with the seed; dialogues without a user turn are reported", () => {
    const list = ["Always answer in French.", "Speak like a pirate.", "Answer in haiku.", "Act as Oscar Wilde."];
    const drawn = Array.from({ length: 40 }, (_, i) => instructionFor(list, 7, i));
    expect(Array.from({ length: 40 }, (_, i) => instructionFor(list, 7, i))).toEqual(drawn);
    expect(new Set(drawn).size).toBeGreaterThan(1);
    expect(Array.from({ length: 40 }, (_, i) => instructionFor(list, 8, i))).not.toEqual(drawn);
    const { dialogues: kept, problems } = gattDialogues(
      [
        { id: "a", turns: [{ role: "user", content: "hi" }, { role: "assistant", content: "old answer" }, { role: "user", content: "more" }] },
        { id: "b", turns: [{ role: "assistant", content: "no user" }] },
      ],
      list,
      7,
    );
    expect(kept).toEqual([{ id: "a", users: ["hi", "more"], instruction: drawn[0] }]);
    expect(problems).toEqual(["record 2 (id b): the dialogue has no user turn"]);
  });

  it("the CLI reads ShareGPT dialogues, samples from a remote teacher and exits non-zero when nothing worked", async () => {
    const server = await startFakeOpenAIServer();
    try {
      server.route("POST", "/v1/chat/completions", (request) => jsonReply(chatCompletionBody({ content: `oui: ${(request.body as { messages: { content: string }[] }).messages.at(-1)!.content}` })));
      const directory = temporaryDirectory();
      const input = join(directory, "dialogues.json");
      writeFileSync(input, JSON.stringify([{ id: "x", conversations: [{ from: "human", value: "hi" }, { from: "gpt", value: "hello" }, { from: "human", value: "and?" }, { from: "gpt", value: "so" }] }]));
      const instructions = join(directory, "instructions.txt");
      writeFileSync(instructions, "Always answer in French.\n\nSpeak like a pirate.\n");
      const ok = captureIo();
      const out = join(directory, "out");
      expect(await run(["gatt", "--in", input, "--out", out, "--instructions", instructions, "--seed", "3", "--base-url", server.baseURL, "--remote-model", "m"], ok.io)).toBe(0);
      expect(ok.stdout()).toMatch(/^wrote 1 of 1 Ghost Attention samples/);
      const [row] = readJsonl(join(out, "conversations.jsonl"));
      const chosen = instructionFor(["Always answer in French.", "Speak like a pirate."], 3, 0);
      expect(row.conversations.map((m: { value: string }) => m.value)).toEqual([`${chosen}\n\nhi`, `oui: ${chosen}\n\nhi`, "and?", `oui: ${chosen}\n\nand?`]);

      server.route("POST", "/v1/chat/completions", jsonReply(chatCompletionBody({ content: "" })));
      const empty = captureIo();
      expect(await run(["gatt", "--in", input, "--out", join(directory, "empty"), "--instruction", instruction, "--base-url", server.baseURL, "--remote-model", "m"], empty.io)).toBe(1);
      expect(empty.stdout()).toMatch(/^wrote 0 of 1 Ghost Attention samples .*; 1 with an empty answer left out/);
      await expect(run(["gatt", "--in", input, "--out", join(directory, "none"), "--base-url", server.baseURL, "--remote-model", "m"], captureIo().io)).rejects.toThrow(/exactly one of --instruction/);
    } finally {
      await server.close();
    }
  });
});
