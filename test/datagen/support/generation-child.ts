// A child process for kill-and-resume tests: runs an Alpaca generation with a slow deterministic
// teacher into the directory given as argv[2]; the test kills it with SIGKILL mid-run.
import { readFileSync } from "node:fs";
import { parseSeedTasks } from "../../../src/datagen/alpaca/seed-tasks.js";
import { runAlpacaGeneration } from "../../../src/datagen/self-instruct/alpaca-generation.js";
import { killTestSettings } from "./generation-settings.js";
import { deterministicAlpacaTeacher } from "./alpaca-teacher.js";

const [directory, seedsPath, templatePath] = process.argv.slice(2);
await runAlpacaGeneration({
  teacher: deterministicAlpacaTeacher({ delayMs: 15 }),
  seeds: parseSeedTasks(readFileSync(seedsPath, "utf8")),
  template: readFileSync(templatePath, "utf8"),
  settings: killTestSettings,
  outputDirectory: directory,
  concurrency: 10,
});
