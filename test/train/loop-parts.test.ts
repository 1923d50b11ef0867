import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadCheckpoint, saveCheckpoint } from "../../src/train/checkpoint.js";
import { CheckpointError } from "../../src/train/errors.js";
import { lossChartSvg, niceTicks } from "../../src/train/loss-chart.js";
import { MetricsLog } from "../../src/train/metrics-log.js";
import { progressLine } from "../../src/train/progress.js";
import { formatDuration } from "../../src/train/index.js";
import { learningRateAt } from "../../src/train/schedule.js";

const dir = mkdtempSync(join(tmpdir(), "camelid-train-parts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("learning-rate schedule", () => {
  const schedule = { peak: 1e-3, warmupSteps: 4, totalSteps: 14, minRatio: 0.1 };
  it("warms up linearly, peaks after warmup, decays by cosine to the floor", () => {
    expect(learningRateAt(0, schedule)).toBeCloseTo(2.5e-4, 12);
    expect(learningRateAt(3, schedule)).toBeCloseTo(1e-3, 12);
    expect(learningRateAt(4, schedule)).toBeCloseTo(1e-3, 12);
    // halfway through the decay: floor + (peak - floor) / 2
    expect(learningRateAt(9, schedule)).toBeCloseTo(1e-4 + 0.5 * 9e-4, 12);
    expect(learningRateAt(14, schedule)).toBeCloseTo(1e-4, 12);
    expect(learningRateAt(100, schedule)).toBeCloseTo(1e-4, 12);
    for (let step = 5; step < 14; step++) expect(learningRateAt(step, schedule)).toBeLessThan(learningRateAt(step - 1, schedule));
  });
  it("no warmup starts at the peak; a bad schedule is an error", () => {
    expect(learningRateAt(0, { ...schedule, warmupSteps: 0 })).toBe(1e-3);
    expect(() => learningRateAt(0, { ...schedule, peak: 0 })).toThrow(/invalid learning-rate schedule/);
  });
});

describe("checkpoints", () => {
  const state = () => ({
    step: 7,
    adamStep: 7,
    randomState: 123456789,
    fingerprint: "abc",
    tokensSeen: 4096,
    params: Float32Array.from([1, -2, 3.5]),
    m: Float32Array.from([0.1, 0.2, 0.3]),
    v: Float32Array.from([1e-8, 2e-8, 3e-8]),
  });

  it("round-trips every value bit for bit and leaves no temporary file", () => {
    const path = join(dir, "a.ckpt");
    saveCheckpoint(path, state());
    const loaded = loadCheckpoint(path);
    expect(loaded).toEqual(state());
    expect(readFileSync(path).subarray(0, 8).toString()).toBe("CMLCKPT1");
    expect(readdirSync(dir).filter((name) => name.includes(".tmp-"))).toEqual([]);
  });

  it("refuses missing, foreign and truncated files with a CheckpointError naming the file", () => {
    expect(() => loadCheckpoint(join(dir, "none.ckpt"))).toThrow(/no checkpoint at .*none.ckpt/);
    const foreign = join(dir, "foreign.ckpt");
    writeFileSync(foreign, "hello world, not a checkpoint");
    expect(() => loadCheckpoint(foreign)).toThrow(CheckpointError);
    const path = join(dir, "b.ckpt");
    saveCheckpoint(path, state());
    const bytes = readFileSync(path);
    const truncated = join(dir, "truncated.ckpt");
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 4));
    expect(() => loadCheckpoint(truncated)).toThrow(/expected \d+ bytes for 3 parameters/);
  });
});

describe("metrics, chart and progress", () => {
  it("keepThrough drops the killed run's later steps and a torn last line", () => {
    const log = new MetricsLog(join(dir, "metrics.jsonl"));
    for (let step = 1; step <= 5; step++) log.append({ type: "train", step, loss: 3 - step * 0.1, learningRate: 1e-3, gradientNorm: 1, tokens: step * 10, tokensPerSecond: 100, elapsedSeconds: step });
    log.append({ type: "validation", step: 4, loss: 2.5, perplexity: Math.exp(2.5), tokens: 10 });
    writeFileSync(log.path, `${readFileSync(log.path, "utf8")}{"type":"train","step":6,"lo`);
    expect(log.read().map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 4]);
    log.keepThrough(3);
    expect(log.read().map((r) => r.step)).toEqual([1, 2, 3]);
  });

  it("the loss chart is an SVG with the training line, validation dots and round ticks", () => {
    const records = [1, 2, 3, 4].map((step) => ({ type: "train" as const, step, loss: 4 / step, learningRate: 0, gradientNorm: 0, tokens: 0, tokensPerSecond: 0, elapsedSeconds: 0 }));
    const svg = lossChartSvg([...records, { type: "validation", step: 4, loss: 1.2, perplexity: 3.3, tokens: 5 }, { type: "train", step: 5, loss: Number.NaN, learningRate: 0, gradientNorm: 0, tokens: 0, tokensPerSecond: 0, elapsedSeconds: 0 }]);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<polyline[^>]*points="([^"]+)"/)?.[1].split(" ")).toHaveLength(4);
    expect(svg).toContain("validation loss 1.2000 at step 4");
    expect(svg).not.toContain("DPO"); // the preference panels only for a log with trl's rewards
    expect(lossChartSvg([])).toContain("no finite loss");
    expect(niceTicks(0.5, 4)).toEqual([1, 2, 3, 4]);
    expect(niceTicks(0, 0.9)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
  });

  it("progress line shows step, bar, loss, tokens/s and an ETA from this run's pace", () => {
    const line = progressLine({ step: 25, totalSteps: 100, loss: 1.23456, tokensPerSecond: 4321.4, elapsedSeconds: 10, stepsThisRun: 20 });
    expect(line).toBe("step 25/100 [=====>                  ] loss 1.2346 | 4321 tok/s | ETA 38s");
    // camelid/train exports the one duration formatter (milliseconds), the one eval and datagen use.
    expect(formatDuration(3_725_000)).toBe("1h02m");
    expect(formatDuration(Number.NaN)).toBe("?");
  });
});
