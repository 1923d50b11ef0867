// `camelid inspect <file.gguf> [--json]`: what a GGUF model is, read from its header only.
import { InvalidArgumentError } from "../../errors/index.js";
import { describeGguf, formatGgufDescription } from "../../gguf/describe.js";
import type { CliIo } from "../io.js";
import { isAbsolute, resolve } from "node:path";
import { existsSync } from "node:fs";

const HELP = `usage: camelid inspect <file.gguf> [--json]

Prints a GGUF model's architecture, parameter count, context length, attention heads (MHA/GQA/MQA),
RoPE settings, tensor types, tokenizer, special tokens and chat template. Only the header is read.

options:
  --json    print the summary as JSON
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
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
  io.stdout(json ? `${JSON.stringify(description, null, 2)}\n` : formatGgufDescription(description));
  return 0;
}
