import type { ServerApp, ServerContext } from "../context.js";
import type { EngineBinaryInfo, EngineProcessState } from "../../spec/index.js";
import type { ModelCapability, ModelState } from "../model-registry.js";

/**
 * One entry of GET /v1/models. `status` is camelid's addition (as llama-server's router adds one):
 * the playground's pickers show loading models (with the fraction loaded) and failed ones (with the
 * load error) from it. A model run by a llama-server engine adds its process's state (`process`):
 * "ready" means the model is served, not that its process runs (an idle one is stopped and starts on demand).
 * A loaded in-process model adds `engine`: which node-llama-cpp binary it runs ("prebuilt" / "localBuild") and its threads.
 */
export interface ModelObject {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
  /** camelid's addition, like Ollama's: what the model takes besides text ("vision": images); empty for a text-only model. */
  capabilities: ModelCapability[];
  status: { value: ModelState; error?: string; progress?: number; process?: EngineProcessState; engine?: EngineBinaryInfo };
}

export interface ModelList {
  object: "list";
  data: ModelObject[];
}

const startedAt = Math.floor(Date.now() / 1000);

export function registerModelRoutes(app: ServerApp, context: ServerContext): void {
  const describe = (id: string): ModelObject => {
    const entry = context.registry.get(id);
    const { state, error, progress, process, engine } = entry.status();
    const status = {
      value: state,
      ...(error ? { error } : {}),
      ...(progress !== undefined ? { progress } : {}),
      ...(process ? { process } : {}),
      ...(engine ? { engine } : {}),
    };
    return { id: entry.id, object: "model" as const, created: startedAt, owned_by: entry.spec.ownedBy, capabilities: [...(entry.spec.capabilities ?? [])], status };
  };
  app.get("/v1/models", (c) => {
    const list: ModelList = { object: "list", data: context.registry.list().map((entry) => describe(entry.id)) };
    return c.json(list);
  });
  // Model ids may contain slashes ("org/model"), so the id is the whole rest of the path. Hono has
  // already decoded it once; decoding again would turn "/v1/models/%25" into a URIError (a 500).
  app.get("/v1/models/:id{.+}", (c) => c.json(describe(c.req.param("id"))));
}
