// Keeps one model's llama-server running while it is wanted: started on the first request, shared by
// concurrent requests, ended after `keepAliveMs` without any (Ollama's keep_alive), and started again
// after a crash, with an exponential backoff between failed starts so a model that cannot run does not
// spin the CPU restarting.
import { EngineBinaryError, ModelLoadError } from "../../errors/index.js";
import { sleep as defaultSleep, type Sleep } from "../../retry/sleep.js";
import type { EngineProcessState } from "../../spec/language-model.js";
import type { EngineExit } from "./engine-process.js";

export type { EngineProcessState };

/** What the supervisor needs of a running engine (EngineProcess; a fake in unit tests). */
export interface SupervisedProcess {
  readonly baseURL: string;
  readonly exited: Promise<EngineExit>;
  readonly hasExited: boolean;
  healthy(): Promise<boolean>;
  serverPid(): Promise<number | undefined>;
  stop(): Promise<EngineExit>;
}

export interface EngineLease {
  readonly process: SupervisedProcess;
  /** Every lease is released exactly once (extra calls do nothing); the idle clock starts when the last one is. */
  release(): void;
}

export type EngineState = "stopped" | "starting" | "running" | "stopping" | "closed";


export interface EngineSupervisorOptions {
  start: () => Promise<SupervisedProcess>;
  /** Idle time before the process is ended; negative: never; 0: as soon as the last request ends. */
  keepAliveMs: number;
  /** Backoff before the n-th consecutive restart after a crash or failed start: initialMs · 2^(n-1), at most maxMs. */
  backoff?: { initialMs: number; maxMs: number };
  /** A process that ran at least this long before crashing starts the backoff over. */
  stableMs?: number;
  /**
   * While a process runs, its /health is probed every intervalMs; after failuresBeforeRestart failures in a
   * row (a hung server: alive but not answering) it is ended like a crashed one and started again on demand.
   */
  healthCheck?: { intervalMs: number; failuresBeforeRestart: number };
  note?: (line: string) => void;
  sleep?: Sleep;
  now?: () => number;
}

export const DEFAULT_RESTART_BACKOFF = { initialMs: 500, maxMs: 30_000 };
export const DEFAULT_HEALTH_CHECK = { intervalMs: 10_000, failuresBeforeRestart: 3 };

export class EngineSupervisor {
  private current: SupervisedProcess | undefined;
  private starting: Promise<SupervisedProcess> | undefined;
  private stopping: Promise<unknown> | undefined;
  private active = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private consecutiveFailures = 0;
  private lastFailureAt = 0;
  private closed = false;
  /** Processes ended on purpose (idle, close): their exit is not a crash. */
  private readonly endedOnPurpose = new WeakSet<SupervisedProcess>();
  private startCount = 0;
  private crashCount = 0;
  /** The last process crashed (or the last start failed) and no start has succeeded since. */
  private crashedSinceStart = false;

  constructor(private readonly options: EngineSupervisorOptions) {}

  private get now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Counters for status pages and tests. */
  stats(): { state: EngineState; starts: number; crashes: number; activeRequests: number } {
    return { state: this.state(), starts: this.startCount, crashes: this.crashCount, activeRequests: this.active };
  }

  state(): EngineState {
    if (this.closed) return "closed";
    if (this.stopping) return "stopping";
    if (this.starting) return "starting";
    return this.current && !this.current.hasExited ? "running" : "stopped";
  }

  /** The process's state for status pages; a crash shows until a start succeeds. */
  processState(): EngineProcessState {
    const state = this.state();
    if (state === "starting") return "starting";
    if (state === "running") return "ready";
    return this.crashedSinceStart ? "crashed-backing-off" : "stopped";
  }

  /** Whether the running process answers /health (false when none runs); takes no lease, so it never delays the idle stop. */
  async healthy(): Promise<boolean> {
    const process = this.current;
    return process !== undefined && !process.hasExited && (await process.healthy());
  }

  /** A running process for one request, started (or restarted) if need be; release the lease when done with it. */
  async acquire(): Promise<EngineLease> {
    if (this.closed) throw new ModelLoadError("llama-server", "the llama-server engine was shut down");
    this.active++;
    this.clearIdleTimer();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.active--;
      if (this.active === 0) this.scheduleIdleStop();
    };
    try {
      return { process: await this.running(), release };
    } catch (error) {
      release();
      throw error;
    }
  }

  /**
   * A request found `process` unreachable although no exit was seen yet (killed a moment ago): end it
   * for sure, so the next acquire starts a fresh one. Its exit counts as the crash it is.
   */
  async discard(process: SupervisedProcess): Promise<void> {
    if (this.current !== process) return;
    await process.stop();
    await Promise.resolve(); // let the exit handler run
  }

  private async running(): Promise<SupervisedProcess> {
    while (this.stopping) await this.stopping;
    if (this.current && !this.current.hasExited) return this.current;
    this.starting ??= this.startProcess().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private backoffMs(): number {
    if (this.consecutiveFailures === 0) return 0;
    const { initialMs, maxMs } = this.options.backoff ?? DEFAULT_RESTART_BACKOFF;
    const delay = Math.min(initialMs * 2 ** (this.consecutiveFailures - 1), maxMs);
    return Math.max(0, this.lastFailureAt + delay - this.now);
  }

  private recordFailure(): void {
    this.consecutiveFailures++;
    this.lastFailureAt = this.now;
  }

  private async startProcess(): Promise<SupervisedProcess> {
    const wait = this.backoffMs();
    if (wait > 0) {
      this.options.note?.(`waiting ${wait} ms before restart ${this.consecutiveFailures} (backoff after a crash or failed start)`);
      await (this.options.sleep ?? defaultSleep)(wait);
    }
    let process: SupervisedProcess;
    try {
      process = await this.options.start();
    } catch (error) {
      // A missing executable is not a crash: nothing to back off from, the user must act.
      if (!(error instanceof EngineBinaryError)) {
        this.recordFailure();
        this.crashedSinceStart = true;
      }
      throw error;
    }
    this.startCount++;
    this.crashedSinceStart = false;
    if (this.closed) {
      this.endedOnPurpose.add(process);
      await process.stop();
      throw new ModelLoadError("llama-server", "the llama-server engine was shut down while it started");
    }
    this.current = process;
    const startedAt = this.now;
    void process.exited.then((exit) => this.onExit(process, exit, startedAt));
    this.watchHealth(process);
    return process;
  }

  /** Probes `process`'s /health until it exits; a run of failures ends it (its exit then counts as a crash). */
  private watchHealth(process: SupervisedProcess): void {
    const { intervalMs, failuresBeforeRestart } = this.options.healthCheck ?? DEFAULT_HEALTH_CHECK;
    let failures = 0;
    const probe = async () => {
      if (this.current !== process || process.hasExited) return;
      failures = (await process.healthy()) ? 0 : failures + 1;
      if (this.current !== process || process.hasExited) return;
      if (failures >= failuresBeforeRestart) {
        this.options.note?.(`llama-server did not answer /health ${failures} times in a row; ending it`);
        await process.stop();
        return;
      }
      schedule();
    };
    const schedule = () => {
      const timer = setTimeout(() => void probe(), intervalMs);
      timer.unref();
    };
    schedule();
  }

  private onExit(process: SupervisedProcess, exit: EngineExit, startedAt: number): void {
    if (this.current === process) this.current = undefined;
    if (this.endedOnPurpose.has(process)) return;
    this.crashCount++;
    this.crashedSinceStart = true;
    if (this.now - startedAt >= (this.options.stableMs ?? 60_000)) this.consecutiveFailures = 0;
    this.recordFailure();
    this.options.note?.(
      `llama-server crashed (${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}); it starts again on the next request, after ${this.backoffMs()} ms`,
    );
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private scheduleIdleStop(): void {
    const { keepAliveMs } = this.options;
    if (keepAliveMs < 0 || this.closed) return;
    this.clearIdleTimer();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.active === 0) void this.stopCurrent(`idle for ${keepAliveMs} ms (keep-alive)`);
    }, keepAliveMs);
    // An idle engine must not keep a finished CLI process alive.
    this.idleTimer.unref();
  }

  private async stopCurrent(reason: string): Promise<void> {
    const process = this.current;
    if (!process || process.hasExited) return;
    this.endedOnPurpose.add(process);
    this.current = undefined;
    this.options.note?.(`stopping llama-server: ${reason}`);
    const stopping = process.stop().finally(() => {
      if (this.stopping === stopping) this.stopping = undefined;
    });
    this.stopping = stopping;
    await stopping;
  }

  /** Ends the process (waiting for a start in flight) and refuses new requests. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearIdleTimer();
    await this.starting?.catch(() => undefined);
    const process = this.current;
    if (process && !process.hasExited) {
      this.endedOnPurpose.add(process);
      this.current = undefined;
      await process.stop();
    }
    await this.stopping;
  }
}
