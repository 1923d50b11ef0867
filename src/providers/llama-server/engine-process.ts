// One running llama-server, started through the watchdog (watchdog.ts) on a free loopback port, and
// ready once its /health answers 200 (it answers 503 while the model loads).
import { spawn, type ChildProcess } from "node:child_process";
import { ModelLoadError } from "../../errors/index.js";
import { sleep as defaultSleep, type Sleep } from "../../retry/sleep.js";
import type { EngineLog } from "./engine-log.js";
import { freePort } from "./free-port.js";
import { WATCHDOG_PID_MARKER, watchdogCommand } from "./watchdog-protocol.js";

export const ENGINE_HOST = "127.0.0.1";

export interface EngineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface EngineProcessOptions {
  binary: string;
  /** llama-server's arguments except --host and --port, which are chosen here. */
  args: string[];
  log: EngineLog;
  /** The model file, named in errors. */
  modelPath: string;
  /** /health must answer 200 within this time, or the process is ended and the start fails. */
  readyTimeoutMs: number;
  sleep?: Sleep;
}

/** A port taken between our check and llama-server's bind: tried again on another port, at most this often. */
const BIND_ATTEMPTS = 3;
const BIND_FAILURE = /couldn't bind HTTP server socket/;

export class EngineProcess {
  /** Resolves when the watchdog (and so llama-server) has exited, for whatever reason. */
  readonly exited: Promise<EngineExit>;
  private exitInfo: EngineExit | undefined;
  private serverPidValue: number | undefined;
  private readonly serverPidKnown: Promise<number | undefined>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly log: EngineLog,
  ) {
    this.exited = new Promise((resolveExit) => {
      child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        resolveExit(this.exitInfo);
      });
    });
    this.serverPidKnown = new Promise((resolvePid) => {
      let pending = "";
      let found = false;
      child.stdout?.on("data", (chunk: Buffer) => {
        if (!found) {
          pending += chunk.toString("utf8");
          const end = pending.indexOf("\n");
          if (end < 0) return;
          const first = pending.slice(0, end);
          found = true;
          if (first.startsWith(WATCHDOG_PID_MARKER)) {
            this.serverPidValue = Number(first.slice(WATCHDOG_PID_MARKER.length));
            resolvePid(this.serverPidValue);
            const rest = pending.slice(end + 1);
            if (rest) log.write(rest);
            return;
          }
          resolvePid(undefined);
          log.write(pending);
          return;
        }
        log.write(chunk);
      });
      void this.exited.then(() => resolvePid(this.serverPidValue));
    });
    child.stderr?.on("data", (chunk: Buffer) => log.write(chunk));
  }

  get baseURL(): string {
    return `http://${ENGINE_HOST}:${this.port}`;
  }

  /** The watchdog's pid (the process group camelid signals). */
  get watchdogPid(): number | undefined {
    return this.child.pid;
  }

  /** llama-server's own pid, once the watchdog has started it. */
  serverPid(): Promise<number | undefined> {
    return this.serverPidKnown;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** Starts llama-server and waits until it is ready; a process that exits or stalls first is an error naming the model and its last log lines. */
  static async start(options: EngineProcessOptions): Promise<EngineProcess> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort(ENGINE_HOST);
      const engine = EngineProcess.spawn(options, port);
      try {
        await engine.waitUntilReady(options);
        options.log.note(`llama-server pid ${(await engine.serverPid()) ?? "?"} ready on ${engine.baseURL}`);
        return engine;
      } catch (error) {
        await engine.stop();
        if (attempt < BIND_ATTEMPTS && BIND_FAILURE.test(options.log.tail(5))) continue;
        throw error;
      }
    }
  }

  private static spawn(options: EngineProcessOptions, port: number): EngineProcess {
    const watchdog = watchdogCommand();
    const args = [...options.args, "--host", ENGINE_HOST, "--port", String(port)];
    options.log.note(`starting ${options.binary} ${args.map((arg) => (/\s/.test(arg) ? JSON.stringify(arg) : arg)).join(" ")}`);
    // Its own process group: a terminal's Ctrl-C reaches camelid alone, which then ends its engines in order.
    const child = spawn(watchdog.command, [...watchdog.args, options.binary, ...args], { stdio: ["pipe", "pipe", "pipe"], detached: true });
    // The pipe is the parent-death signal; an EPIPE on it (the watchdog already gone) is not an error here.
    child.stdin?.on("error", () => undefined);
    // An engine never keeps camelid running on its own: a command that ends without disposing its model
    // exits, its end of the pipe closes, and the watchdog ends llama-server.
    child.unref();
    for (const pipe of [child.stdin, child.stdout, child.stderr]) (pipe as unknown as { unref?: () => void } | null)?.unref?.();
    const engine = new EngineProcess(child, port, options.log);
    void engine.exited.then(({ code, signal }) => options.log.note(`llama-server on port ${port} exited (${signal ? `signal ${signal}` : `code ${code}`})`));
    return engine;
  }

  private async waitUntilReady(options: EngineProcessOptions): Promise<void> {
    const sleep = options.sleep ?? defaultSleep;
    const deadline = Date.now() + options.readyTimeoutMs;
    let delay = 20;
    for (;;) {
      if (this.exitInfo) {
        const { code, signal } = this.exitInfo;
        throw new ModelLoadError(
          options.modelPath,
          `llama-server exited before it was ready (${signal ? `signal ${signal}` : `code ${code}`}) loading ${options.modelPath}; its last output (full log: ${options.log.path}):\n${options.log.tail(12)}`,
        );
      }
      if (await this.healthy()) return;
      if (Date.now() > deadline) {
        throw new ModelLoadError(options.modelPath, `llama-server was not ready within ${options.readyTimeoutMs} ms loading ${options.modelPath} (log: ${options.log.path})`);
      }
      await Promise.race([sleep(delay), this.exited]);
      delay = Math.min(delay * 2, 250);
    }
  }

  /** Whether /health answers 200 now (503 while loading; a refused connection before it listens). */
  async healthy(timeoutMs = 5_000): Promise<boolean> {
    try {
      const response = await fetch(`${this.baseURL}/health`, { signal: AbortSignal.timeout(timeoutMs) });
      await response.arrayBuffer();
      return response.status === 200;
    } catch {
      return false;
    }
  }

  /**
   * Ends the process: SIGTERM to the watchdog (which passes it on and waits for llama-server), then, after
   * `graceMs`, SIGKILL to the whole process group, so neither the watchdog nor llama-server outlives this.
   */
  async stop(graceMs = 5_000): Promise<EngineExit> {
    if (this.exitInfo) return this.exitInfo;
    const watchdog = this.child.pid;
    // A negative pid signals the watchdog's whole process group (llama-server is in it).
    const signal = (pid: number | undefined, name: NodeJS.Signals) => {
      try {
        if (pid !== undefined) process.kill(pid, name);
      } catch {
        // Already gone.
      }
    };
    // The watchdog alone: llama-server treats a second SIGTERM as "exit now", skipping its clean shutdown.
    signal(watchdog, "SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolveKill) => {
      timer = setTimeout(() => {
        signal(watchdog === undefined ? undefined : -watchdog, "SIGKILL");
        resolveKill();
      }, graceMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    return this.exited;
  }
}
