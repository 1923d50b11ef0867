// `camelid train --method dpo` in process: the same run machinery as SFT (out dir, recipe, checkpoint,
// resume, adapter), trl's metrics in metrics.jsonl and the progress line, and every unusable pair
// reported with file:line instead of ending the run.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/train.js";
import { main } from "../../src/cli/main.js";
import { InvalidArgumentError } from "../../src/errors/index.js";
import { dpoMetricNames } from "../../src/train/dpo-loss.js";
import { MetricsLog } from "../../src/train/metrics-log.js";
import { runTraining } from "../../src/train/run-training.js";
import { captureIo } from "../support/capture-io.js";
import { stories260KPath } from "../support/shared-data.js";

const dir = mkdtempSync(join(tmpdir(), "camelid-dpo-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const good = [
  { prompt: "Tell me about the cat.", chosen: "The cat sat on the mat and purred.", rejected: "No." },
  { prompt: "What did Lily find?", chosen: "Lily found a shiny red ball in the park.", rejected: "A thing." },
  { prompt: "Where is the dog?", chosen: "The dog is in the garden, playing with Tom.", rejected: "Gone." },
  { prompt: "Who is Tim?", chosen: "Tim is a little boy who loves to play.", rejected: "Tim." },
];
const lines = [
  ...good.map((row) => JSON.stringify(row)),
  JSON.stringify({ prompt: "Say something.", chosen: "", rejected: "Something." }), // line 5
  JSON.stringify({ prompt: "Say it twice.", chosen: "Same answer.", rejected: "Same answer." }), // line 6
  JSON.stringify({ prompt: "Where is the other side?", chosen: "Here." }), // line 7
  JSON.stringify({ prompt: "Tell a long story.", chosen: "Once upon a time there was a big dog who liked to run and jump in the park every day with his friends. ".repeat(4), rejected: "No." }), // line 8
  "{ not json", // line 9
];
const pairsPath = join(dir, "pairs.jsonl");
writeFileSync(pairsPath, `${lines.join("\n")}\n`);

const common = ["--model", stories260KPath(), "--prompt-format", "alpaca", "--max-length", "160", "--batch-size", "2", "--val-fraction", "0", "--seed", "5"];

describe("camelid train --method dpo (in process)", () => {
  it("trains on the usable pairs, writes the adapter and run files, logs trl's metrics, and reports each unusable pair with file:line", async () => {
    const outDir = join(dir, "run");
    const { io, stdout, stderr } = captureIo();
    const code = await run(["--method", "dpo", "--data", pairsPath, "--out", outDir, "--max-steps", "3", ...common], io);
    expect(code, stderr()).toBe(0);
    for (const file of ["adapter.gguf", "serve.json", "checkpoint.bin", "loss.svg", "run.json"]) expect(existsSync(join(outDir, file)), file).toBe(true);
    expect(readFileSync(join(outDir, "recipe.yaml"), "utf8")).toMatch(/^method: dpo$/m);
    // the loss chart, then the reward accuracy and the chosen/rejected/margin rewards, one line each over the 3 steps
    const chart = readFileSync(join(outDir, "loss.svg"), "utf8");
    expect(chart).toContain("DPO reward accuracy");
    expect(chart.match(/<polyline[^>]*points="[^"]+"/g)?.map((line) => line.split(" ").length - 4)).toEqual([3, 3, 3, 3, 3]);

    const train = new MetricsLog(join(outDir, "metrics.jsonl")).read().filter((record) => record.type === "train");
    expect(train.map((record) => record.step)).toEqual([1, 2, 3]);
    for (const record of train) for (const name of dpoMetricNames) expect(Number.isFinite(record[name]), `${name} at step ${record.step}`).toBe(true);
    // LoRA B starts at zero: the policy is the reference, so the first sigmoid loss is log 2 and the rewards 0
    expect(train[0].loss).toBeCloseTo(Math.log(2), 6);
    expect(train[0]["rewards/chosen"]).toBe(0);
    expect(train[0]["rewards/margins"]).toBe(0);
    expect(train.at(-1)!["rewards/margins"]).not.toBe(0);
    expect(stderr()).toMatch(/DPO \(loss sigmoid, beta 0\.1, label smoothing 0, LoRA dropout off as in trl\) on 4\/9 pairs/);
    expect(stderr()).toMatch(/step 3\/3 \[=+\] loss \d\.\d{4} acc \d\.\d{3} margin -?\d\.\d{3}/);
    expect(stdout()).toMatch(/5 sample\(s\) left out/);

    const problems = readFileSync(join(outDir, "data-problems.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as { file: string; line: number; message: string });
    expect(problems.map((problem) => [problem.file, problem.line])).toEqual([5, 6, 7, 8, 9].map((line) => [pairsPath, line]));
    expect(problems[0].message).toMatch(/the chosen answer is empty/);
    expect(problems[1].message).toMatch(/identical/);
    expect(problems[2].message).toMatch(/rejected: missing field/);
    expect(problems[3].message).toMatch(/longer than the maximum length 160/);
  });

  it("a run with no usable pair exits non-zero and says why, naming the first problem's file:line", async () => {
    const badPath = join(dir, "bad.jsonl");
    writeFileSync(badPath, `${lines.slice(4, 7).join("\n")}\n`);
    const { io, stderr } = captureIo();
    const code = await main(["train", "--method", "dpo", "--data", badPath, "--out", join(dir, "none"), ...common], io);
    expect(code).not.toBe(0);
    expect(stderr()).toMatch(/none of its 3 preference row\(s\) is usable; first: .*bad\.jsonl:1: the chosen answer is empty/);
    expect(existsSync(join(dir, "none"))).toBe(false);

    const longPath = join(dir, "long.jsonl");
    writeFileSync(longPath, `${lines[7]}\n`);
    const long = captureIo();
    expect(await main(["train", "--method", "dpo", "--data", longPath, "--out", join(dir, "none"), ...common], long.io)).not.toBe(0);
    expect(long.stderr()).toMatch(/long\.jsonl:1: \d+ tokens is longer than the maximum length 160/);
  });

  it("refuses SFT-only settings with dpo, and DPO settings without it, before loading anything", async () => {
    const attempt = (args: string[]) => run([...args, "--data", pairsPath, "--out", join(dir, "refused"), ...common], captureIo().io).then(() => undefined, (error: Error) => error);
    expect(await attempt(["--method", "dpo", "--packing"])).toBeInstanceOf(InvalidArgumentError);
    expect((await attempt(["--beta", "0.2"]))?.message).toMatch(/--beta is a DPO setting: it needs --method dpo/);
    expect((await attempt(["--method", "dpo", "--dpo-loss", "ipo", "--label-smoothing", "0.1"]))?.message).toMatch(/sigmoid loss only/);
  });

  it("stops and resumes bit-identically (ipo): the same adapter as an uninterrupted run", async () => {
    const settings = { modelPath: stories260KPath(), dataPath: pairsPath, promptFormat: "alpaca", maxLength: 160, batchSize: 2, validationFraction: 0, seed: 5, maxSteps: 4, method: "dpo" as const, dpoLoss: "ipo" as const, beta: 0.5 };
    const straight = join(dir, "straight"), interrupted = join(dir, "interrupted");
    await runTraining({ ...settings, outDir: straight });
    const stop = new AbortController();
    const first = await runTraining({ ...settings, outDir: interrupted }, { stopSignal: stop.signal, onProgress: (line) => line.startsWith("step 2/") && stop.abort() });
    expect(first.summary.stopped).toBe(true);
    expect(first.summary.steps).toBe(2);
    await runTraining({ ...settings, outDir: interrupted, resume: true });
    expect(readFileSync(join(interrupted, "adapter.gguf")).equals(readFileSync(join(straight, "adapter.gguf")))).toBe(true);
    const losses = (path: string) => new MetricsLog(join(path, "metrics.jsonl")).read().map((record) => [record.step, record.loss, record["rewards/accuracies"]]);
    expect(losses(interrupted)).toEqual(losses(straight));
  });
});
