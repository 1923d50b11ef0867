// `camelid create NAME -f Modelfile`: package a base model, adapters, prompt format, system prompt and
// sampling defaults under a name (see src/registry).
import { resolve } from "node:path";
import { InvalidArgumentError } from "../../errors/index.js";
import { defaultCacheDir } from "../../hub/index.js";
import { createModelFromFile } from "../../registry/index.js";
import { parseCommandArgs } from "../args.js";
import type { CliIo } from "../io.js";

const HELP = `usage: camelid create NAME [-f Modelfile] [--cache-dir DIR]

Packages a model under NAME (letters, digits, . _ -, an optional :tag) from a Modelfile (default ./Modelfile):
  FROM <base>              a .gguf path (relative to the Modelfile), a pulled hf:owner/repo[:quant], or a
                           created model (whose package this one starts from)
  ADAPTER <lora.gguf> [S]  a LoRA adapter, scale S (default 1); repeatable
  FORMAT <name>            a camelid prompt format (camelid formats list) …
  TEMPLATE """…"""         … or a Jinja chat template instead of the base's own
  SYSTEM """…"""           the system prompt used when a conversation has none
  PARAMETER <name> <value> temperature, top_p, top_k, min_p, repeat_penalty, repeat_last_n,
                           presence_penalty, frequency_penalty, seed, stop (repeatable), num_predict
                           (max tokens), num_ctx (context size): defaults under each request's own
  # comment
Weights are never copied: the manifest records each file's path and sha256 (camelid show says when one
changed). Use it with camelid serve/generate/chat --model NAME; camelid show NAME, camelid rm NAME.
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    file: { type: "string", short: "f" },
    "cache-dir": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new InvalidArgumentError("name", "give one model name: camelid create NAME -f Modelfile");
  const created = await createModelFromFile(positionals[0], {
    cacheDir: defaultCacheDir(io.env, values["cache-dir"]),
    modelfilePath: resolve(io.cwd, values.file ?? "Modelfile"),
  });
  const parts = [`base ${created.base.path}`];
  if (created.adapters.length) parts.push(`${created.adapters.length} adapter(s)`);
  if (created.format) parts.push(`format ${created.format}`);
  if (created.template) parts.push("its own chat template");
  if (created.system !== undefined) parts.push("a system prompt");
  const parameters = Object.keys(created.sampling).length + (created.contextSize !== undefined ? 1 : 0);
  if (parameters) parts.push(`${parameters} parameter(s)`);
  io.stdout(`created ${created.name}: ${parts.join(", ")}\nuse it: camelid serve --model ${created.name}\n`);
  return 0;
}
