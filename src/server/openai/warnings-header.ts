import type { CallWarning } from "../../spec/index.js";

/**
 * Settings the backend could not honour travel in `x-camelid-warnings` (JSON, ASCII-escaped):
 * OpenAI's bodies have no place for them, and a header reaches streaming clients before the body.
 */
export function warningsHeader(warnings: CallWarning[]): Record<string, string> {
  if (warnings.length === 0) return {};
  const json = JSON.stringify(warnings.map((w) => ({ type: w.type, setting: w.setting ?? null, message: w.message })));
  return { "x-camelid-warnings": json.replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`) };
}
