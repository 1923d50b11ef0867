import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { writeFileAtomic } from "../files/atomic-write.js";

/** DPO's figures per step and per validation run, named as trl's DPOTrainer logs them (absent for SFT). */
const preferenceMetrics = {
  "rewards/chosen": z.number().optional(),
  "rewards/rejected": z.number().optional(),
  "rewards/accuracies": z.number().optional(),
  "rewards/margins": z.number().optional(),
  "logps/chosen": z.number().optional(),
  "logps/rejected": z.number().optional(),
};
/** A reward model's step (--method reward): share of pairs with r_chosen > r_rejected, and the mean r_chosen − r_rejected. */
const pairMetrics = { accuracy: z.number().optional(), margin: z.number().optional() };

export const metricRecordSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("train"),
    step: z.number().int(),
    loss: z.number(),
    learningRate: z.number(),
    gradientNorm: z.number(),
    tokens: z.number(),
    tokensPerSecond: z.number(),
    elapsedSeconds: z.number(),
    /** Bytes of the engine's buffers (LlamaModel.memoryBytes().total); absent in logs of older runs. */
    engineBytes: z.number().optional(),
    /** The process's peak resident set size so far (process.resourceUsage().maxRSS). */
    peakRssBytes: z.number().optional(),
    ...preferenceMetrics,
    ...pairMetrics,
  }),
  z.object({
    type: z.literal("validation"),
    step: z.number().int(),
    loss: z.number(),
    /** SFT's; a preference objective has none (a reward model reports pair accuracy and margin, tokens = pairs). */
    perplexity: z.number().optional(),
    tokens: z.number(),
    ...preferenceMetrics,
    ...pairMetrics,
  }),
]);
export type MetricRecord = z.infer<typeof metricRecordSchema>;

/** metrics.jsonl: one record per optimizer step and per validation run, appended as they happen. */
export class MetricsLog {
  constructor(readonly path: string) {}

  /**
   * On resume, records after the checkpoint's step were written by the killed run and will be written
   * again: they are dropped so that every step appears once.
   */
  keepThrough(step: number): void {
    const kept = this.read().filter((record) => record.step <= step);
    writeFileAtomic(this.path, kept.map((record) => `${JSON.stringify(record)}\n`).join(""));
  }

  append(record: MetricRecord): void {
    appendFileSync(this.path, `${JSON.stringify(record)}\n`);
  }

  /** Every well-formed record; a torn last line (killed mid-write) is skipped. */
  read(): MetricRecord[] {
    if (!existsSync(this.path)) return [];
    return parseMetricLines(readFileSync(this.path, "utf8"));
  }
}

/** The well-formed records of metrics.jsonl text; a torn line (killed mid-write) is skipped. */
export function parseMetricLines(text: string): MetricRecord[] {
  const records: MetricRecord[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const parsed = metricRecordSchema.safeParse(JSON.parse(line));
      if (parsed.success) records.push(parsed.data);
    } catch {
      // a partial line from a kill: the resumed run rewrites that step
    }
  }
  return records;
}
