import { describe, expect, it } from "vitest";
import { AbortError } from "../../src/errors/index.js";
import { sleep } from "../../src/retry/sleep.js";

describe("the one abortable sleep every retry loop waits with", () => {
  it("ends an hour-long wait with AbortError as soon as the signal fires (a sleep that ignored it would outlast the test)", async () => {
    const controller = new AbortController();
    const waiting = sleep(3_600_000, controller.signal);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    await expect(sleep(3_600_000, controller.signal)).rejects.toBeInstanceOf(AbortError);
  }, 10_000);

  it("resolves after the wait when nobody aborts", async () => {
    await expect(sleep(1, new AbortController().signal)).resolves.toBeUndefined();
  });
});
