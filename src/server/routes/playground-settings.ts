// What the playground's settings form needs from the server, so it never hand-copies it: the prompt-format
// registry (with the format "auto" picks for each loaded model, and why), and the bounds of every sampling
// field, generated from the same zod schema that validates the requests.
import { z } from "zod";
import { CHAT_TEMPLATE_FORMAT_NAME, promptFormats } from "../../prompts/index.js";
import type { PromptFormatChoice } from "../../spec/index.js";
import type { ServerApp, ServerContext } from "../context.js";
import type { ModelEntry, ModelState } from "../model-registry.js";
import { samplingOptionsSchema } from "../openai/request-schemas.js";

export interface PromptFormatListing {
  name: string;
  description: string;
  reference: string;
  supports_system: boolean;
}

export interface ModelAutoFormat {
  id: string;
  state: ModelState;
  /** The format a request without `prompt_format` gets and why; null until the model has loaded. */
  auto: PromptFormatChoice | null;
}

/** GET /api/prompt-formats */
export interface PromptFormatsResponse {
  object: "list";
  data: PromptFormatListing[];
  models: ModelAutoFormat[];
}

/** One sampling field's JSON Schema (type and bounds), as zod's toJSONSchema writes it. */
export interface SamplingFieldSchema {
  type?: "number" | "integer" | "string" | "array";
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

/** GET /api/sampling-limits */
export interface SamplingLimitsResponse {
  object: "sampling_limits";
  fields: Record<string, SamplingFieldSchema>;
}

const modelTemplateListing: PromptFormatListing = {
  name: CHAT_TEMPLATE_FORMAT_NAME,
  description: "the model's own chat template (tokenizer.chat_template in its GGUF), rendered as Jinja",
  reference: "GGUF metadata",
  supports_system: true,
};

/**
 * The format the model uses when a request names none. Only asked of a loaded model: listing formats
 * must never start a load (a lazy server loads on the first real request).
 */
async function autoFormat(entry: ModelEntry): Promise<PromptFormatChoice | null> {
  if (entry.status().state !== "ready") return null;
  try {
    const model = await entry.model();
    const described = await model.describe?.();
    if (described?.promptFormat) return described.promptFormat as PromptFormatChoice;
    // Backends without describe() still say which format a chat request gets.
    return (await model.renderPrompt({ messages: [{ role: "user", content: "" }] })).format;
  } catch {
    // One model that cannot say (an upstream that is down) leaves the others' answers intact; its
    // requests report the real error.
    return null;
  }
}

export function samplingLimits(): SamplingLimitsResponse {
  const schema = z.toJSONSchema(samplingOptionsSchema) as { properties: Record<string, SamplingFieldSchema> };
  return { object: "sampling_limits", fields: schema.properties };
}

export function registerPlaygroundSettingsRoutes(app: ServerApp, context: ServerContext): void {
  const limits = samplingLimits();
  app.get("/api/sampling-limits", (c) => c.json(limits));

  app.get("/api/prompt-formats", async (c) => {
    const models = await Promise.all(
      context.registry.list().map(async (entry): Promise<ModelAutoFormat> => ({ id: entry.id, state: entry.status().state, auto: await autoFormat(entry) })),
    );
    const body: PromptFormatsResponse = {
      object: "list",
      data: [
        ...promptFormats.map((format) => ({ name: format.name, description: format.description, reference: format.reference, supports_system: format.supportsSystem })),
        modelTemplateListing,
      ],
      models,
    };
    return c.json(body);
  });
}
