// A child process for kill-and-resume tests: runs (or resumes) Self-Instruct's four steps with a slow
// deterministic teacher into the directory given as argv[2]; the test kills it with SIGKILL mid-run.
import { readFileSync } from "node:fs";
import { parseSeedTasks } from "../../../src/datagen/alpaca/seed-tasks.js";
import { runSelfInstruct } from "../../../src/datagen/self-instruct/self-instruct-pipeline.js";
import { deterministicSelfInstructTeacher, selfInstructKillSettings } from "./self-instruct-teacher.js";

const [directory, seedsPath] = process.argv.slice(2);
await runSelfInstruct({
  teacher: deterministicSelfInstructTeacher({ delayMs: 20 }),
  seeds: parseSeedTasks(readFileSync(seedsPath, "utf8")),
  settings: selfInstructKillSettings,
  outputDirectory: directory,
  concurrency: 1,
});
