import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/inspect.js";
import type { CliIo } from "../../src/cli/io.js";
import { main, registerCommand } from "../../src/cli/main.js";
import { GgufFormatError, InvalidArgumentError } from "../../src/errors/index.js";
import { describeGguf, describeGgufHeader } from "../../src/gguf/describe.js";
import { parseGgufBytes } from "../../src/gguf/reader.js";
import type { GgufValue } from "../../src/gguf/types.js";
import { serializeGguf } from "../../src/gguf/writer.js";
import { inProcessEngineDefaults, installedNodeLlamaCppBuild, loadNodeLlamaCpp } from "../../src/providers/local/llama-runtime.js";
import { defaultThreadsForBuild } from "../../src/providers/local/options.js";
import { sharedPath, stories260KPath } from "../support/shared-data.js";

const workDir = mkdtempSync(join(tmpdir(), "camelid-inspect-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function capturedIo(): CliIo & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (text: string) => void (io.out += text),
    stderr: (text: string) => void (io.err += text),
    stdin: new PassThrough(),
    isTTY: false,
    env: {},
    cwd: workDir,
  };
  return io;
}

const CHAT_TEMPLATE = "{% for message in messages %}<|{{ message.role }}|>\n{{ message.content }}{% endfor %}";

/** A model-shaped header with RoPE scaling, MQA, special tokens and a chat template. */
async function richModel(): Promise<string> {
  const u32 = (value: number): GgufValue => ({ type: "uint32", value });
  const bytes = await serializeGguf({
    metadata: [
      ["general.architecture", { type: "string", value: "llama" }],
      ["general.name", { type: "string", value: "Rich" }],
      ["llama.context_length", u32(8192)],
      ["llama.embedding_length", u32(64)],
      ["llama.block_count", u32(1)],
      ["llama.feed_forward_length", u32(128)],
      ["llama.attention.head_count", u32(4)],
      ["llama.attention.head_count_kv", u32(1)],
      ["llama.rope.freq_base", { type: "float32", value: 500000 }],
      ["llama.rope.dimension_count", u32(16)],
      ["llama.rope.scaling.type", { type: "string", value: "linear" }],
      ["llama.rope.scaling.factor", { type: "float32", value: 4 }],
      ["tokenizer.ggml.model", { type: "string", value: "gpt2" }],
      ["tokenizer.ggml.tokens", { type: "array", value: { elementType: "string", values: ["<s>", "</s>", "<|eot|>", "a"] } }],
      ["tokenizer.ggml.merges", { type: "array", value: { elementType: "string", values: ["a a"] } }],
      ["tokenizer.ggml.bos_token_id", u32(0)],
      ["tokenizer.ggml.eos_token_id", u32(1)],
      ["tokenizer.ggml.eot_token_id", u32(2)],
      ["tokenizer.ggml.padding_token_id", { type: "int32", value: -1 }],
      ["tokenizer.ggml.add_bos_token", { type: "bool", value: true }],
      ["tokenizer.ggml.add_eos_token", { type: "bool", value: false }],
      ["tokenizer.chat_template", { type: "string", value: CHAT_TEMPLATE }],
    ],
    tensors: [
      { name: "token_embd.weight", dims: [64, 4], type: "Q8_0", data: new Float32Array(256) },
      { name: "output_norm.weight", dims: [64], type: "F32", data: new Float32Array(64) },
    ],
  });
  const path = join(workDir, "rich.gguf");
  writeFileSync(path, bytes);
  return path;
}

describe("describeGguf", () => {
  it("summarizes stories260K", async () => {
    const d = await describeGguf(stories260KPath());
    expect(d).toMatchObject({
      architecture: "llama",
      parameterCount: 292800,
      tensorCount: 48,
      tensorTypes: { F32: 48 },
      contextLength: 2048,
      embeddingLength: 64,
      layers: 5,
      heads: 8,
      kvHeads: 4,
      attention: "GQA",
      headDim: 8,
      feedForwardLength: 172,
      rope: { freqBase: null, dimensionCount: 8, scalingType: null, scalingFactor: null },
      tokenizer: { model: "llama", vocabSize: 512, addBos: null },
      chatTemplate: null,
    });
    expect(d.tokenizer.specialTokens).toEqual({
      bos: { id: 1, text: "<s>" },
      eos: { id: 2, text: "</s>" },
      unk: { id: 0, text: "<unk>" },
      pad: null, // stored as 0xFFFFFFFF, llama.cpp's "none"
      eot: null,
      sep: null,
    });
  });

  it("reports RoPE scaling, MQA, special tokens, add_bos/eos and the full chat template", async () => {
    const d = await describeGguf(await richModel());
    expect(d).toMatchObject({
      attention: "MQA",
      headDim: 16,
      parameterCount: 320,
      tensorTypes: { Q8_0: 1, F32: 1 },
      rope: { freqBase: 500000, dimensionCount: 16, scalingType: "linear", scalingFactor: 4 },
      tokenizer: { model: "gpt2", vocabSize: 4, mergeCount: 1, addBos: true, addEos: false },
      chatTemplate: CHAT_TEMPLATE,
    });
    expect(d.tokenizer.specialTokens.eot).toEqual({ id: 2, text: "<|eot|>" });
    expect(d.tokenizer.specialTokens.pad).toBeNull();
  });

  it("describes a vocabulary-only file of another architecture", async () => {
    const d = await describeGguf(sharedPath("tokenizers", "ggml-vocab-gpt-2.gguf"));
    expect(d).toMatchObject({
      architecture: "gpt2",
      parameterCount: 0,
      heads: 12,
      kvHeads: 12, // no head_count_kv key: llama.cpp's default is one KV head per query head
      attention: "MHA",
      contextLength: 1024,
      tokenizer: { model: "gpt2", pre: "gpt-2", vocabSize: 50257, mergeCount: 50000 },
    });
    expect(d.tokenizer.specialTokens.bos).toEqual({ id: 50256, text: "<|endoftext|>" });
  });

  it("tolerates odd metadata types without throwing", async () => {
    const header = await parseGgufBytes(
      await serializeGguf({
        metadata: [
          ["general.architecture", { type: "string", value: "x" }],
          ["x.attention.head_count", { type: "array", value: { elementType: "int32", values: Int32Array.from([4, 4]) } }],
          ["x.context_length", { type: "string", value: "lots" }],
          ["tokenizer.ggml.bos_token_id", { type: "uint64", value: 99n }],
        ],
      }),
    );
    const d = describeGgufHeader(header);
    expect(d).toMatchObject({ heads: 4, kvHeads: 4, attention: "MHA", contextLength: null });
    expect(d.tokenizer.specialTokens.bos).toEqual({ id: 99, text: null });
  });
});

describe("camelid inspect", () => {
  it("prints a readable summary", async () => {
    const io = capturedIo();
    expect(await run([await richModel()], io)).toBe(0);
    expect(io.err).toBe("");
    expect(io.out).toContain("architecture       llama\n");
    expect(io.out).toContain("parameters         320 (320) in 2 tensors\n");
    expect(io.out).toContain("heads              4 query, 1 KV (MQA), head dim 16\n");
    expect(io.out).toContain("rope               freq base 500000, dims 16, scaling linear ×4\n");
    expect(io.out).toContain('special tokens     bos=0 "<s>", eos=1 "</s>", eot=2 "<|eot|>"\n');
    expect(io.out).toContain("tensor types       Q8_0 ×1, F32 ×1\n");
    expect(io.out).toContain("chat template      85 characters:\n  {% for message in messages %}<|{{ message.role }}|>\n  {{ message.content }}{% endfor %}\n");
  });

  it("prints JSON with --json, resolving the path against the working directory", async () => {
    const io = capturedIo();
    await richModel();
    expect(await run(["--json", "rich.gguf"], io)).toBe(0);
    const parsed = JSON.parse(io.out);
    expect(parsed).toMatchObject({ file: join(workDir, "rich.gguf"), attention: "MQA", chatTemplate: CHAT_TEMPLATE });
  });

  it("throws typed errors for bad files and arguments", async () => {
    const bad = join(workDir, "bad.gguf");
    writeFileSync(bad, Buffer.from("GGUF\x03\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff", "latin1"));
    await expect(run([bad], capturedIo())).rejects.toBeInstanceOf(GgufFormatError);
    await expect(run([], capturedIo())).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(run(["a.gguf", "b.gguf"], capturedIo())).rejects.toThrow(/expected one GGUF file, got 2/);
    await expect(run(["--yaml", "x"], capturedIo())).rejects.toThrow(/unknown option --yaml/);
    await expect(run(["missing.gguf"], capturedIo())).rejects.toThrow(/no such file: missing\.gguf/);
    const help = capturedIo();
    expect(await run(["--help"], help)).toBe(0);
    expect(help.out).toMatch(/^usage: camelid inspect/);
  });

  it("through the CLI entry point a bad file is one line on stderr and exit code 1", async () => {
    registerCommand("inspect", "describe a GGUF file", () => import("../../src/cli/commands/inspect.js"));
    const bad = join(workDir, "truncated.gguf");
    writeFileSync(bad, Buffer.from("GGUF\x03\x00\x00\x00\x00", "latin1"));
    const io = capturedIo();
    expect(await main(["inspect", bad], io)).toBe(1);
    expect(io.out).toBe("");
    expect(io.err).toBe(`camelid inspect: ${bad}: invalid GGUF at byte 8: unexpected end of file while reading the tensor count: needs 8 bytes, 1 left\n`);
  });
});

describe("inspect names the in-process engine's binary", () => {
  /** A node-llama-cpp package folder whose local build for linux-x64 has the given files. */
  function packageWithLocalBuild(files: string[]): string {
    const folder = mkdtempSync(join(workDir, "node-llama-cpp-"));
    const build = join(folder, "llama", "localBuilds", "linux-x64");
    mkdirSync(join(build, "Release"), { recursive: true });
    for (const file of files) writeFileSync(join(build, file), "");
    return folder;
  }
  const complete = [join("Release", "llama-addon.node"), join("Release", "_nlcBuildMetadata.json"), "buildDone.status"];

  it("says which binary and default threads a model would get, read from node-llama-cpp's files (nothing loaded)", async () => {
    const io = capturedIo();
    expect(await run([stories260KPath()], io)).toBe(0);
    const build = installedNodeLlamaCppBuild();
    const threads = defaultThreadsForBuild(build);
    const binary = build === "localBuild" ? "local source build (camelid engine build --in-process)" : "prebuilt binary";
    expect(io.out).toContain(`\nengine             in process: node-llama-cpp ${binary}, ${threads} thread${threads === 1 ? "" : "s"} by default\n`);
    const json = capturedIo();
    expect(await run(["--json", stories260KPath()], json)).toBe(0);
    expect(JSON.parse(json.out).engine).toEqual({ engine: "node-llama-cpp", binary: build, threads });
  });

  it("finds a complete local build (camelid engine build --in-process) the way node-llama-cpp does", async () => {
    const built = packageWithLocalBuild(complete);
    expect(installedNodeLlamaCppBuild(built, "linux", "x64")).toBe("localBuild");
    // Another platform or architecture has its own folder; a build cut short (no buildDone.status) is not loaded.
    expect(installedNodeLlamaCppBuild(built, "linux", "arm64")).toBe("prebuilt");
    expect(installedNodeLlamaCppBuild(built, "darwin", "x64")).toBe("prebuilt");
    expect(installedNodeLlamaCppBuild(packageWithLocalBuild(complete.slice(0, 2)), "linux", "x64")).toBe("prebuilt");
    expect(installedNodeLlamaCppBuild(join(workDir, "no-such-package"), "linux", "x64")).toBe("prebuilt");

    const io = capturedIo();
    const local = { engine: "node-llama-cpp" as const, binary: "localBuild", threads: defaultThreadsForBuild("localBuild") };
    expect(await run([await richModel()], io, () => local)).toBe(0);
    expect(io.out).toContain(`engine             in process: node-llama-cpp local source build (camelid engine build --in-process), ${local.threads} thread`);
    if (process.platform === "linux" && process.arch === "x64") expect(inProcessEngineDefaults(built)).toEqual(local);
  });

  it("agrees with node-llama-cpp's own choice on this machine", async () => {
    const { getLlama } = await loadNodeLlamaCpp();
    // dryRun: node-llama-cpp picks and disposes its binary without initialising llama.cpp.
    const llama = await getLlama({ build: "never", gpu: false, progressLogs: false, dryRun: true });
    expect(installedNodeLlamaCppBuild()).toBe(llama.buildType);
  });
});
