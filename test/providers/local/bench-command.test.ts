import { describe, expect, it } from "vitest";
import { run } from "../../../src/cli/commands/bench.js";
import type { CliIo } from "../../../src/cli/io.js";
import { InvalidArgumentError } from "../../../src/errors/index.js";
import { getLlamaRuntime } from "../../../src/providers/local/llama-runtime.js";
import { defaultThreadsForBuild } from "../../../src/providers/local/options.js";
import { stories260KPath } from "../../support/shared-data.js";

function captureIo(): CliIo & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (text: string) => void (io.out += text),
    stderr: (text: string) => void (io.err += text),
    stdin: process.stdin,
    isTTY: false,
    env: {},
    cwd: process.cwd(),
  };
  return io;
}

describe("camelid bench", () => {
  it("measures prefill and decode over several runs, against the raw API too, as JSON", async () => {
    const io = captureIo();
    const code = await run([stories260KPath(), "--runs", "3", "--prompt-tokens", "16", "--gen-tokens", "12", "--compare-raw", "--json"], io);
    expect(code).toBe(0);
    const result = JSON.parse(io.out);
    const { buildType } = await getLlamaRuntime({ gpu: false });
    expect(result).toMatchObject({ runs: 3, genTokens: 12, settings: { threads: defaultThreadsForBuild(buildType), flashAttention: false, binary: buildType } });
    expect(result.promptTokens).toBeGreaterThanOrEqual(15);
    expect(result.provider.samples).toHaveLength(3);
    for (const summary of [result.provider, result.raw]) {
      for (const metric of [summary.prefill, summary.decode]) {
        expect(metric.min).toBeGreaterThan(0);
        expect(metric.min).toBeLessThanOrEqual(metric.median);
        expect(metric.median).toBeLessThanOrEqual(metric.max);
      }
    }
    expect(result.ratio.decode).toBeCloseTo(result.provider.decode.median / result.raw.decode.median, 9);
    const perRun = result.provider.samples.map((s: { decodeTokensPerSecond: number }, i: number) => s.decodeTokensPerSecond / result.raw.samples[i].decodeTokensPerSecond);
    expect(result.ratio.pairedDecode).toBeCloseTo([...perRun].sort((a, b) => a - b)[1], 9);
  });

  it("prints a min/median/max table", async () => {
    const io = captureIo();
    expect(await run([stories260KPath(), "--runs", "2", "--prompt-tokens", "8", "--gen-tokens", "8"], io)).toBe(0);
    expect(io.out).toMatch(/prefill \(camelid\)\s+[\d.]+\s+[\d.]+\s+[\d.]+/);
    expect(io.out).toMatch(/decode  \(camelid\)\s+[\d.]+\s+[\d.]+\s+[\d.]+/);
    expect(io.out).toMatch(/node-llama-cpp binary (prebuilt|localBuild), threads \d+/);
  });

  it("names the bad flag or missing model", async () => {
    const io = captureIo();
    await expect(run([], io)).rejects.toThrow(/needs a model/);
    await expect(run([stories260KPath(), "--runs", "0"], io)).rejects.toThrow(/--runs must be at least 1/);
    await expect(run([stories260KPath(), "--bogus"], io)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(run(["/nonexistent/model.gguf", "--runs", "1"], io)).rejects.toThrow(/not found/);
    expect(await run(["--help"], io)).toBe(0);
  });
});
