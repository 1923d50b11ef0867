import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/train.js";
import { MetricsLog } from "../../src/train/metrics-log.js";
import { runTraining } from "../../src/train/run-training.js";
import { captureIo } from "../support/capture-io.js";
import { stories260KPath } from "../support/shared-data.js";
import { writeChatRows } from "./support/chat-rows.js";
import { spawnCli, waitFor } from "./support/spawn-cli.js";

// `camelid train` killed with SIGKILL mid-run, then `--resume`: the final adapter must be byte for
// byte the adapter of a run that was never interrupted.

const dir = mkdtempSync(join(tmpdir(), "camelid-kill-resume-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dataPath = writeChatRows(join(dir, "data.jsonl"), [
  ["Who are you?", "I am Camelid."],
  ["What do you eat?", "Grass and hay."],
  ["Where do you live?", "In the Andes."],
]);

const settings = { steps: 16, checkpointEvery: 3 };
const flags = (outDir: string) => [
  "--model", stories260KPath(), "--data", dataPath, "--out", outDir, "--prompt-format", "llama-2-chat",
  "--max-steps", String(settings.steps), "--checkpoint-every", String(settings.checkpointEvery), "--eval-every", "5",
  "--batch-size", "2", "--lr", "0.01", "--dropout", "0.1", "--targets", "q,v,down", "--val-fraction", "0.34", "--seed", "7",
];

describe("kill and resume", () => {
  it("a SIGKILLed run resumed with --resume writes the same adapter bytes as an uninterrupted run", async () => {
    const reference = await runTraining({
      modelPath: stories260KPath(), dataPath, outDir: join(dir, "reference"), promptFormat: "llama-2-chat", maxSteps: settings.steps,
      checkpointEvery: settings.checkpointEvery, evalEvery: 5, batchSize: 2, learningRate: 0.01, dropout: 0.1, targets: ["q", "v", "down"], validationFraction: 0.34, seed: 7,
    });
    expect(reference.dataStats.validationRows).toBe(1);

    const outDir = join(dir, "killed");
    const child = spawnCli(["train", ...flags(outDir)]);
    const metrics = new MetricsLog(join(outDir, "metrics.jsonl"));
    const stepsLogged = () => metrics.read().filter((r) => r.type === "train").length;
    await waitFor(() => stepsLogged() >= 7 || child.process.exitCode !== null, 180_000, "the child to pass step 7");
    child.process.kill("SIGKILL");
    const { signal } = await child.exited;
    expect(signal, `the child finished before it could be killed: ${child.output().stderr}`).toBe("SIGKILL");
    expect(existsSync(join(outDir, "adapter.gguf"))).toBe(false);
    expect(existsSync(join(outDir, "checkpoint.bin"))).toBe(true);

    // the resumed run is the same command in this process (one child start less), with activation
    // checkpointing switched on: its gradients are bit-identical, so the adapter must still match
    const resumed = captureIo();
    expect(await run([...flags(outDir), "--resume", "--checkpoint-activations"], resumed.io)).toBe(0);
    expect(resumed.stderr()).toMatch(/resuming from step (6|9|12) of 16/);
    expect(resumed.stdout()).toContain(`adapter: ${join(outDir, "adapter.gguf")}`);
    expect(resumed.stdout()).toMatch(/trained 1?\d step\(s\) of 16 at \d+ tokens\/s; final loss \d\.\d{4}\n/);
    expect(resumed.stdout()).toMatch(/memory: engine buffers \d+\.\d MiB \(base weights \d+\.\d MiB, (packed for the kernels \d+\.\d MiB, )?activations \d+\.\d MiB, gradient scratch \d+\.\d MiB, LoRA \d+\.\d MiB\); peak RSS \d+\.\d MiB/);

    const expected = readFileSync(reference.files.adapter);
    const actual = readFileSync(join(outDir, "adapter.gguf"));
    expect(actual.equals(expected)).toBe(true);
    // every step appears once in the metrics even though some were run twice
    expect(metrics.read().filter((r) => r.type === "train").map((r) => r.step)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(readFileSync(join(outDir, "loss.svg"), "utf8")).toContain("<polyline");
    expect(readFileSync(join(outDir, "loss.png")).subarray(1, 4).toString("latin1")).toBe("PNG");
  }, 120_000);
});
