import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/formats.js";
import { InvalidArgumentError, PromptFormatError } from "../../src/errors/index.js";
import { captureIo } from "../support/capture-io.js";

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

  it("rejects bad input with one clear typed error naming it", async () => {
    const { io } = ioIn();
    await expect(run(["render", "--format", "nope", "--user", "x"], io)).rejects.toThrow(/unknown prompt format "nope"; known formats: alpaca/);
    await expect(run(["render", "--format", "nope", "--user", "x"], io)).rejects.toBeInstanceOf(PromptFormatError);
    await expect(run(["render", "--format", "chatml"], io)).rejects.toThrow(/no messages/);
    await expect(run(["render", "--user", "x"], io)).rejects.toThrow(/--format <name> or --template <file> is required/);
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
