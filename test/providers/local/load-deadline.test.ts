import { describe, expect, it, vi } from "vitest";
import { ModelLoadError } from "../../../src/errors/index.js";
import { withDeadline } from "../../../src/providers/local/load-deadline.js";

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
