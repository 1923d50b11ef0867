// What `camelid create` records: one manifest per created model, beside the pulled ones in <cache>/manifests.
// The weights are never copied; each referenced file is recorded with its sha256, size and mtime, so
// `camelid show` can say whether it changed since.
import { z } from "zod";
import { loraAdapterSchema, localModelSettingsSchema } from "../spec/local-model-options.js";

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const fileRecordSchema = z.object({
  path: z.string().min(1),
  sha256,
  size: z.number().int().nonnegative(),
  mtimeMs: z.number(),
});
export type FileRecord = z.infer<typeof fileRecordSchema>;

export const packagedSamplingSchema = z.strictObject({
  temperature: z.number().optional(),
  topP: z.number().optional(),
  topK: z.number().int().optional(),
  minP: z.number().optional(),
  repeatPenalty: z.number().optional(),
  repeatLastN: z.number().int().optional(),
  presencePenalty: z.number().optional(),
  frequencyPenalty: z.number().optional(),
  seed: z.number().int().optional(),
  stop: z.array(z.string().min(1)).optional(),
  maxTokens: z.number().int().optional(),
});

export const createdModelSchema = z.object({
  /** What list shows and --model accepts: "storyteller" or "storyteller:v2". */
  name: z.string().min(1),
  source: z.literal("created"),
  /** FROM as resolved: a pulled name, a created model's name, or the base file's absolute path. */
  from: z.string().min(1),
  base: fileRecordSchema,
  adapters: z.array(fileRecordSchema.extend({ scale: loraAdapterSchema.shape.scale })),
  /** A camelid prompt-format name (FORMAT) … */
  format: z.string().min(1).optional(),
  /** … or a Jinja chat template (TEMPLATE) that replaces the base's own. */
  template: z.string().min(1).optional(),
  system: z.string().optional(),
  sampling: packagedSamplingSchema,
  contextSize: localModelSettingsSchema.shape.contextSize,
  createdAt: z.string(),
});
export type CreatedModel = z.infer<typeof createdModelSchema>;
