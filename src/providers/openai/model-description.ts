import { z } from "zod";
import { ModelNotFoundError, UpstreamError } from "../../errors/index.js";
import type { ModelDescription } from "../../spec/language-model.js";
import { openResponse, readJsonBody, type TransportSettings } from "./http-transport.js";
import { remoteFormatChoice } from "./prompt-preparation.js";
import { modelListSchema } from "./response-schemas.js";
import { type ResolvedSettings, serverRoot } from "./settings.js";

const llamaServerPropsSchema = z.object({
  default_generation_settings: z.object({ n_ctx: z.number().int().positive().optional() }).loose().optional(),
});

/**
 * What the server says about the model (GET /v1/models): that it exists and, where the server tells,
 * its context size (vLLM's max_model_len; llama-server's serving context from GET /props).
 */
export async function describeRemoteModel(settings: ResolvedSettings, transport: TransportSettings): Promise<ModelDescription> {
  const url = `${settings.baseURL}/models`;
  const payload = await readJsonBody(await openResponse(transport, { method: "GET", url }), url);
  const parsed = modelListSchema.safeParse(payload);
  if (!parsed.success) throw new UpstreamError(`${url} returned an unexpected model list`, 200, payload);
  const listed = parsed.data.data;
  // llama-server answers to any model name with its one loaded model.
  const entry =
    listed.find((model) => model.id === settings.model) ?? (settings.flavor === "llama-server" && listed.length === 1 ? listed[0] : undefined);
  if (!entry) {
    const available = listed.map((model) => model.id).slice(0, 20).join(", ") || "none";
    throw new ModelNotFoundError(settings.model, `model "${settings.model}" is not served at ${settings.baseURL} (available: ${available})`);
  }
  const description: ModelDescription = { modelId: settings.model, provider: "openai-compatible" };
  if (settings.api === "chat") {
    const choice = remoteFormatChoice(settings);
    description.promptFormat = { name: choice.name, source: choice.source, reason: choice.reason };
  } else if (settings.promptFormat !== undefined) {
    const name = typeof settings.promptFormat === "string" ? settings.promptFormat : settings.promptFormat.name;
    description.promptFormat = { name, source: "explicit", reason: "named in the model settings' promptFormat" };
  }
  if (entry.max_model_len !== undefined) description.contextSize = entry.max_model_len;
  if (settings.flavor === "llama-server") {
    const contextSize = await llamaServerContextSize(settings, transport);
    if (contextSize !== undefined) description.contextSize = contextSize;
  }
  return description;
}

async function llamaServerContextSize(settings: ResolvedSettings, transport: TransportSettings): Promise<number | undefined> {
  const url = `${serverRoot(settings.baseURL)}/props`;
  try {
    const payload = await readJsonBody(await openResponse(transport, { method: "GET", url }), url);
    return llamaServerPropsSchema.safeParse(payload).data?.default_generation_settings?.n_ctx;
  } catch {
    // /props can be disabled or behind another path; the context size is then simply unknown.
    return undefined;
  }
}
