import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { runOrdered } from "../../src/datagen/run/ordered-runner.js";
import { formatProgress } from "../../src/datagen/run/generation-progress.js";
import { RunStore } from "../../src/datagen/run/run-store.js";
import { withRetries } from "../../src/datagen/teacher/retry.js";
import { emptyUsage, UsageMeter } from "../../src/datagen/teacher/usage-meter.js";
import { AuthenticationError, RateLimitError, UpstreamError } from "../../src/errors/index.js";

const directories: string[] = [];
afterAll(() => directories.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("retries", () => {
  it("backs off exponentially, waits at least Retry-After on rate limits, and gives up on non-transient errors at once", async () => {
    const waits: number[] = [];
    let attempts = 0;
    const result = await withRetries(
      async () => {
        attempts++;
        if (attempts === 1) throw new RateLimitError("slow down", 7);
        if (attempts === 2) throw new UpstreamError("bad gateway", 502);
        return "ok";
      },
      { maxRetries: 5, baseDelayMs: 100, maxDelayMs: 10_000 },
      { sleep: async (ms) => void waits.push(ms), random: () => 1 },
    );
    expect(result).toBe("ok");
    expect(waits).toEqual([7000, 200]);
    let authAttempts = 0;
    await expect(withRetries(async () => { authAttempts++; throw new AuthenticationError("bad key"); }, { maxRetries: 5, baseDelayMs: 1, maxDelayMs: 1 }, { sleep: async () => {} })).rejects.toThrow("bad key");
    expect(authAttempts).toBe(1);
    let badRequests = 0;
    await expect(withRetries(async () => { badRequests++; throw new UpstreamError("bad request", 400); }, { maxRetries: 5, baseDelayMs: 1, maxDelayMs: 1 }, { sleep: async () => {} })).rejects.toThrow();
    expect(badRequests).toBe(1);
    let flaky = 0;
    await expect(withRetries(async () => { flaky++; throw new UpstreamError("down", 503); }, { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 1 }, { sleep: async () => {} })).rejects.toThrow("down");
    expect(flaky).toBe(3);
  });

  it("prices usage per model and says so when a model has no price", () => {
    const meter = new UsageMeter({ a: { promptPerMillion: 1, completionPerMillion: 2 } });
    meter.record("a", { promptTokens: 1_000_000, completionTokens: 500_000, totalTokens: 1_500_000 });
    expect(meter.totals.estimatedCostUsd).toBe(2);
    meter.record("b", { promptTokens: 1, completionTokens: 1, totalTokens: 2 });
    expect(meter.totals.estimatedCostUsd).toBeUndefined();
  });
});

describe("progress line", () => {
  it("shows the bar, ETA from this session's rate, counts per reason, tokens and cost", () => {
    const line = formatProgress({ label: "self-instruct", done: 50, total: 100, counts: { kept: 50, "too-similar": 20, malformed: 0 }, usage: { ...emptyUsage(), requests: 12, promptTokens: 12_000, completionTokens: 3_500, estimatedCostUsd: 0.25, retries: 2, rateLimited: 1 } }, 100, 25);
    expect(line).toBe("self-instruct [##########..........] 50/100 50% ETA 3m20s | kept 50, too-similar 20 | 12 req, 2 retries (1 rate-limited), 12.0K+3.5K tok, $0.2500");
  });
});

describe("run store and ordered runner", () => {
  it("truncates rows written after the last progress record and refuses a changed file", () => {
    const directory = mkdtempSync(join(tmpdir(), "camelid-store-"));
    directories.push(directory);
    const schema = z.object({ n: z.number() });
    const store = RunStore.open(directory, ["rows.jsonl"], { a: 1 }, { n: 0 }, schema);
    store.commit({ "rows.jsonl": [{ i: 1 }, { i: 2 }] }, { n: 2 });
    // A kill after appending but before the progress record: a torn line beyond the recorded length.
    writeFileSync(join(directory, "rows.jsonl"), `${readFileSync(join(directory, "rows.jsonl"), "utf8")}{"i": 3}\n{"i":`);
    const resumed = RunStore.open(directory, ["rows.jsonl"], { a: 1 }, { n: 0 }, schema);
    expect(resumed.state).toEqual({ n: 2 });
    expect(resumed.readRows("rows.jsonl")).toEqual([{ i: 1 }, { i: 2 }]);
    writeFileSync(join(directory, "rows.jsonl"), "");
    expect(() => RunStore.open(directory, ["rows.jsonl"], { a: 1 }, { n: 0 }, schema)).toThrow(/shorter .* than its progress record/);
  });

  it("commits in index order whatever the completion order, and stops launching once told to", async () => {
    const committed: number[] = [];
    const delays = [30, 5, 20, 1, 10, 2, 8, 3];
    await runOrdered({
      startIndex: 0,
      concurrency: 4,
      hasItem: (i) => i < delays.length,
      shouldContinue: () => committed.length < 6,
      execute: (i) => new Promise<number>((resolve) => setTimeout(() => resolve(i), delays[i])),
      commit: (i, value) => void committed.push(value === i ? i : -1),
    });
    expect(committed).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
