import { readFile } from "node:fs/promises";
import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";

/** One row of Alpaca's / Self-Instruct's seed_tasks.jsonl. */
const seedTaskSchema = z.object({
  id: z.string().optional(),
  name: z.string().optional(),
  instruction: z.string(),
  instances: z.array(z.object({ input: z.string(), output: z.string() })).min(1),
  is_classification: z.boolean().optional(),
});

export interface SeedTask {
  instruction: string;
  /** The first instance, as Alpaca uses it. */
  input: string;
  output: string;
  isClassification: boolean;
  /** All instances (Self-Instruct's instance-generation demonstrations use them). */
  instances: { input: string; output: string }[];
}

export function parseSeedTasks(text: string, file = "seed tasks"): SeedTask[] {
  const tasks: SeedTask[] = [];
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      throw new InvalidArgumentError("seedTasks", `${file}:${index + 1}: not valid JSON (${(error as Error).message})`);
    }
    const parsed = seedTaskSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InvalidArgumentError("seedTasks", `${file}:${index + 1}: ${issue.path.join(".") || "row"}: ${issue.message}`);
    }
    const task = parsed.data;
    tasks.push({
      instruction: task.instruction,
      input: task.instances[0].input,
      output: task.instances[0].output,
      isClassification: task.is_classification ?? false,
      instances: task.instances,
    });
  });
  if (tasks.length === 0) throw new InvalidArgumentError("seedTasks", `${file}: no seed tasks`);
  return tasks;
}

export async function loadSeedTasks(path: string): Promise<SeedTask[]> {
  return parseSeedTasks(await readFile(path, "utf8"), path);
}
