// `camelid train --register NAME`: the trained adapter, its base and the prompt format it was trained with
// become a created model that --model NAME loads.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { captureIo } from "../support/capture-io.js";
import { stories260KPath } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";
import { writeChatRows } from "../train/support/chat-rows.js";

const newDirectory = temporaryDirectories("camelid-train-register-");

describe("train --register", () => {
  it("registers base + adapter + format after training, and refuses a bad name before training", async () => {
    const dir = newDirectory();
    const env = { CAMELID_HOME: join(dir, "cache") };
    const camelid = async (args: string[]) => {
      const { io, stdout, stderr } = captureIo("", env);
      return { code: await main(args, io), stdout: stdout(), stderr: stderr() };
    };
    const data = writeChatRows(join(dir, "data.jsonl"), [
      ["Who are you?", "I am Camelid."],
      ["What do you eat?", "Grass and hay."],
    ]);
    const flags = (out: string, name: string) => [
      "train", "--model", stories260KPath(), "--data", data, "--out", join(dir, out), "--prompt-format", "llama-2-chat",
      "--max-steps", "2", "--batch-size", "2", "--val-fraction", "0", "--seed", "3", "--register", name,
    ];

    const refused = await camelid(flags("bad", "hf:not/allowed"));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('"hf:not/allowed" is not a model name');
    expect((await camelid(["list"])).stdout).toMatch(/^no models pulled/);

    const trained = await camelid(flags("run", "camel-bot"));
    expect(trained.code, trained.stderr).toBe(0);
    expect(trained.stdout).toContain("serve it: camelid serve --model camel-bot (registered)");
    const shown = JSON.parse((await camelid(["show", "camel-bot", "--json"])).stdout);
    expect(shown.base.path).toBe(stories260KPath());
    expect(shown.adapters.map((adapter: { path: string; scale: number }) => [adapter.path, adapter.scale])).toEqual([[join(dir, "run", "adapter.gguf"), 1]]);
    expect(shown.format).toBe("llama-2-chat");
    const rendered = await camelid(["generate", "--model", "camel-bot", "--user", "Who are you?", "--dry-run"]);
    expect(rendered.code, rendered.stderr).toBe(0);
    expect(rendered.stdout + rendered.stderr).toContain("[INST] Who are you? [/INST]");
  }, 120_000);
});
