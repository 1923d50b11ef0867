import { afterEach, describe, expect, it, vi } from "vitest";
import { EngineBinaryError, ModelLoadError } from "../../../src/errors/index.js";
import type { EngineExit } from "../../../src/providers/llama-server/engine-process.js";
import { EngineSupervisor, type SupervisedProcess } from "../../../src/providers/llama-server/engine-supervisor.js";

/** A process that lives until stopped or "crashed" by the test. */
class FakeProcess implements SupervisedProcess {
  readonly baseURL: string;
  hasExited = false;
  stops = 0;
  answersHealth = true;
  readonly exited: Promise<EngineExit>;
  private exit!: (exit: EngineExit) => void;

  constructor(index: number) {
    this.baseURL = `http://127.0.0.1:${9000 + index}`;
    this.exited = new Promise((resolve) => (this.exit = resolve));
  }

  crash(signal: NodeJS.Signals = "SIGKILL"): void {
    this.hasExited = true;
    this.exit({ code: null, signal });
  }

  async healthy() {
    return !this.hasExited && this.answersHealth;
  }

  async serverPid() {
    return 1;
  }

  async stop(): Promise<EngineExit> {
    this.stops++;
    if (!this.hasExited) {
      this.hasExited = true;
      this.exit({ code: 0, signal: null });
    }
    return this.exited;
  }
}

function supervisorWith(options: { keepAliveMs: number; failStarts?: unknown[] }) {
  const processes: FakeProcess[] = [];
  const sleeps: number[] = [];
  let now = 0;
  const failures = [...(options.failStarts ?? [])];
  const supervisor = new EngineSupervisor({
    start: async () => {
      const failure = failures.shift();
      if (failure) throw failure;
      const process = new FakeProcess(processes.length);
      processes.push(process);
      return process;
    },
    keepAliveMs: options.keepAliveMs,
    backoff: { initialMs: 500, maxMs: 4_000 },
    healthCheck: { intervalMs: 10_000, failuresBeforeRestart: 3 },
    stableMs: 60_000,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    now: () => now,
  });
  return { supervisor, processes, sleeps, advanceClock: (ms: number) => (now += ms) };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

afterEach(() => vi.useRealTimers());

describe("EngineSupervisor", () => {
  it("starts nothing until the first request, and concurrent first requests share one start", async () => {
    const { supervisor, processes } = supervisorWith({ keepAliveMs: -1 });
    expect(supervisor.state()).toBe("stopped");
    expect(processes).toHaveLength(0);
    const [a, b] = await Promise.all([supervisor.acquire(), supervisor.acquire()]);
    expect(processes).toHaveLength(1);
    expect(a.process).toBe(b.process);
    expect(supervisor.stats()).toMatchObject({ state: "running", starts: 1, activeRequests: 2 });
    a.release();
    a.release(); // a second release of the same lease changes nothing
    expect(supervisor.stats().activeRequests).toBe(1);
    b.release();
  });

  it("ends the process after keepAliveMs without requests (not before, and never while one runs), then starts again on demand", async () => {
    vi.useFakeTimers();
    const { supervisor, processes } = supervisorWith({ keepAliveMs: 300_000 });
    const lease = await supervisor.acquire();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(processes[0].stops).toBe(0); // busy: no idle clock
    lease.release();
    await vi.advanceTimersByTimeAsync(299_999);
    expect(processes[0].stops).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(processes[0].stops).toBe(1);
    expect(supervisor.state()).toBe("stopped");
    // A request during the idle countdown resets it.
    const again = await supervisor.acquire();
    expect(processes).toHaveLength(2);
    again.release();
    await vi.advanceTimersByTimeAsync(200_000);
    (await supervisor.acquire()).release();
    await vi.advanceTimersByTimeAsync(200_000);
    expect(processes[1].stops).toBe(0);
    await vi.advanceTimersByTimeAsync(100_000);
    expect(processes[1].stops).toBe(1);
    expect(supervisor.stats().crashes).toBe(0); // an idle stop is no crash
  });

  it("keep-alive -1 keeps the process; 0 ends it as soon as the last request ends", async () => {
    vi.useFakeTimers();
    const forever = supervisorWith({ keepAliveMs: -1 });
    (await forever.supervisor.acquire()).release();
    await vi.advanceTimersByTimeAsync(10 * 86_400_000);
    expect(forever.processes[0].stops).toBe(0);
    const never = supervisorWith({ keepAliveMs: 0 });
    const first = await never.supervisor.acquire();
    const second = await never.supervisor.acquire();
    first.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(never.processes[0].stops).toBe(0);
    second.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(never.processes[0].stops).toBe(1);
  });

  it("restarts a crashed process on the next request, backing off 500, 1000, 2000 ms between quick crashes, capped, and starting over after a stable run", async () => {
    const { supervisor, processes, sleeps, advanceClock } = supervisorWith({ keepAliveMs: -1 });
    (await supervisor.acquire()).release();
    for (let crash = 0; crash < 5; crash++) {
      processes[processes.length - 1].crash();
      await settle();
      expect(supervisor.state()).toBe("stopped");
      (await supervisor.acquire()).release();
    }
    expect(sleeps).toEqual([500, 1_000, 2_000, 4_000, 4_000]);
    expect(supervisor.stats()).toMatchObject({ starts: 6, crashes: 5 });
    // Time spent since the crash counts toward the wait.
    processes[processes.length - 1].crash();
    await settle();
    advanceClock(3_000);
    (await supervisor.acquire()).release();
    expect(sleeps.at(-1)).toBe(1_000);
    // A process that ran for a minute before crashing starts the backoff over.
    advanceClock(60_000);
    processes[processes.length - 1].crash();
    await settle();
    (await supervisor.acquire()).release();
    expect(sleeps.at(-1)).toBe(500);
  });

  it("a failed start fails that request, and the next start waits out the backoff; a missing executable is not backed off", async () => {
    const load = new ModelLoadError("m.gguf", "llama-server exited before it was ready");
    const { supervisor, sleeps } = supervisorWith({ keepAliveMs: -1, failStarts: [load] });
    await expect(supervisor.acquire()).rejects.toBe(load);
    expect(supervisor.stats().activeRequests).toBe(0);
    (await supervisor.acquire()).release();
    expect(sleeps).toEqual([500]);
    const binary = new EngineBinaryError("/nope", "no llama-server");
    const second = supervisorWith({ keepAliveMs: -1, failStarts: [binary] });
    await expect(second.supervisor.acquire()).rejects.toBe(binary);
    (await second.supervisor.acquire()).release();
    expect(second.sleeps).toEqual([]);
  });

  it("close ends the process and refuses new requests", async () => {
    const { supervisor, processes } = supervisorWith({ keepAliveMs: -1 });
    (await supervisor.acquire()).release();
    await supervisor.close();
    expect(processes[0].stops).toBe(1);
    expect(supervisor.state()).toBe("closed");
    await expect(supervisor.acquire()).rejects.toThrow(/shut down/);
    expect(supervisor.stats().crashes).toBe(0);
  });

  it("ends a process that stops answering /health three times in a row (a hang counts as a crash), and not one that answers", async () => {
    vi.useFakeTimers();
    const { supervisor, processes } = supervisorWith({ keepAliveMs: -1 });
    (await supervisor.acquire()).release();
    await vi.advanceTimersByTimeAsync(100_000);
    expect(processes[0].stops).toBe(0);
    processes[0].answersHealth = false;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(processes[0].stops).toBe(0);
    processes[0].answersHealth = true; // one good answer starts the count over
    await vi.advanceTimersByTimeAsync(10_000);
    processes[0].answersHealth = false;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(processes[0].stops).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(processes[0].stops).toBe(1);
    expect(supervisor.stats()).toMatchObject({ state: "stopped", crashes: 1 });
    (await supervisor.acquire()).release();
    expect(processes).toHaveLength(2);
  });

  it("reports the process state for /v1/models: stopped, starting, ready, crashed-backing-off until a start succeeds, stopped again when idle", async () => {
    vi.useFakeTimers();
    const { supervisor, processes } = supervisorWith({ keepAliveMs: 0, failStarts: [new ModelLoadError("m.gguf", "exited before it was ready")] });
    expect(supervisor.processState()).toBe("stopped");
    const failing = supervisor.acquire();
    expect(supervisor.processState()).toBe("starting");
    await expect(failing).rejects.toThrow(/exited before it was ready/);
    expect(supervisor.processState()).toBe("crashed-backing-off");
    const lease = await supervisor.acquire();
    expect(supervisor.processState()).toBe("ready");
    expect(await supervisor.healthy()).toBe(true);
    processes[0].crash();
    await vi.advanceTimersByTimeAsync(0);
    expect(supervisor.processState()).toBe("crashed-backing-off");
    expect(await supervisor.healthy()).toBe(false);
    lease.release();
    (await supervisor.acquire()).release();
    await vi.advanceTimersByTimeAsync(0);
    // keep-alive 0: ended on purpose once the request was done, which is no crash.
    expect(processes[1].stops).toBe(1);
    expect(supervisor.processState()).toBe("stopped");
    const binary = supervisorWith({ keepAliveMs: -1, failStarts: [new EngineBinaryError("/nope", "no llama-server")] });
    await expect(binary.supervisor.acquire()).rejects.toThrow(EngineBinaryError);
    expect(binary.supervisor.processState()).toBe("stopped");
  });
});
