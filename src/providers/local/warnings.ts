import type { CallOptions, CallWarning } from "../../spec/index.js";

/** Settings callers may pass under providerOptions.local. */
export interface LocalProviderOptions {
  /** Reuse the longest cached prefix of a sequence's previous prompt (default true), like llama-server's cache_prompt. */
  cachePrompt?: boolean;
}

const KNOWN_LOCAL_KEYS = new Set<keyof LocalProviderOptions>(["cachePrompt"]);

export function localProviderOptions(options: CallOptions): LocalProviderOptions {
  const local = options.providerOptions?.local ?? {};
  return typeof local.cachePrompt === "boolean" ? { cachePrompt: local.cachePrompt } : {};
}

/** Settings this backend cannot honour as given: reported, never silently dropped. */
export function collectWarnings(options: CallOptions): CallWarning[] {
  const warnings: CallWarning[] = [];
  const local = options.providerOptions?.local;
  if (local) {
    for (const [key, value] of Object.entries(local)) {
      if (!KNOWN_LOCAL_KEYS.has(key as keyof LocalProviderOptions)) {
        warnings.push({ type: "unsupported-setting", setting: `providerOptions.local.${key}`, message: `unknown local provider option "${key}" was ignored` });
      } else if (key === "cachePrompt" && typeof value !== "boolean") {
        warnings.push({ type: "unsupported-setting", setting: "providerOptions.local.cachePrompt", message: "cachePrompt must be a boolean; it was ignored" });
      }
    }
  }
  if (options.prompt !== undefined && options.windowStrategy !== undefined) {
    warnings.push({ type: "unsupported-setting", setting: "windowStrategy", message: "a window strategy applies to messages, not to a raw prompt; it was ignored" });
  }
  if (options.prompt !== undefined && options.promptFormat !== undefined) {
    warnings.push({ type: "unsupported-setting", setting: "promptFormat", message: "a raw prompt is sent as is; promptFormat was ignored" });
  }
  if (options.messages !== undefined && options.addBos !== undefined) {
    warnings.push({ type: "unsupported-setting", setting: "addBos", message: "addBos applies to raw prompts; for messages the prompt format decides" });
  }
  if (options.responseFormat?.type === "json" && options.responseFormat.name !== undefined && options.responseFormat.schema === undefined) {
    warnings.push({ type: "other", setting: "responseFormat.name", message: "a schema name without a schema constrains nothing beyond valid JSON" });
  }
  return warnings;
}
