// `camelid export-peft <run folder | adapter.gguf> -o <folder>`: a camelid (or any llama.cpp) LoRA
// adapter as a PEFT folder for transformers/PEFT users.
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { InvalidArgumentError } from "../../errors/index.js";
import { exportPeftAdapter } from "../../convert/lora/gguf-to-peft.js";
import { readRecipeFile, runFiles, writeAdapterFromCheckpoint } from "../../train/index.js";
import { parseCommandArgs } from "../args.js";
import type { CliIo } from "../io.js";

const HELP = `usage: camelid export-peft <run-folder | adapter.gguf> -o <folder> [--base base.gguf] [--base-model-id ID] [--from-checkpoint] [--overwrite]

Writes a LoRA adapter as a PEFT folder that PeftModel.from_pretrained(model, folder) loads onto the
Hugging Face LlamaForCausalLM of the same base: adapter_model.safetensors with PEFT's tensor names
(base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight …; lora_B of q_proj/k_proj put back in
Hugging Face's row order, undoing llama.cpp's RoPE permutation) and adapter_config.json (peft_type LORA,
task_type CAUSAL_LM, r, lora_alpha, target_modules, rank_pattern where ranks differ,
base_model_name_or_path). The exact inverse of camelid convert --lora.

The input is a camelid train run folder (its adapter.gguf, or its checkpoint.bin when the run has no
adapter yet or --from-checkpoint is given; the base model is the one its recipe.yaml names) or any
llama.cpp LoRA adapter GGUF of a LLaMA model (then --base is required).

options:
  -o, --out DIR          the PEFT folder to write
  --base FILE            the base model GGUF (head counts for the Q/K order, tensor shapes)
  --base-model-id ID     adapter_config.json's base_model_name_or_path, e.g. a Hub id (default: the
                         base GGUF's general.name)
  --from-checkpoint      a run folder's latest checkpoint.bin rather than its adapter.gguf
  --overwrite            replace an adapter already in the folder
`;

interface ResolvedInput {
  basePath: string;
  /** An adapter GGUF, or a run folder whose checkpoint becomes one. */
  adapterPath?: string;
  checkpointRun?: string;
}

/** A run folder → its adapter (or checkpoint) and the base model its recipe names; a file → itself. */
function resolveInput(input: string, options: { base?: string; fromCheckpoint: boolean }, cwd: string): ResolvedInput {
  const path = resolve(cwd, input);
  if (!existsSync(path)) throw new InvalidArgumentError("adapter", `no such file or folder: ${input}`);
  if (!statSync(path).isDirectory()) {
    if (!options.base) throw new InvalidArgumentError("base", "--base needs the base model GGUF the adapter was trained on");
    if (options.fromCheckpoint) throw new InvalidArgumentError("from-checkpoint", "--from-checkpoint takes a run folder, not an adapter file");
    return { adapterPath: path, basePath: resolve(cwd, options.base) };
  }
  const files = runFiles(path);
  const useCheckpoint = options.fromCheckpoint || !existsSync(files.adapter);
  if (useCheckpoint && !existsSync(files.checkpoint)) {
    throw new InvalidArgumentError("adapter", `${input} holds no ${options.fromCheckpoint ? "checkpoint.bin" : "adapter.gguf or checkpoint.bin"}: is it a camelid train run folder?`);
  }
  if (useCheckpoint && !existsSync(files.recipe)) throw new InvalidArgumentError("adapter", `${input} has a checkpoint but no recipe.yaml giving its LoRA shape`);
  const source = useCheckpoint ? { checkpointRun: path } : { adapterPath: files.adapter };
  if (options.base) return { ...source, basePath: resolve(cwd, options.base) };
  if (!existsSync(files.recipe)) throw new InvalidArgumentError("base", `${input} has no recipe.yaml naming its base model: give --base`);
  const model = readRecipeFile(files.recipe, { baseDir: path }).values.model;
  if (typeof model !== "string") throw new InvalidArgumentError("base", `${files.recipe} names no model: give --base`);
  return { ...source, basePath: isAbsolute(model) ? model : join(dirname(files.recipe), model) };
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    out: { type: "string", short: "o" },
    base: { type: "string" },
    "base-model-id": { type: "string" },
    overwrite: { type: "boolean" },
    "from-checkpoint": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new InvalidArgumentError("adapter", `expected one run folder or adapter GGUF, got ${positionals.length} (see camelid export-peft --help)`);
  if (!values.out) throw new InvalidArgumentError("out", "-o/--out needs the PEFT folder to write");
  const input = resolveInput(positionals[0], { ...(values.base ? { base: values.base } : {}), fromCheckpoint: values["from-checkpoint"] ?? false }, io.cwd);
  const { basePath } = input;
  if (!existsSync(basePath)) throw new InvalidArgumentError("base", `no such base model: ${basePath}`);
  const scratch = input.checkpointRun ? mkdtempSync(join(tmpdir(), "camelid-export-peft-")) : undefined;
  let result;
  try {
    let adapterPath = input.adapterPath!;
    if (input.checkpointRun) {
      adapterPath = join(scratch!, "adapter.gguf");
      const { step } = await writeAdapterFromCheckpoint(input.checkpointRun, basePath, adapterPath);
      io.stderr(`using ${join(input.checkpointRun, "checkpoint.bin")} (step ${step})\n`);
    }
    result = await exportPeftAdapter({
      adapterPath,
      basePath,
      outDir: resolve(io.cwd, values.out),
      overwrite: values.overwrite ?? false,
      ...(values["base-model-id"] ? { baseModelNameOrPath: values["base-model-id"] } : {}),
    });
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
  const pattern = Object.keys(result.rankPattern).length > 0 ? `, rank_pattern for ${Object.keys(result.rankPattern).length} modules` : "";
  io.stdout(`wrote ${result.outDir}: ${result.tensors} tensors, r ${result.rank}, lora_alpha ${result.alpha}, target_modules ${result.targetModules.join(", ")}${pattern}\n`);
  return 0;
}
