import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/formats.js";
import { InvalidArgumentError, PromptFormatError } from "../../src/errors/index.js";
import { writeGguf, type GgufValue } from "../../src/gguf/index.js";
import { captureIo } from "../support/capture-io.js";
import { stories260KPath } from "../support/shared-data.js";

const scratch = mkdtempSync(join(tmpdir(), "camelid-formats-cli-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function ioIn(directory = scratch, isTTY = false) {
  const captured = captureIo();
  captured.io.cwd = directory;
  captured.io.isTTY = isTTY;
  return captured;
}

describe("camelid formats list", () => {
  it("prints every format with its stops", async () => {
    const { io, stdout } = ioIn();
    expect(await run(["list"], io)).toBe(0);
    const lines = stdout().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+SYSTEM\s+STOPS\s+DESCRIPTION$/);
    expect(lines.find((line) => line.startsWith("vicuna-v1.1 "))).toMatch(/yes\s+"<\/s>" "USER:"/);
    expect(lines.find((line) => line.startsWith("koala "))).toMatch(/ no /);
    expect(stdout()).toContain('"<|im_end|>" "<|im_start|>"');
    expect(stdout()).toContain("gguf-jinja");
  });

  it("--json gives names, descriptions, references and stops", async () => {
    const { io, stdout } = ioIn();
    expect(await run(["list", "--json"], io)).toBe(0);
    const list = JSON.parse(stdout()) as { name: string; stops: string[]; reference: string; supportsSystem: boolean }[];
    expect(list.map((format) => format.name)).toEqual(["alpaca", "vicuna-v0", "vicuna-v1.1", "koala", "llama-2-chat", "chatml", "llama-3"]);
    expect(list.find((format) => format.name === "alpaca")?.stops).toEqual(["###", "</s>"]);
    expect(list.every((format) => format.reference.length > 0)).toBe(true);
  });
});

describe("camelid formats render", () => {
  it("prints the exact prompt with special tokens marked, the stops and the exact text", async () => {
    const { io, stdout } = ioIn();
    const argv = ["render", "--format", "llama-2-chat", "--system", "Be brief.", "--user", "Hi", "--assistant", "Hello!", "--user", "Who?"];
    expect(await run(argv, io)).toBe(0);
    const out = stdout();
    expect(out).toContain("format: llama-2-chat");
    expect(out).toContain('stops: "</s>" "[INST]"');
    expect(out).toContain("⟦<s>⟧[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! ⟦</s>⟧⟦<s>⟧[INST] Who? [/INST]\n--- end of prompt ---");
    expect(out).toContain(`exact text (JSON-escaped): ${JSON.stringify("<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Who? [/INST]")}`);
    expect(out).toContain('special tokens (3): "<s>" at 0, "</s>" at 56, "<s>" at 60');
  });

  it("highlights special tokens with inverse video on a terminal", async () => {
    const { io, stdout } = ioIn(scratch, true);
    expect(await run(["render", "--format", "chatml", "--user", "Hi"], io)).toBe(0);
    expect(stdout()).toContain("\x1b[7m<|im_start|>\x1b[27muser\nHi\x1b[7m<|im_end|>\x1b[27m\n");
  });

  it("--raw prints only the exact prompt", async () => {
    const { io, stdout } = ioIn();
    expect(await run(["render", "--format", "vicuna-v1.1", "--user", "Hi", "--raw"], io)).toBe(0);
    expect(stdout()).toBe(
      "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions. USER: Hi ASSISTANT:",
    );
  });

  it("--json gives text, segments, stops and the BOS flag", async () => {
    const { io, stdout } = ioIn();
    expect(await run(["render", "--format", "llama-3", "--user", "Hi", "--json", "--no-generation-prompt"], io)).toBe(0);
    const result = JSON.parse(stdout());
    expect(result.text).toBe("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
    expect(result.startsWithBos).toBe(true);
    expect(result.stops).toEqual(["<|eot_id|>", "<|end_of_text|>", "<|start_header_id|>"]);
    expect(result.segments[0]).toEqual({ text: "<|begin_of_text|>", special: true, trainable: false });
    expect(result.format.name).toBe("llama-3");
  });

  it("reads a messages file, and renders a Jinja template file with the model's tokens", async () => {
    writeFileSync(
      join(scratch, "chat.json"),
      JSON.stringify({ messages: [{ role: "system", content: "S" }, { role: "user", content: "U" }, { role: "assistant", content: "A" }] }),
    );
    writeFileSync(join(scratch, "template.jinja"), "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{{ eos_token }}{% endfor %}");
    const { io, stdout } = ioIn();
    const argv = ["render", "--template", "template.jinja", "--messages", "chat.json", "--user", "U2", "--bos", "<B>", "--eos", "<E>", "--raw"];
    expect(await run(argv, io)).toBe(0);
    expect(stdout()).toBe("<B>[system]S<E>[user]U<E>[assistant]A<E>[user]U2<E>");
  });

  it("--model picks the format as camelid would for that GGUF: its template, BOS/EOS and control tokens", async () => {
    const vocabulary = ["<unk>", "<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>", "<|custom|>", "Hi"];
    const metadata = new Map<string, GgufValue>([
      ["general.architecture", { type: "string", value: "llama" }],
      ["general.name", { type: "string", value: "Tiny Chat" }],
      ["tokenizer.ggml.model", { type: "string", value: "gpt2" }],
      ["tokenizer.ggml.tokens", { type: "array", value: { elementType: "string", values: vocabulary } }],
      ["tokenizer.ggml.token_type", { type: "array", value: { elementType: "int32", values: Int32Array.from([2, 3, 3, 3, 3, 4, 1]) } }],
      ["tokenizer.ggml.bos_token_id", { type: "uint32", value: 1 }],
      ["tokenizer.ggml.eos_token_id", { type: "uint32", value: 2 }],
      [
        "tokenizer.chat_template",
        {
          type: "string",
          value: "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n{{ m.content }}<|custom|><|eot_id|>{% endfor %}",
        },
      ],
    ]);
    await writeGguf(join(scratch, "tiny-chat.gguf"), { metadata });
    const { io, stdout } = ioIn();
    expect(await run(["render", "--model", "tiny-chat.gguf", "--user", "Hi <|custom|>", "--json"], io)).toBe(0);
    const result = JSON.parse(stdout());
    expect(result.format).toMatchObject({ name: "gguf-jinja", source: "model-template" });
    expect(result.text).toBe("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi <|custom|><|custom|><|eot_id|>");
    expect(result.segments.filter((segment: { special: boolean }) => segment.special).map((segment: { text: string }) => segment.text)).toEqual([
      "<|begin_of_text|>",
      "<|start_header_id|>",
      "<|end_header_id|>",
      "<|custom|>",
      "<|eot_id|>",
    ]);
    expect(result.stops).toEqual(["<|eot_id|>"]);

    const forced = ioIn();
    expect(await run(["render", "--model", "tiny-chat.gguf", "--format", "vicuna-v1.1", "--user", "Hi"], forced.io)).toBe(0);
    expect(forced.stdout()).toContain('chosen: explicit: prompt format "vicuna-v1.1" was requested');
    expect(forced.stdout()).toContain('stops: "<|eot_id|>" "USER:"');
  });

  it("--model on a base model without a template reports the fallback and why", async () => {
    const { io, stdout } = ioIn();
    expect(await run(["render", "--model", stories260KPath(), "--user", "Hi"], io)).toBe(0);
    expect(stdout()).toContain('chosen: heuristic: the model has no chat template and the name "llama" matches no known family: fallback format');
  });

  it("rejects bad input with one clear typed error naming it", async () => {
    const { io } = ioIn();
    await expect(run(["render", "--format", "nope", "--user", "x"], io)).rejects.toThrow(/unknown prompt format "nope"; known formats: alpaca/);
    await expect(run(["render", "--format", "nope", "--user", "x"], io)).rejects.toBeInstanceOf(PromptFormatError);
    await expect(run(["render", "--format", "chatml"], io)).rejects.toThrow(/no messages/);
    await expect(run(["render", "--user", "x"], io)).rejects.toThrow(/--format <name>, --template <file> or --model <file.gguf> is required/);
    await expect(run(["render", "--template", "t.jinja", "--format", "chatml", "--user", "x"], io)).rejects.toThrow(/cannot be combined/);
    await expect(run(["detect"], io)).rejects.toThrow(/--model <file.gguf> is required/);
    await expect(run(["render", "--model", "missing.gguf", "--user", "x"], io)).rejects.toThrow(/cannot open \S*missing\.gguf: no such file/);
    await expect(run(["render", "--model", "chat.json", "--user", "x"], io)).rejects.toThrow(/invalid GGUF at byte 0/);
    await expect(run(["render", "--format", "chatml", "--usr", "x"], io)).rejects.toThrow(/--usr/);
    await expect(run(["render", "--format", "chatml", "--user", "x", "--messages", "missing.json"], io)).rejects.toThrow(
      /cannot read --messages file missing.json \(ENOENT\)/,
    );
    writeFileSync(join(scratch, "bad.json"), JSON.stringify([{ role: "user", content: "a" }, { role: "robot", content: "b" }]));
    await expect(run(["render", "--format", "chatml", "--messages", "bad.json"], io)).rejects.toThrow(/bad\.json: messages\[1\]\.role/);
    writeFileSync(join(scratch, "broken.json"), "{");
    await expect(run(["render", "--format", "chatml", "--messages", "broken.json"], io)).rejects.toThrow(/broken\.json is not valid JSON/);
    await expect(run(["render", "--format", "chatml", "--user", "a", "--user", "b"], io)).rejects.toThrow(/messages\[1\] has role "user"/);
    await expect(run(["frobnicate"], io)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("prints help", async () => {
    const { io, stdout } = ioIn();
    expect(await run(["--help"], io)).toBe(0);
    expect(stdout()).toContain("camelid formats render");
    expect(await run([], ioIn().io)).toBe(2);
  });
});

describe("camelid formats detect", () => {
  it("ranks every registry format on a real model (stories260K) and says what would be used", async () => {
    const { io, stdout } = ioIn();
    expect(await run(["detect", "--model", stories260KPath(), "--json"], io)).toBe(0);
    const result = JSON.parse(stdout()) as {
      ranking: { name: string; meanLogprob: number; tokenCount: number }[];
      skipped: unknown[];
      selected: { name: string; source: string };
    };
    expect(result.ranking.map((score) => score.name).sort()).toEqual(["alpaca", "chatml", "koala", "llama-2-chat", "llama-3", "vicuna-v0", "vicuna-v1.1"]);
    expect(result.skipped).toEqual([]);
    for (const [index, score] of result.ranking.entries()) {
      expect(Number.isFinite(score.meanLogprob) && score.meanLogprob < 0).toBe(true);
      expect(score.tokenCount).toBeGreaterThan(0);
      if (index > 0) expect(score.meanLogprob).toBeLessThanOrEqual(result.ranking[index - 1].meanLogprob);
    }
    expect(result.selected).toMatchObject({ name: "chatml", source: "heuristic" });
  });
});
