// A PyTorch reference benchmark in a child process that measures one round whenever asked ("measure
// <seconds>" on its stdin, one JSON line back), so a TypeScript benchmark can alternate rounds with it:
// a busy spell on the shared machine then slows both sides alike.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";

export interface TorchRounds<Measurement> {
  /** What the script said when it was ready (after its warm-up step). */
  ready: Record<string, unknown>;
  measure(seconds: number): Promise<Measurement>;
  close(): void;
}

/** Starts `python script --json <config>`; null (with the reason on stderr) when it cannot run. */
export async function startTorchRounds<Measurement>(python: string, script: string, config: Record<string, unknown>): Promise<TorchRounds<Measurement> | null> {
  if (!existsSync(script)) return null;
  const child = spawn(python, [script, "--json", JSON.stringify(config)], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await lines.next();
    if (line.done) throw new Error(`PyTorch stopped: ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  let ready: Record<string, unknown>;
  try {
    ready = await next(); // {"ready": true, ...} after its warm-up step
  } catch (error) {
    console.error(`PyTorch run failed: ${(error as Error).message}`);
    return null;
  }
  return {
    ready,
    async measure(seconds) {
      child.stdin.write(`measure ${seconds}\n`);
      return (await next()) as unknown as Measurement;
    },
    close: () => child.stdin.end(),
  };
}

/**
 * The Python whose torch is the newest among the pyenv/PATH `python3` and Debian's /usr/bin/python3
 * (python3-torch 1.13), with that version; null when neither imports torch.
 */
export function pythonWithNewestTorch(): { python: string; torch: string } | null {
  const found = ["python3", "/usr/bin/python3"].flatMap((python) => {
    const probe = spawnSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
    return probe.status === 0 ? [{ python, torch: probe.stdout.trim() }] : [];
  });
  const key = (version: string) => version.split(/[.+]/).slice(0, 3).map((part) => Number.parseInt(part, 10) || 0);
  found.sort((x, y) => {
    const [a, b] = [key(x.torch), key(y.torch)];
    return b[0] - a[0] || b[1] - a[1] || b[2] - a[2];
  });
  return found[0] ?? null;
}

/**
 * `rounds` rounds of `seconds / rounds` each, ours then PyTorch's (when running), so a busy spell on the
 * shared machine slows both alike; closes the PyTorch child.
 */
export async function alternateRounds<Ours, Theirs>(rounds: number, seconds: number, measureOurs: (seconds: number) => Ours, torch: TorchRounds<Theirs> | null): Promise<{ ours: Ours[]; theirs: Theirs[] }> {
  const ours: Ours[] = [], theirs: Theirs[] = [];
  for (let round = 0; round < rounds; round++) {
    ours.push(measureOurs(seconds / rounds));
    if (torch) theirs.push(await torch.measure(seconds / rounds));
  }
  torch?.close();
  return { ours, theirs };
}
