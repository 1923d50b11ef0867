import { describe, expect, it, vi } from "vitest";
import { ModelLoadError } from "../../../src/errors/index.js";
import { withDeadline } from "../../../src/providers/local/load-deadline.js";
import { acquireModel } from "../../../src/providers/local/model-cache.js";
import { stories260KPath } from "../../support/shared-data.js";

describe("withDeadline", () => {
  it("rejects a load that never settles when the deadline passes, aborting its signal", async () => {
    vi.useFakeTimers();
    try {
      let seen: AbortSignal | undefined;
      const load = withDeadline(
        (signal) => ((seen = signal), new Promise<never>(() => undefined)),
        5_000,
        () => new ModelLoadError("m.gguf", "loading m.gguf did not finish within 5 s"),
      );
      const outcome = load.catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(4_999);
      expect(seen!.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      const error = await outcome;
      expect(error).toBeInstanceOf(ModelLoadError);
      expect(seen!.aborted).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it("passes a result or an error through before the deadline, and frees a result that arrives late", async () => {
    vi.useFakeTimers();
    try {
      await expect(withDeadline(async () => 7, 1_000, () => new Error("late"))).resolves.toBe(7);
      await expect(withDeadline(async () => Promise.reject(new Error("bad file")), 1_000, () => new Error("late"))).rejects.toThrow("bad file");
      let finish!: (value: string) => void;
      const discarded: string[] = [];
      const load = withDeadline(() => new Promise<string>((resolve) => (finish = resolve)), 1_000, () => new Error("timed out"), (late) => discarded.push(late));
      const outcome = load.catch((error: Error) => error.message);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(await outcome).toBe("timed out");
      finish("model");
      await vi.advanceTimersByTimeAsync(0);
      expect(discarded).toEqual(["model"]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("acquireModel's load deadline", () => {
  it("a load past its deadline is a ModelLoadError naming the timeout, is not cached, and the next load works", async () => {
    const deadlines: (() => void)[] = [];
    const clock = { setTimeout: (callback: () => void) => deadlines.push(callback), clearTimeout: () => undefined };
    const pending = acquireModel(stories260KPath(), false, { loadTimeoutMs: 5_000, clock });
    // the deadline passes before the load could finish (its timer is ours to fire)
    deadlines[0]();
    const error = await pending.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as Error).message).toMatch(/did not finish within 5 s \(the load timeout\)/);
    const handle = await acquireModel(stories260KPath(), false);
    expect(handle.model.tokenize("Once").length).toBeGreaterThan(0);
    await handle.release();
  });
});
