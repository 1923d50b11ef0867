// A run folder's state from its files alone (src/train/run-status.ts), for every combination the
// training process can leave behind; the real process's markers are checked in interrupt-and-out-dir.test.ts.
import { mkdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { markRunEnded, markRunStarted, trainingRunStatus } from "../../src/train/run-status.js";
import { temporaryDirectories } from "../support/temporary-directories.js";

const newDirectory = temporaryDirectories("camelid-run-status-");
const report = (stopped: boolean) => JSON.stringify({ summary: { stopped, steps: 2 } });

describe("training run status", () => {
  it("running while running.json names a live process here, whatever else the folder holds", () => {
    const folder = newDirectory();
    markRunStarted(folder, new Date("2026-12-07T12:00:00Z"));
    writeFileSync(join(folder, "run.json"), report(true)); // the earlier, interrupted attempt's report
    expect(trainingRunStatus(folder).state).toBe("running");
    expect(trainingRunStatus(folder, () => false).state).toBe("interrupted");
  });

  it("finished, interrupted by a signal, failed, killed", () => {
    const finished = newDirectory();
    writeFileSync(join(finished, "run.json"), report(false));
    expect(trainingRunStatus(finished).state).toBe("finished");

    const stopped = newDirectory();
    writeFileSync(join(stopped, "run.json"), report(true));
    expect(trainingRunStatus(stopped).state).toBe("interrupted");

    const failed = newDirectory();
    markRunStarted(failed, new Date());
    markRunEnded(failed, Object.assign(new Error("the loss is NaN"), { code: "training_diverged" }));
    expect(trainingRunStatus(failed)).toEqual({ state: "failed", reason: "the loss is NaN" });
    markRunStarted(failed, new Date()); // the next attempt forgets the failure
    expect(trainingRunStatus(failed).state).toBe("running");

    const killed = newDirectory();
    writeFileSync(join(killed, "running.json"), JSON.stringify({ pid: process.pid, hostname: `${hostname()}-elsewhere`, started: "x" }));
    expect(trainingRunStatus(killed)).toMatchObject({ state: "interrupted", reason: expect.stringMatching(/ended without finishing/) });

    const bare = newDirectory();
    mkdirSync(join(bare, "sub"));
    writeFileSync(join(bare, "running.json"), "{torn");
    expect(trainingRunStatus(bare).state).toBe("interrupted");
  });
});
