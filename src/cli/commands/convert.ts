// `camelid convert`: models in from Hugging Face. This branch carries the --lora mode only; the
// checkpoint → GGUF mode joins it here.
import { InvalidArgumentError } from "../../errors/index.js";
import type { CliIo } from "../io.js";
import { CONVERT_LORA_HELP, runConvertLora } from "./convert-lora.js";

const HELP = `usage: camelid convert --lora <peft-folder> --base <base.gguf> -o <adapter.gguf>

${CONVERT_LORA_HELP.split("\n").slice(2).join("\n")}`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  if (argv.some((arg) => arg === "--lora" || arg.startsWith("--lora="))) return runConvertLora(argv, io);
  if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) {
    io.stdout(HELP);
    return argv.length === 0 ? 2 : 0;
  }
  throw new InvalidArgumentError("lora", "camelid convert: give --lora <peft-folder> (see camelid convert --help)");
}
