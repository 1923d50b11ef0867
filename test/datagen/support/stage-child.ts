// A child process for kill-and-resume tests of the distill, gatt and Self-Instruct stages: runs the stage
// named in argv[2] with a slow deterministic teacher into the directory argv[3]; the test kills it
// with SIGKILL at a point of its choosing.
import { readFileSync } from "node:fs";
import { parseSeedTasks } from "../../../src/datagen/alpaca/seed-tasks.js";
import { runDistill } from "../../../src/datagen/distill/distill.js";
import { runGatt } from "../../../src/datagen/gatt/ghost-attention.js";
import { runSelfInstruct } from "../../../src/datagen/self-instruct/self-instruct-pipeline.js";
import { killDistillRun, killGattRun, killSelfInstructSettings } from "./stage-settings.js";
import { deterministicStageTeacher } from "./stage-teachers.js";

const [stage, directory, seedsPath] = process.argv.slice(2);
const teacher = deterministicStageTeacher({ delayMs: 10 });
if (stage === "distill") await runDistill({ ...killDistillRun, teacher, outputDirectory: directory });
else if (stage === "gatt") await runGatt({ ...killGattRun, teacher, outputDirectory: directory });
else await runSelfInstruct({ teacher, seeds: parseSeedTasks(readFileSync(seedsPath, "utf8")), settings: killSelfInstructSettings, outputDirectory: directory, concurrency: 6 });
