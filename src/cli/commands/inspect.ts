// `camelid inspect <file.gguf> [--json]`: what a GGUF model is, read from its header only.
import { InvalidArgumentError } from "../../errors/index.js";
import { describeGguf, formatGgufDescription } from "../../gguf/describe.js";
import { describeEngineBinary, inProcessEngineDefaults } from "../../providers/local/llama-runtime.js";
import type { EngineBinaryInfo } from "../../spec/language-model.js";
import type { CliIo } from "../io.js";
import { isAbsolute, resolve } from "node:path";
import { existsSync } from "node:fs";

const HELP = `usage: camelid inspect <file.gguf> [--json]

Prints a GGUF model's architecture, parameter count, context length, attention heads (MHA/GQA/MQA),
RoPE settings, tensor types, tokenizer, special tokens and chat template. Only the header is read.
For a model (not a --mmproj projector) it also says which node-llama-cpp binary the in-process engine
would run it on (the prebuilt one, or a local source build after camelid engine build --in-process)
and the default thread count that binary gets, found without loading node-llama-cpp or the model.

options:
  --json    print the summary as JSON
`;

/** `engine`: the in-process engine's binary and default threads (tests inject another package folder's). */
export async function run(argv: string[], io: CliIo, engine: () => EngineBinaryInfo = () => inProcessEngineDefaults()): Promise<number> {
  let json = false;
  const files: string[] = [];
  for (const arg of argv) {
    if (arg === "--help" || arg === "-h") {
      io.stdout(HELP);
      return 0;
    }
    if (arg === "--json") json = true;
    else if (arg.startsWith("-")) throw new InvalidArgumentError(arg, `unknown option ${arg} (see camelid inspect --help)`);
    else files.push(arg);
  }
  if (files.length !== 1) throw new InvalidArgumentError("file", `expected one GGUF file, got ${files.length} (see camelid inspect --help)`);
  const path = isAbsolute(files[0]) ? files[0] : resolve(io.cwd, files[0]);
  if (!existsSync(path)) throw new InvalidArgumentError("file", `no such file: ${files[0]}`);
  const description = await describeGguf(path);
  // A projector is never run by node-llama-cpp (llama-server takes it with --mmproj): no engine to name.
  const inProcess = description.projector ? undefined : engine();
  if (json) io.stdout(`${JSON.stringify(inProcess ? { ...description, engine: inProcess } : description, null, 2)}\n`);
  else io.stdout(formatGgufDescription(description) + (inProcess ? `${"engine".padEnd(18)} in process: ${describeEngineBinary(inProcess)} by default\n` : ""));
  return 0;
}
