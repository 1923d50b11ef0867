import { InvalidArgumentError } from "../../errors/index.js";
import type { CallWarning } from "../../spec/index.js";

// node-llama-cpp's JSON-schema-to-grammar converter accepts any object and quietly turns what it
// does not know into "null" or "any". We check the schema first: an unknown type is an error, and a
// keyword the grammar cannot enforce (pattern, minimum, ...) is a warning, never a silent drop.

const TYPES = new Set(["string", "number", "integer", "boolean", "null", "object", "array"]);
const ENFORCED = new Set([
  "type", "enum", "const", "oneOf", "anyOf", "properties", "required", "additionalProperties", "items", "prefixItems",
  "minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties", "format", "$defs", "$ref",
]);
const ANNOTATIONS = new Set(["description", "title", "$schema", "$id", "examples", "default", "$comment"]);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

const refPrefix = "#/$defs/";

export function checkJsonSchema(schema: unknown): CallWarning[] {
  const unenforced = new Set<string>();
  const unresolved: CallWarning[] = [];
  /** `defs`: the $defs names visible here (node-llama-cpp joins them down the tree). */
  const walk = (node: unknown, path: string, depth: number, outerDefs: ReadonlySet<string> = new Set()): void => {
    if (depth > 64) throw new InvalidArgumentError("responseFormat.schema", `responseFormat.schema is nested too deeply at ${path}`);
    if (node === true || node === false) return;
    if (!isObject(node)) throw new InvalidArgumentError("responseFormat.schema", `responseFormat.schema${path} must be a JSON schema object`);
    const defs = isObject(node.$defs) ? new Set([...outerDefs, ...Object.keys(node.$defs)]) : outerDefs;
    if (node.$ref !== undefined) {
      // node-llama-cpp turns any other reference ("#" = the root, a missing name) into "any JSON"
      // with only a console line: say so in the response instead.
      const ref = node.$ref;
      const resolvable = typeof ref === "string" && ref.startsWith(refPrefix) && defs.has(ref.slice(refPrefix.length));
      if (!resolvable) {
        unresolved.push({
          type: "unsupported-setting",
          setting: `responseFormat.schema${path}.$ref`,
          message: `the JSON schema reference ${JSON.stringify(ref)} at responseFormat.schema${path || " (root)"} is not supported (only "${refPrefix}<name>" naming an existing definition); that part of the output is not constrained (any JSON)`,
        });
      }
    }
    for (const key of Object.keys(node)) {
      if (!ENFORCED.has(key) && !ANNOTATIONS.has(key)) unenforced.add(key);
    }
    const types = node.type === undefined ? [] : Array.isArray(node.type) ? node.type : [node.type];
    for (const type of types) {
      if (typeof type !== "string" || !TYPES.has(type)) {
        throw new InvalidArgumentError("responseFormat.schema", `responseFormat.schema${path}.type ${JSON.stringify(type)} is not a JSON schema type`);
      }
    }
    if (node.properties !== undefined) {
      if (!isObject(node.properties)) throw new InvalidArgumentError("responseFormat.schema", `responseFormat.schema${path}.properties must be an object`);
      for (const [name, child] of Object.entries(node.properties)) walk(child, `${path}.properties.${name}`, depth + 1, defs);
    }
    for (const key of ["items", "additionalProperties"] as const) {
      if (node[key] !== undefined && typeof node[key] !== "boolean") walk(node[key], `${path}.${key}`, depth + 1, defs);
    }
    for (const key of ["oneOf", "anyOf", "prefixItems"] as const) {
      if (node[key] === undefined) continue;
      if (!Array.isArray(node[key])) throw new InvalidArgumentError("responseFormat.schema", `responseFormat.schema${path}.${key} must be an array`);
      (node[key] as unknown[]).forEach((child, index) => walk(child, `${path}.${key}[${index}]`, depth + 1, defs));
    }
    if (node.$defs !== undefined && isObject(node.$defs)) {
      for (const [name, child] of Object.entries(node.$defs)) walk(child, `${path}.$defs.${name}`, depth + 1, defs);
    }
    if (node.enum !== undefined && (!Array.isArray(node.enum) || node.enum.length === 0)) {
      throw new InvalidArgumentError("responseFormat.schema", `responseFormat.schema${path}.enum must be a non-empty array`);
    }
  };
  walk(schema, "", 0);
  return [
    ...unresolved,
    ...[...unenforced].map((keyword) => ({
    type: "unsupported-setting" as const,
    setting: `responseFormat.schema.${keyword}`,
    message: `the JSON schema keyword "${keyword}" cannot be enforced by the local grammar; output may not satisfy it`,
    })),
  ];
}

/** node-llama-cpp grammars ask us to stop at these strings (they end the JSON document). */
export function grammarStops(grammar: { stopGenerationTriggers: readonly unknown[] }): string[] {
  return grammar.stopGenerationTriggers.flatMap((trigger) => {
    if (typeof trigger === "string") return [trigger];
    const text = String(trigger);
    return text ? [text] : [];
  });
}
