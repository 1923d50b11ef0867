// What state a training run's folder is in, read from the files it holds, so that a viewer (the
// playground's Train tab) can tell a live run from a finished, failed or interrupted one without
// talking to the training process. `camelid train` writes two markers for this:
//   running.json  {pid, hostname, started} while the process trains; removed when it ends, however it ends
//   failed.json   {error, code, message} when the run ended with an error (removed by the next attempt)
// The state, in order of precedence:
//   running      running.json names a live process on this host
//   finished     run.json (the end-of-run report) with summary.stopped false
//   interrupted  run.json with summary.stopped true (Ctrl-C/SIGTERM: files written, --resume continues),
//                or a checkpoint/metrics without run.json whose process is gone (killed: --resume continues)
//   failed       failed.json (diverged, bad data, unreadable checkpoint, ...)
import { existsSync, readFileSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { isProcessAlive } from "../hub/file-lock.js";
import { writeFileAtomic } from "../files/atomic-write.js";

export type TrainingRunState = "running" | "finished" | "failed" | "interrupted";

export const runStatusFileNames = { running: "running.json", failed: "failed.json" } as const;

const runningMarkerSchema = z.object({ pid: z.number().int(), hostname: z.string(), started: z.string() });
const failedMarkerSchema = z.object({ error: z.string(), code: z.string().nullable(), message: z.string() });
const runReportSchema = z.object({ summary: z.object({ stopped: z.boolean() }).loose() }).loose();

export interface TrainingRunStatus {
  state: TrainingRunState;
  /** Why: the error of a failed run, or which file said so. */
  reason: string;
}

function readJson<Schema extends z.ZodType>(path: string, schema: Schema): z.infer<Schema> | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(readFileSync(path, "utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Marks `outDir` as trained by this process (a viewer shows it as running). */
export function markRunStarted(outDir: string, started: Date): void {
  rmSync(join(outDir, runStatusFileNames.failed), { force: true });
  writeFileAtomic(join(outDir, runStatusFileNames.running), `${JSON.stringify({ pid: process.pid, hostname: hostname(), started: started.toISOString() })}\n`);
}

/** The training process is done with `outDir`; an error, if any, is recorded as failed.json. */
export function markRunEnded(outDir: string, error?: unknown): void {
  if (error !== undefined && existsSync(outDir)) {
    const code = typeof (error as { code?: unknown }).code === "string" ? (error as { code: string }).code : null;
    const failure = { error: error instanceof Error ? error.name : "Error", code, message: error instanceof Error ? error.message : String(error) };
    writeFileAtomic(join(outDir, runStatusFileNames.failed), `${JSON.stringify(failure)}\n`);
  }
  rmSync(join(outDir, runStatusFileNames.running), { force: true });
}

/** The state of the run in `outDir`, from its files (see the top of this file). */
export function trainingRunStatus(outDir: string, isAlive: (pid: number) => boolean = isProcessAlive): TrainingRunStatus {
  const running = readJson(join(outDir, runStatusFileNames.running), runningMarkerSchema);
  if (running && running.hostname === hostname() && isAlive(running.pid)) return { state: "running", reason: `process ${running.pid} has trained it since ${running.started}` };
  const report = readJson(join(outDir, "run.json"), runReportSchema);
  const failed = readJson(join(outDir, runStatusFileNames.failed), failedMarkerSchema);
  if (failed) return { state: "failed", reason: failed.message };
  if (report) return report.summary.stopped ? { state: "interrupted", reason: "stopped by a signal; camelid train --resume continues it" } : { state: "finished", reason: "run.json holds the end-of-run report" };
  if (running) return { state: "interrupted", reason: `process ${running.pid} ended without finishing (killed); camelid train --resume continues it` };
  return { state: "interrupted", reason: "no end-of-run report (run.json) and no live training process; camelid train --resume continues it" };
}
