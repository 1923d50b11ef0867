// `camelid convert HF_FOLDER -o OUT.gguf --type f32|f16|q8_0|q4_0`: a Hugging Face LLaMA checkpoint to
// GGUF, as llama.cpp's convert_hf_to_gguf.py writes it.
import { basename, resolve } from "node:path";
import { convertHfModel, OUTPUT_TYPES, type OutputType } from "../../convert/index.js";
import { InvalidArgumentError } from "../../errors/index.js";
import { formatBytes } from "../../gguf/describe.js";
import { parseCommandArgs } from "../args.js";
import { DownloadProgressView } from "../download-progress.js";
import type { CliIo } from "../io.js";
import { runConvertLora } from "./convert-lora.js";

const HELP = `usage: camelid convert <hf-folder> [-o OUT.gguf] [--type f32|f16|q8_0|q4_0] [options]
       camelid convert --lora <peft-folder> --base <base.gguf> -o <adapter.gguf>   (camelid convert --lora --help)

Converts a Hugging Face LlamaForCausalLM folder (config.json, model.safetensors or shards with
model.safetensors.index.json, tokenizer.model or tokenizer.json, tokenizer_config.json,
generation_config.json) to a GGUF that llama.cpp loads, as llama.cpp's convert_hf_to_gguf.py writes it:
tensor names, Q/K permutation for RoPE, grouped-query attention, RoPE theta and scaling (linear, yarn,
llama3 rope_freqs), tied embeddings, tokenizer.* metadata with special tokens and chat template, and
general.* metadata (name from the folder, size label, sampling defaults from generation_config.json).
Tensors are streamed one at a time; the file appears under its name only when complete.

options:
  -o, --output FILE   the GGUF to write (default <folder name>-<TYPE>.gguf in the current folder)
  --type TYPE         f32, f16 (default), q8_0 or q4_0. Norms and 1-D tensors stay F32, as the script
                      keeps them; q8_0/q4_0 rows that are not whole 32-blocks fall back to F16.
                      q4_0 is camelid's extension: the script has no q4_0 (llama-quantize would
                      also use K-quants for some tensors); every other matrix becomes Q4_0.
  --name NAME         general.name (default: the folder name as a title, as the script does)
  --json              print the result (path, bytes, parameters, tensors) as JSON
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  // the PEFT adapter mode has its own flags and module
  if (argv.some((arg) => arg === "--lora" || arg.startsWith("--lora="))) return runConvertLora(argv, io);
  const { values, positionals } = parseCommandArgs(argv, {
    output: { type: "string", short: "o" },
    type: { type: "string" },
    name: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new InvalidArgumentError("folder", `expected one Hugging Face model folder, got ${positionals.length} (see camelid convert --help)`);
  const outputType = (values.type ?? "f16").toLowerCase();
  if (!(OUTPUT_TYPES as readonly string[]).includes(outputType)) {
    throw new InvalidArgumentError("--type", `--type must be one of ${OUTPUT_TYPES.join(", ")}, got "${values.type}"`);
  }
  const folder = positionals[0];
  const output = values.output ?? resolve(`${basename(resolve(folder))}-${outputType.toUpperCase()}.gguf`);
  const progress = new DownloadProgressView(basename(output), io.stderr, { isTTY: io.isTTY });
  const result = await convertHfModel({
    folder,
    output,
    outputType: outputType as OutputType,
    ...(values.name !== undefined ? { name: values.name } : {}),
    onTensor: (event) => progress.update({ downloaded: event.bytesDone, total: event.bytesTotal, resumedFrom: 0 }),
  });
  progress.finish();
  for (const warning of result.warnings) io.stderr(`warning: ${warning}\n`);
  if (values.json) {
    io.stdout(`${JSON.stringify({ output: result.output, bytes: result.bytes, parameters: result.parameterCount, type: outputType, tensors: result.tensors }, null, 2)}\n`);
    return 0;
  }
  const types = new Map<string, number>();
  for (const tensor of result.tensors) types.set(tensor.type, (types.get(tensor.type) ?? 0) + 1);
  const typeSummary = [...types].map(([type, count]) => `${count} ${type}`).join(", ");
  io.stdout(`converted ${result.tensors.length} tensors (${typeSummary}), ${result.parameterCount.toLocaleString("en-US")} parameters → ${result.output} (${formatBytes(result.bytes, { exact: false })})\n`);
  return 0;
}
