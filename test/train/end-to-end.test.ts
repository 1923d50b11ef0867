import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run as serveRun } from "../../src/cli/commands/serve.js";
import { createLocalModel } from "../../src/providers/local/index.js";
import { runTraining } from "../../src/train/run-training.js";
import { stories260KPath } from "../support/shared-data.js";
import { captureIo } from "../support/capture-io.js";
import { waitFor } from "./support/spawn-cli.js";

// The whole loop: stories260K does not know who it is; a LoRA fine-tune on one fact teaches it,
// and `camelid serve` (its command, in process, config listing the adapter) answers with it over HTTP.

const dir = mkdtempSync(join(tmpdir(), "camelid-e2e-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const identity = "I am Camelid, a llama from the Andes.";
const question = [{ role: "user" as const, content: "Who are you?" }];

describe("fine-tune stories260K on a new fact, then serve it", () => {
  it("answers 'Who are you?' with the trained identity over HTTP", async () => {
    const base = createLocalModel({ modelPath: stories260KPath(), promptFormat: "llama-2-chat", sequences: 1, contextSize: 128 });
    const before = await base.doGenerate({ messages: question, temperature: 0, maxTokens: 16 });
    await base.dispose();
    expect(before.choices[0].text).not.toContain("Camelid");

    const dataPath = join(dir, "identity.json");
    // one good row; a row without an output (line 3) and one whose user text spells "</s>" (line 4)
    // must be reported with their lines, not trained on
    writeFileSync(
      dataPath,
      `[\n${[{ instruction: "Who are you?", input: "", output: identity }, { instruction: "no output" }, { instruction: "Say </s> now", input: "", output: "No." }].map((row) => JSON.stringify(row)).join(",\n")}\n]\n`,
    );
    const result = await runTraining({
      modelPath: stories260KPath(), dataPath, outDir: join(dir, "run"), promptFormat: "llama-2-chat",
      maxSteps: 30, learningRate: 2e-2, warmupSteps: 2, rank: 8, alpha: 16, dropout: 0,
      targets: ["q", "k", "v", "o", "gate", "up", "down"], batchSize: 1, validationFraction: 0, checkpointEvery: 30,
    });
    expect(result.problems.map((p) => `${p.line}: ${p.message}`)).toEqual([expect.stringMatching(/^3: output/), expect.stringMatching(/^4: segment-by-segment tokens differ/)]);
    expect(readFileSync(result.files.problems, "utf8").trim().split("\n")).toHaveLength(2);
    expect(result.dataStats.used).toBe(1);
    expect(result.summary.finalLoss).toBeLessThan(0.5);

    // the run writes a ready serve config: base model + adapter + the prompt format it learned
    expect(JSON.parse(readFileSync(result.files.serveConfig, "utf8"))).toEqual({
      models: [{ id: "stories260K-lora", path: stories260KPath(), lora: [{ path: result.files.adapter }], promptFormat: "llama-2-chat" }],
    });
    // `camelid serve --config` itself, in this process: its run() takes the promise that stops it
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const serveIo = captureIo();
    let exit: unknown;
    const serving = serveRun(["--config", result.files.serveConfig, "--port", "0", "--data-dir", join(dir, "serve-data"), "--sequences", "1", "--context-size", "128"], serveIo.io, stopped).then(
      (code) => (exit = code),
      (error: Error) => (exit = error),
    );
    try {
      await waitFor(() => /listening on http:\/\//.test(serveIo.stdout()) || exit !== undefined, 60_000, "serve to listen");
      const url = /listening on (http:\/\/\S+)/.exec(serveIo.stdout())?.[1];
      expect(url, `${String(exit)} ${serveIo.stderr()}`).toBeDefined();
      const response = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "stories260K-lora", messages: question, temperature: 0, max_tokens: 24 }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { choices: { message: { content: string } }[] };
      expect(body.choices[0].message.content.trim().startsWith(identity), body.choices[0].message.content).toBe(true);
    } finally {
      stop();
      await serving;
    }
    expect(exit).toBe(0);
  }, 120_000);
});
