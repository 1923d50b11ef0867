import { describe, expect, it } from "vitest";
import { estimateRemainingMs, formatDuration, ProgressReporter } from "../../src/progress/progress.js";

describe("shared progress", () => {
  it("formats durations without a 60 in the seconds or minutes place", () => {
    expect(formatDuration(45_000)).toBe("45s");
    expect(formatDuration(119_600)).toBe("2m00s");
    expect(formatDuration(7_500_000)).toBe("2h05m");
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe("?");
    expect(formatDuration(-1)).toBe("?");
  });

  it("estimates the time left from this session's items only", () => {
    expect(estimateRemainingMs(10_000, 0, 5)).toBeUndefined();
    expect(estimateRemainingMs(10_000, 2, 6)).toBe(30_000);
  });

  it("throttles non-terminal lines, counts resumed work out of the session, and forces the last line", () => {
    let clock = 1_000;
    const written: string[] = [];
    const reporter = new ProgressReporter<{ done: number }>((text) => written.push(text), (snapshot, elapsed, session) => `${snapshot.done} ${elapsed}s ${session}`, { isTTY: false, intervalMs: 100, now: () => clock });
    reporter.update({ done: 10 });
    clock += 50;
    reporter.update({ done: 11 });
    clock += 60;
    reporter.update({ done: 12 });
    reporter.finish({ done: 13 });
    expect(written).toEqual(["10 0s 0\n", "12 0.11s 2\n", "13 0.11s 3\n"]);
  });

  it("redraws one line in place on a terminal", () => {
    const written: string[] = [];
    const reporter = new ProgressReporter<{ done: number }>((text) => written.push(text), (snapshot) => `done ${snapshot.done}`, { isTTY: true, now: () => 0 });
    reporter.finish({ done: 1 });
    expect(written).toEqual(["\r\x1b[2Kdone 1", "\n"]);
  });
});
