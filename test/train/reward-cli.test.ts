// `camelid train --method reward` and `camelid eval reward` as a user runs them, on stories260K: the
// reward model learns a recognisable preference, every bad pair is reported with file:line, a run with
// no usable pair fails, a resumed run equals an uninterrupted one, and eval reward scores answers/pairs.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run as evalRun } from "../../src/cli/commands/eval.js";
import { run as train } from "../../src/cli/commands/train.js";
import { NoUsableRowsError } from "../../src/datagen/formats/data-file-errors.js";
import { InvalidArgumentError } from "../../src/errors/index.js";
import { MetricsLog } from "../../src/train/metrics-log.js";
import { runRewardTraining } from "../../src/train/reward/run-reward-training.js";
import { captureIo } from "../support/capture-io.js";
import { stories260KPath } from "../support/shared-data.js";

const dir = mkdtempSync(join(tmpdir(), "camelid-reward-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const names = ["Tom", "Lily", "Ben", "Sue", "Max", "Mia"];
const things = ["ball", "cat", "dog", "tree", "cake", "boat"];
/** Chosen answers are happy, rejected ones sad: a preference the reward model can learn in a few steps. */
const goodPairs = names.flatMap((name, i) => things.slice(0, 3).map((thing, j) => ({ prompt: `Tell me about ${name}.`, chosen: `${name} was happy. ${name} liked the ${things[(i + j) % 6]}.`, rejected: `${name} was sad. ${name} lost the ${thing}.`, ...(j === 0 ? { margin: 0.5 } : {}) })));
const badRows = [
  JSON.stringify({ prompt: "Who?", chosen: "same", rejected: "same" }),
  JSON.stringify({ prompt: "Who?", chosen: "", rejected: "b" }),
  JSON.stringify({ chosen: "a", rejected: "b" }),
  JSON.stringify({ prompt: "Who?", chosen: "Tom was happy. ".repeat(40), rejected: "Tom was sad." }),
];
const pairsPath = join(dir, "pairs.jsonl");
writeFileSync(pairsPath, [...goodPairs.map((row) => JSON.stringify(row)), ...badRows].join("\n") + "\n");
const firstBadLine = goodPairs.length + 1;

const flags = (outDir: string, steps: number, extra: string[] = []) => [
  "--method", "reward", "--model", stories260KPath(), "--data", pairsPath, "--out", outDir, "--prompt-format", "llama-2-chat",
  "--max-steps", String(steps), "--batch-size", "4", "--lr", "1e-3", "--val-fraction", "0.2", "--max-length", "96", "--seed", "3", "--eval-every", "0", ...extra,
];

describe("camelid train --method reward", () => {
  it("trains LoRA + head, logs loss/accuracy/margin per step, writes reward.gguf; bad pairs go to data-problems.jsonl with file:line", async () => {
    const outDir = join(dir, "run");
    const { io, stdout, stderr } = captureIo();
    expect(await train(flags(outDir, 24), io)).toBe(0);
    expect(stdout()).toMatch(/trained a reward model 24 step\(s\) of 24/);
    expect(stdout()).toContain(`reward model: ${join(outDir, "reward.gguf")}`);
    expect(stderr()).toMatch(/step 24\/24 \[=+\] loss \d\.\d{4} .* \| acc \d\.\d{3} margin -?\d\.\d{4}/);
    for (const file of ["reward.gguf", "metrics.jsonl", "loss.svg", "loss.png", "checkpoint.bin", "recipe.yaml", "run.json"]) expect(existsSync(join(outDir, file)), file).toBe(true);
    expect(existsSync(join(outDir, "adapter.gguf"))).toBe(false);

    const records = new MetricsLog(join(outDir, "metrics.jsonl")).read();
    const steps = records.filter((record) => record.type === "train");
    expect(steps).toHaveLength(24);
    for (const record of steps) expect(record).toMatchObject({ accuracy: expect.any(Number), margin: expect.any(Number), loss: expect.any(Number) });
    // it learns the preference: the loss falls and the held-out pairs are ranked right
    expect(steps.at(-1)!.loss).toBeLessThan(steps[0].loss);
    const validation = records.filter((record) => record.type === "validation").at(-1)!;
    expect(validation.accuracy).toBeGreaterThanOrEqual(0.8);
    expect(validation.margin).toBeGreaterThan(0);

    const problems = readFileSync(join(outDir, "data-problems.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as { file: string; line: number; message: string });
    expect(problems.map((problem) => [problem.line, problem.message])).toEqual([
      [firstBadLine, "the chosen and rejected answers are identical"],
      [firstBadLine + 1, "the chosen answer is empty"],
      [firstBadLine + 2, "prompt: missing field"],
      [firstBadLine + 3, expect.stringMatching(/tokens is longer than the maximum length 96/)],
    ]);
    expect(problems.every((problem) => problem.file === pairsPath)).toBe(true);

    // camelid eval reward: the trained model ranks the pairs and scores answers; bad rows with file:line
    const evalOut = join(dir, "eval-pairs");
    const scored = captureIo();
    expect(await evalRun(["reward", "--model", stories260KPath(), "--reward", join(outDir, "reward.gguf"), "--data", pairsPath, "--out", evalOut], scored.io)).toBe(0);
    const summary = JSON.parse(readFileSync(join(evalOut, "summary.json"), "utf8"));
    expect(summary).toMatchObject({ kind: "pairs", scored: goodPairs.length + 1, problems: 3, promptFormat: "llama-2-chat" });
    expect(summary.accuracy).toBeGreaterThanOrEqual(0.8);
    expect(scored.stdout()).toMatch(/pair\(s\) scored: pair accuracy \d+\.\d%/);
    expect(scored.stderr()).toContain(`skipped ${pairsPath}:${firstBadLine}: the chosen and rejected answers are identical`);

    const answersPath = join(dir, "answers.jsonl");
    writeFileSync(answersPath, [
      JSON.stringify({ id: "happy", prompt: "Tell me about Amy.", answer: "Amy was happy. Amy liked the sun." }),
      JSON.stringify({ id: "sad", prompt: [{ role: "user", content: "Tell me about Amy." }], answer: "Amy was sad. Amy lost the sun." }),
      JSON.stringify({ prompt: "Tell me about Amy." }),
      "{not json",
    ].join("\n"));
    const answersOut = join(dir, "eval-answers");
    expect(await evalRun(["reward", "--model", stories260KPath(), "--reward", join(outDir, "reward.gguf"), "--data", answersPath, "--out", answersOut], captureIo().io)).toBe(0);
    const rows = readFileSync(join(answersOut, "scores.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
    expect(rows.map((row) => [row.line, row.id])).toEqual([[1, "happy"], [2, "sad"]]);
    expect(rows[0].score).toBeGreaterThan(rows[1].score);
    const answerProblems = readFileSync(join(answersOut, "data-problems.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
    expect(answerProblems.map((problem) => [problem.file, problem.line])).toEqual([[answersPath, 3], [answersPath, 4]]);
    expect(answerProblems[0].message).toMatch(/answer: missing field/);

    const nothing = join(dir, "nothing.jsonl");
    writeFileSync(nothing, `${JSON.stringify({ prompt: "x", answer: "" })}\n`);
    await expect(evalRun(["reward", "--model", stories260KPath(), "--reward", join(outDir, "reward.gguf"), "--data", nothing, "--out", join(dir, "eval-nothing")], captureIo().io)).rejects.toThrow(/nothing.jsonl:1: the answer is empty/);
  }, 240_000);

  it("a run resumed from its checkpoint writes the same reward model as an uninterrupted one", async () => {
    const whole = join(dir, "whole");
    expect(await train(flags(whole, 6), captureIo().io)).toBe(0);
    // the same run stopped (as by Ctrl-C) after its third step, then resumed from the command line
    const stopped = join(dir, "stopped");
    const controller = new AbortController();
    let steps = 0;
    const settings = { modelPath: stories260KPath(), dataPath: pairsPath, outDir: stopped, promptFormat: "llama-2-chat", maxSteps: 6, batchSize: 4, learningRate: 1e-3, validationFraction: 0.2, maxLength: 96, seed: 3, evalEvery: 0 };
    const interrupted = await runRewardTraining(settings, { stopSignal: controller.signal, onProgress: () => void (++steps === 3 && controller.abort()) });
    expect(interrupted.summary).toMatchObject({ stopped: true, steps: 3 });
    const resumed = await runRewardTraining({ ...settings, resume: true });
    expect(resumed.summary).toMatchObject({ startStep: 3, steps: 6, stopped: false });
    expect(readFileSync(join(stopped, "reward.gguf")).equals(readFileSync(join(whole, "reward.gguf")))).toBe(true);
  }, 240_000);

  it("refuses zero usable pairs (non-zero exit) and settings that mean nothing for a reward model", async () => {
    const empty = join(dir, "bad-pairs.jsonl");
    writeFileSync(empty, badRows.slice(0, 3).join("\n") + "\n");
    const outDir = join(dir, "none");
    const error = await train([...flags(outDir, 2).map((arg) => (arg === pairsPath ? empty : arg))], captureIo().io).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(NoUsableRowsError);
    expect((error as Error).message).toContain(`${empty}:1: the chosen and rejected answers are identical`);
    expect(existsSync(outDir)).toBe(false);
    // the out-dir rules are SFT's: a folder holding a run is not overwritten by accident
    const used = join(dir, "used");
    mkdirSync(used);
    writeFileSync(join(used, "reward.gguf"), "earlier run");
    await expect(train(flags(used, 2), captureIo().io)).rejects.toThrow(/already holds a training run \(reward.gguf\): continue it with --resume, replace it with --overwrite/);
    for (const [extra, message] of [
      [["--packing"], /--packing does not apply to --method reward/],
      [["--targets", "q,lm_head"], /never runs the vocabulary head/],
      [["--register", "rm"], /a reward model \(--method reward\) is not one/],
      [["--merged", "F16"], /a reward model is written as <out>\/reward.gguf/],
    ] as const) {
      await expect(train(flags(join(dir, "refused"), 2, [...extra]), captureIo().io)).rejects.toThrow(InvalidArgumentError);
      await expect(train(flags(join(dir, "refused"), 2, [...extra]), captureIo().io)).rejects.toThrow(message);
    }
  }, 120_000);
});
