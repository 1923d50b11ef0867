import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { loadSeedTasks } from "../../src/datagen/alpaca/seed-tasks.js";
import { runDistill } from "../../src/datagen/distill/distill.js";
import { seededRandom } from "../../src/random/seeded-random.js";
import { runSelfInstruct } from "../../src/datagen/self-instruct/self-instruct-pipeline.js";
import { repoRoot, sharedPath } from "../support/shared-data.js";
import { killDistillRun, killSelfInstructSettings } from "./support/stage-settings.js";
import { deterministicStageTeacher } from "./support/stage-teachers.js";
import { temporaryDirectories } from "../support/temporary-directories.js";

const temporaryDirectory = temporaryDirectories("camelid-kill-");

const seedsPath = () => sharedPath("data", "alpaca", "seed_tasks.jsonl");

/** A point of the run to kill at: a progress record whose state field has reached a value. */
interface KillPoint {
  progressFile: string;
  field: "next" | "kept";
  atLeast: number;
}

function reached(directory: string, point: KillPoint): boolean {
  const path = join(directory, point.progressFile);
  if (!existsSync(path)) return false;
  try {
    return JSON.parse(readFileSync(path, "utf8")).state[point.field] >= point.atLeast;
  } catch {
    return false; // being replaced right now
  }
}

/** Starts the stage in a child process and SIGKILLs it once `point` is reached (or lets it finish). */
async function killAt(stage: "distill" | "self-instruct", directory: string, point: KillPoint): Promise<"killed" | "finished"> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "test/datagen/support/stage-child.ts"), stage, directory, seedsPath()], { stdio: "ignore", cwd: repoRoot });
  let exited = false;
  const exit = new Promise((resolve) => child.once("exit", () => resolve((exited = true))));
  for (let waited = 0; waited < 60_000 && !exited && !reached(directory, point); waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  if (exited) return "finished";
  child.kill("SIGKILL");
  await exit;
  return "killed";
}

/** Every output file under a run directory (progress records and the timed summary aside), by relative path. */
function outputFiles(directory: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (!/^(progress\.json(\.tmp)?|summary\.json)$/.test(name)) files[relative(directory, path)] = readFileSync(path, "utf8");
    }
  };
  walk(directory);
  return files;
}

/** Kill points drawn from `candidates`, in run order (each kill is followed by a resume in a new child). */
function drawPoints(candidates: KillPoint[], count: number, random: () => number): KillPoint[] {
  const indexes = Array.from({ length: count }, () => Math.floor(random() * candidates.length)).sort((a, b) => a - b);
  return indexes.map((index) => candidates[index]);
}

describe("kill -9 at random points, then resume: the output equals an uninterrupted run's, byte for byte", () => {
  const seed = Date.now() % 100_000;

  it("distill with follow-up turns", async () => {
    const random = seededRandom(seed);
    const reference = temporaryDirectory();
    await runDistill({ ...killDistillRun, teacher: deterministicStageTeacher(), outputDirectory: reference });
    const killed = temporaryDirectory();
    const candidates = Array.from({ length: 28 }, (_, i): KillPoint => ({ progressFile: "progress.json", field: "next", atLeast: i + 1 }));
    const points = drawPoints(candidates, 1, random);
    for (const point of points) await killAt("distill", killed, point);
    const summary = await runDistill({ ...killDistillRun, teacher: deterministicStageTeacher(), outputDirectory: killed });
    expect(summary, `seed ${seed}, points ${JSON.stringify(points)}`).toMatchObject({ done: 30, failed: 0, resumed: true });
    expect(outputFiles(killed), `seed ${seed}, points ${JSON.stringify(points)}`).toEqual(outputFiles(reference));
  });

  it("Self-Instruct, all steps", async () => {
    const random = seededRandom(seed + 1);
    const seeds = await loadSeedTasks(seedsPath());
    const reference = temporaryDirectory();
    const expected = await runSelfInstruct({ teacher: deterministicStageTeacher(), seeds, settings: killSelfInstructSettings, outputDirectory: reference, concurrency: 6 });
    expect(expected.stopReason).toBe("target-reached");
    const target = killSelfInstructSettings.target;
    const candidates: KillPoint[] = [
      ...Array.from({ length: target - 1 }, (_, i): KillPoint => ({ progressFile: "1-instructions/progress.json", field: "kept", atLeast: i + 1 })),
      ...Array.from({ length: target - 1 }, (_, i): KillPoint => ({ progressFile: "2-classification/progress.json", field: "next", atLeast: i + 1 })),
      ...Array.from({ length: target - 1 }, (_, i): KillPoint => ({ progressFile: "3-instances/progress.json", field: "next", atLeast: i + 1 })),
    ];
    const killed = temporaryDirectory();
    const points = drawPoints(candidates, 1, random);
    for (const point of points) await killAt("self-instruct", killed, point);
    await runSelfInstruct({ teacher: deterministicStageTeacher(), seeds, settings: killSelfInstructSettings, outputDirectory: killed, concurrency: 6 });
    expect(outputFiles(killed), `seed ${seed}, points ${JSON.stringify(points)}`).toEqual(outputFiles(reference));
  });
});
