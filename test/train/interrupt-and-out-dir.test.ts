// `camelid train` as a user runs it: Ctrl-C/SIGTERM stop it cleanly (a real child process and real
// signals, synchronised on its progress line, never on sleeps), it never overwrites a run by
// accident, and a failed run leaves nothing in the way of the next.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/train.js";
import { InvalidArgumentError } from "../../src/errors/index.js";
import { loadCheckpoint } from "../../src/train/checkpoint.js";
import { MetricsLog } from "../../src/train/metrics-log.js";
import { trainingRunStatus } from "../../src/train/run-status.js";
import { captureIo } from "../support/capture-io.js";
import { stories260KPath } from "../support/shared-data.js";
import { writeChatRows } from "./support/chat-rows.js";
import { spawnCli, waitFor, type CliChild } from "./support/spawn-cli.js";

const dir = mkdtempSync(join(tmpdir(), "camelid-train-interrupt-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dataPath = writeChatRows(join(dir, "data.jsonl"), [
  ["Who are you?", "I am Camelid."],
  ["What do you eat?", "Grass and hay."],
]);
const flags = (outDir: string, steps: number, checkpointEvery = steps) => [
  "--model", stories260KPath(), "--data", dataPath, "--out", outDir, "--prompt-format", "llama-2-chat",
  "--max-steps", String(steps), "--checkpoint-every", String(checkpointEvery), "--batch-size", "2", "--val-fraction", "0", "--seed", "3",
];

/** The child's first progress line ("step N/M …") shows that the step loop is running. */
async function untilTraining(child: CliChild): Promise<void> {
  await waitFor(() => /step \d+\/\d+ \[/.test(child.output().stderr) || child.process.exitCode !== null, 120_000, "the first progress line");
  expect(child.process.exitCode, child.output().stderr).toBeNull();
}

describe("train and signals", () => {
  it("the first SIGINT finishes the step, writes checkpoint, adapter, serve.json and charts, says how to resume, exits 130", async () => {
    const outDir = join(dir, "interrupted");
    const child = spawnCli(["train", ...flags(outDir, 100_000)]);
    await untilTraining(child);
    // what the playground's Train tab shows, from the folder's files alone
    expect(trainingRunStatus(outDir).state).toBe("running");
    child.process.kill("SIGINT");
    const { code } = await child.exited;
    const { stderr } = child.output();
    expect(code, stderr).toBe(130);
    expect(trainingRunStatus(outDir)).toMatchObject({ state: "interrupted", reason: expect.stringMatching(/stopped by a signal/) });
    expect(stderr).toMatch(/interrupted by SIGINT at step (\d+) of 100000/);
    expect(stderr).toContain(`resume with: camelid train ${flags(outDir, 100_000).join(" ")} --resume`);
    const stoppedAt = Number(/at step (\d+) of/.exec(stderr)![1]);
    expect(loadCheckpoint(join(outDir, "checkpoint.bin")).step).toBe(stoppedAt);
    expect(new MetricsLog(join(outDir, "metrics.jsonl")).read().filter((r) => r.type === "train").at(-1)!.step).toBe(stoppedAt);
    for (const file of ["adapter.gguf", "serve.json", "loss.svg", "loss.png", "run.json"]) expect(existsSync(join(outDir, file)), file).toBe(true);
    expect(readFileSync(join(outDir, "adapter.gguf")).subarray(0, 4).toString("latin1")).toBe("GGUF");
  }, 180_000);

  it("a second SIGTERM exits at once with 143, leaving the last checkpoint valid", async () => {
    const outDir = join(dir, "terminated");
    const child = spawnCli(["train", ...flags(outDir, 100_000, 1)]);
    await untilTraining(child);
    child.process.kill("SIGTERM");
    child.process.kill("SIGTERM");
    const { code } = await child.exited;
    expect(code, child.output().stderr).toBe(143);
    expect(loadCheckpoint(join(outDir, "checkpoint.bin")).step).toBeGreaterThan(0);
    // however far its files got (run.json, or only running.json of a process that is gone), it is interrupted
    expect(trainingRunStatus(outDir).state).toBe("interrupted");
  }, 180_000);
});

describe("train and its --out folder", () => {
  it("refuses an existing run unless --resume or --overwrite, and --resume of a finished run reports its real loss", async () => {
    const outDir = join(dir, "existing");
    const first = captureIo();
    expect(await run(flags(outDir, 2), first.io)).toBe(0);
    const finalLoss = /final loss (\d+\.\d{4})/.exec(first.stdout())![1];
    expect(trainingRunStatus(outDir).state).toBe("finished");
    expect(existsSync(join(outDir, "running.json"))).toBe(false);

    const again = run(flags(outDir, 2), captureIo().io);
    await expect(again).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(run(flags(outDir, 2), captureIo().io)).rejects.toThrow(/already holds a training run \(checkpoint\.bin, adapter\.gguf, run\.json, metrics\.jsonl\): continue it with --resume, replace it with --overwrite/);

    const resumed = captureIo();
    expect(await run([...flags(outDir, 2), "--resume"], resumed.io)).toBe(0);
    expect(resumed.stdout()).toContain(`trained 0 step(s) of 2`);
    expect(resumed.stdout()).toContain(`final loss ${finalLoss}`);

    const overwritten = captureIo();
    expect(await run([...flags(outDir, 2), "--overwrite"], overwritten.io)).toBe(0);
    expect(overwritten.stdout()).toContain(`final loss ${finalLoss}`);
  }, 120_000);

  it("a failed run leaves no folder behind, so the next run into the same --out starts", async () => {
    const outDir = join(dir, "failed");
    const badData = join(dir, "bad.jsonl");
    writeFileSync(badData, `${JSON.stringify({ messages: [{ role: "user", content: "hi" }] })}\n`);
    await expect(run([...flags(outDir, 2).map((arg) => (arg === dataPath ? badData : arg))], captureIo().io)).rejects.toThrow();
    expect(existsSync(outDir)).toBe(false);
    expect(await run(flags(outDir, 2), captureIo().io)).toBe(0);

    // A folder the user made (empty, or with unrelated files) is not a run and is used as it is.
    const own = join(dir, "own");
    mkdirSync(own);
    writeFileSync(join(own, "notes.txt"), "mine");
    expect(await run(flags(own, 2), captureIo().io)).toBe(0);
    expect(readFileSync(join(own, "notes.txt"), "utf8")).toBe("mine");

    // A failure in a folder that stays (the user's own) is recorded for the Train tab, and the next run clears it.
    const kept = join(dir, "kept");
    mkdirSync(kept);
    await expect(run([...flags(kept, 2).map((arg) => (arg === dataPath ? badData : arg))], captureIo().io)).rejects.toThrow();
    expect(trainingRunStatus(kept)).toMatchObject({ state: "failed", reason: expect.stringMatching(/./) });
    expect(existsSync(join(kept, "running.json"))).toBe(false);
    expect(await run(flags(kept, 2), captureIo().io)).toBe(0);
    expect(trainingRunStatus(kept).state).toBe("finished");
  }, 120_000);
});
