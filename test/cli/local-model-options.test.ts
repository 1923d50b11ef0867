// One schema for local-model options: the same bad value gets the same message from generate's flags,
// serve's flags, a serve config file and the local provider; --ctx-size is the one spelling.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inProcessEngineNote, parseServeFlags, run as serve } from "../../src/cli/commands/serve.js";
import { main } from "../../src/cli/main.js";
import { createLocalModel } from "../../src/providers/local/index.js";
import { resolveServeConfig } from "../../src/server/config.js";
import { captureIo } from "../support/capture-io.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "camelid-model-options-"));
  writeFileSync(join(dir, "a.gguf"), "");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The complaint after the name of the flag or key, without the value echoed back. */
function complaint(text: string): string {
  return /(must be [^,\n]*)/.exec(text)?.[1] ?? `no "must be" in: ${text}`;
}

async function cliError(argv: string[]): Promise<string> {
  const { io, stderr } = captureIo();
  io.cwd = dir;
  expect(await main(argv, io)).not.toBe(0);
  return stderr();
}

describe("local-model options, defined once", () => {
  it.each([
    { setting: "contextSize", flag: "--ctx-size", value: 8, expected: "must be an integer from 16 to 1048576" },
    { setting: "threads", flag: "--threads", value: 513, expected: "must be an integer from 1 to 512" },
    { setting: "batchSize", flag: "--batch-size", value: 0, expected: "must be an integer from 1 to 65536" },
  ])("refuses $setting $value with the same message from generate, serve, a config file and the provider", async ({ setting, flag, value, expected }) => {
    const generate = await cliError(["generate", "--model", join(dir, "a.gguf"), "--prompt", "hi", flag, String(value)]);
    expect(generate).toContain(`${flag} ${expected}, got "${value}"`);
    const serveFlags = await cliError(["serve", "--model", "a.gguf", flag, String(value)]);
    expect(serveFlags).toContain(`${flag} ${expected}, got "${value}"`);
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ models: [{ id: "a", path: "a.gguf", [setting]: value }] }));
    const configFile = await cliError(["serve", "--config", "bad.json"]);
    expect(configFile).toContain(`"models[0].${setting}": ${expected}, got ${value}`);
    let provider = "";
    try {
      createLocalModel({ modelPath: join(dir, "a.gguf"), [setting]: value });
    } catch (error) {
      provider = (error as Error).message;
    }
    expect(new Set([generate, serveFlags, configFile, provider].map(complaint))).toEqual(new Set([expected]));
  });

  it("serve's model line names the node-llama-cpp binary an in-process model runs and its threads", () => {
    expect(inProcessEngineNote({ engine: "node-llama-cpp", binary: "prebuilt", threads: 1 })).toBe("in-process engine (node-llama-cpp prebuilt binary, 1 thread); ");
    expect(inProcessEngineNote({ engine: "node-llama-cpp", binary: "localBuild", threads: 2 })).toBe(
      "in-process engine (node-llama-cpp local source build (camelid engine build --in-process), 2 threads); ",
    );
    expect(inProcessEngineNote(undefined)).toBe("");
  });

  it("serve takes --ctx-size, keeps --context-size as an alias and shows --ctx-size in its help", async () => {
    const paths = { models: ["a.gguf"] };
    const viaNew = resolveServeConfig({ ...parseServeFlags(["--ctx-size", "64"]), ...paths }, {}, dir);
    const viaAlias = resolveServeConfig({ ...parseServeFlags(["--context-size", "64"]), ...paths }, {}, dir);
    expect(viaNew.localModels[0].contextSize).toBe(64);
    expect(viaAlias.localModels[0].contextSize).toBe(64);
    expect(viaNew.localDefaults.contextSize).toBe(64);
    expect(() => parseServeFlags(["--context-size", "8"])).toThrow('--context-size must be an integer from 16 to 1048576, got "8"');
    expect(() => parseServeFlags(["--ctx-size", "64", "--context-size", "64"])).toThrow(/old spelling of --ctx-size/);
    const { io, stdout } = captureIo();
    expect(await serve(["--help"], io)).toBe(0);
    expect(stdout()).toMatch(/-c, --ctx-size N .*\(alias --context-size\)/);
  });

  it("a config file's model entry takes every shared setting, and a model's key beats the flags' default", () => {
    writeFileSync(
      join(dir, "all.json"),
      JSON.stringify({
        defaults: { threads: 2, batchSize: 64, loadTimeoutSeconds: 30 },
        models: [{ id: "a", path: "a.gguf", contextSize: 128, batchSize: 32, loadTimeoutSeconds: 5, sequences: 2 }],
      }),
    );
    const config = resolveServeConfig({ ...parseServeFlags(["--config", "all.json", "--threads", "3", "--ctx-size", "256"]) }, {}, dir);
    expect(config.localModels[0]).toMatchObject({ contextSize: 128, threads: 3, batchSize: 32, sequences: 2, loadTimeoutMs: 5000 });
    expect(config.localDefaults).toMatchObject({ contextSize: 256, threads: 3, batchSize: 64, sequences: 4, loadTimeoutMs: 30_000 });
  });

  it("bounds a --lora scale as a config file's lora scale", async () => {
    expect(await cliError(["generate", "--model", join(dir, "a.gguf"), "--prompt", "hi", "--lora", "a.gguf:20"])).toContain('--lora scale must be a number from -10 to 10, got "a.gguf:20"');
    writeFileSync(join(dir, "lora.json"), JSON.stringify({ models: [{ id: "a", path: "a.gguf", lora: [{ path: "a.gguf", scale: 20 }] }] }));
    expect(await cliError(["serve", "--config", "lora.json"])).toContain('"models[0].lora[0].scale": must be a number from -10 to 10, got 20');
  });

  it("names a judge's flag with its prefix", async () => {
    const { selectJudge } = await import("../../src/cli/commands/eval-shared.js");
    expect(() => selectJudge({ "judge-model": join(dir, "a.gguf"), "judge-ctx-size": "8" }, { env: {}, cwd: dir } as never)).toThrow('--judge-ctx-size must be an integer from 16 to 1048576, got "8"');
  });
});
