// `camelid show NAME`: what a created (or pulled) model is made of, and whether its files changed since.
import { InvalidArgumentError, ModelNotFoundError } from "../../errors/index.js";
import { CacheLayout, defaultCacheDir, ManifestStore } from "../../hub/index.js";
import { checkFile, renderModelfile, type CreatedModel } from "../../registry/index.js";
import { parseCommandArgs } from "../args.js";
import type { CliIo } from "../io.js";

const HELP = `usage: camelid show NAME [--modelfile | --json] [--cache-dir DIR]

Prints a model's package: base, adapters (each with its sha256 and whether the file changed since create),
prompt format or template, system prompt and parameters. --modelfile prints a Modelfile that recreates it.
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    modelfile: { type: "boolean" },
    json: { type: "boolean" },
    "cache-dir": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new InvalidArgumentError("name", "give one model name: camelid show NAME");
  const name = positionals[0];
  const models = await new ManifestStore(new CacheLayout(defaultCacheDir(io.env, values["cache-dir"])).manifestsFolder).listAll();
  const model = models.find((candidate) => candidate.name.toLowerCase() === name.toLowerCase());
  if (!model) throw new ModelNotFoundError(name, `no model named "${name}" (see camelid list)`);
  if (values.json) {
    io.stdout(`${JSON.stringify(model, null, 2)}\n`);
    return 0;
  }
  if (model.source !== "created") {
    if (values.modelfile) io.stdout(renderModelfile({ from: model.name, adapters: [], sampling: {} }));
    else io.stdout(`${model.name}\n  pulled from ${model.url}\n  file ${model.path}\n  sha256 ${model.sha256}\n`);
    return 0;
  }
  if (values.modelfile) {
    io.stdout(modelfileOf(model));
    return 0;
  }
  const state = async (record: CreatedModel["base"]) => {
    const found = await checkFile(record);
    return found === "unchanged" ? "" : found === "missing" ? "  (MISSING)" : "  (CHANGED since create)";
  };
  const lines = [`${model.name}  (created ${model.createdAt.slice(0, 16).replace("T", " ")} from ${model.from})`];
  lines.push(`  base     ${model.base.path}  sha256 ${model.base.sha256}${await state(model.base)}`);
  for (const adapter of model.adapters) lines.push(`  adapter  ${adapter.path}  scale ${adapter.scale}  sha256 ${adapter.sha256}${await state(adapter)}`);
  lines.push(`  format   ${model.format ?? (model.template ? "its own TEMPLATE (gguf-jinja)" : "the base's (its chat template or the name heuristic)")}`);
  if (model.template) lines.push(indent("template", model.template));
  if (model.system !== undefined) lines.push(indent("system", model.system));
  const parameters = Object.entries(model.sampling).map(([key, value]) => `${key} ${JSON.stringify(value)}`);
  if (model.contextSize !== undefined) parameters.push(`contextSize ${model.contextSize}`);
  if (parameters.length) lines.push(`  params   ${parameters.join(", ")}`);
  io.stdout(`${lines.join("\n")}\n`);
  return 0;
}

/** The base by path (FROM a created model would add its adapters twice), a pulled base by its name. */
function modelfileOf(model: CreatedModel): string {
  return renderModelfile({
    from: /^hf:|^https?:/i.test(model.from) ? model.from : model.base.path,
    adapters: model.adapters,
    ...(model.format !== undefined ? { format: model.format } : {}),
    ...(model.template !== undefined ? { template: model.template } : {}),
    ...(model.system !== undefined ? { system: model.system } : {}),
    sampling: model.sampling,
    ...(model.contextSize !== undefined ? { contextSize: model.contextSize } : {}),
  });
}

function indent(label: string, text: string): string {
  const [first, ...rest] = text.split("\n");
  return [`  ${label.padEnd(8)} ${first}`, ...rest.map((line) => `           ${line}`)].join("\n");
}
