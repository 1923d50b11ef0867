import type { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";

/** "messages[0].role" from a zod path, so the 400 names the exact parameter like OpenAI does. */
export function formatParameterPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || "body";
}

/** Parses raw body text as JSON and validates it; every failure is an InvalidArgumentError. */
export function parseRequestBody<Schema extends z.ZodType>(text: string, schema: Schema): z.infer<Schema> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new InvalidArgumentError("body", `the request body is not valid JSON: ${detail}`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new InvalidArgumentError("body", "the request body must be a JSON object");
  }
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const parameter = formatParameterPath(issue.path);
  const missing = issue.code === "invalid_type" && (json as Record<string, unknown>)[String(issue.path[0])] === undefined && issue.path.length === 1;
  throw new InvalidArgumentError(parameter, missing ? `'${parameter}' is required` : `invalid '${parameter}': ${issue.message}`);
}
