// `camelid convert --lora PEFT_FOLDER --base BASE.gguf -o adapter.gguf`: the --lora mode of camelid
// convert (kept in its own module; convert.ts only dispatches to it).
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { InvalidArgumentError } from "../../errors/index.js";
import { convertPeftToGguf, loraOutTypes, type LoraOutType } from "../../convert/lora/peft-to-gguf.js";
import { parseCommandArgs } from "../args.js";
import type { CliIo } from "../io.js";

export const CONVERT_LORA_HELP = `usage: camelid convert --lora <peft-folder> --base <base.gguf> -o <adapter.gguf> [--outtype f32|f16|q8_0]

Converts a PEFT LoRA adapter of a LlamaForCausalLM (adapter_config.json + adapter_model.safetensors, as
PEFT's save_pretrained writes it) into a llama.cpp LoRA adapter GGUF, byte for byte what llama.cpp's
convert_lora_to_gguf.py writes: the same tensors in the same order (blk.N.attn_q.weight.lora_a …), the
Q/K RoPE row permutation applied to lora_B of q_proj/k_proj, alpha in adapter.lora.alpha, the model
card's authorship metadata. Use it with camelid serve/chat --lora, or llama.cpp's --lora.

Adapted modules: q_proj k_proj v_proj o_proj gate_proj up_proj down_proj, lm_head (untied bases) and
embed_tokens. Refused by name: DoRA (use_dora), rsLoRA (use_rslora: llama.cpp scales by alpha/r),
modules_to_save, bias other than "none", lora_bias, alpha_pattern, non-LLaMA modules or bases.

options:
  --lora DIR       the PEFT adapter folder
  --base FILE      the base model GGUF (architecture, head counts, tensor shapes)
  -o, --out FILE   the adapter GGUF to write (written under a temporary name, renamed when complete)
  --outtype TYPE   f32 (default, as the script's), f16, or q8_0 (rows that are not whole Q8_0
                   blocks fall back to F16, as the script does)
`;

export async function runConvertLora(argv: string[], io: CliIo): Promise<number> {
  // before parsing: `--lora --help` would otherwise read --help as the folder
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout(CONVERT_LORA_HELP);
    return 0;
  }
  const { values, positionals } = parseCommandArgs(
    argv,
    { lora: { type: "string" }, base: { type: "string" }, out: { type: "string", short: "o" }, outtype: { type: "string" }, help: { type: "boolean", short: "h" } },
    true,
  );
  if (positionals.length > 0) throw new InvalidArgumentError("lora", `unexpected argument "${positionals[0]}": the adapter folder goes after --lora`);
  if (!values.lora) throw new InvalidArgumentError("lora", "--lora needs the PEFT adapter folder");
  if (!values.base) throw new InvalidArgumentError("base", "--base needs the base model GGUF the adapter was trained on");
  if (!values.out) throw new InvalidArgumentError("out", "-o/--out needs the adapter GGUF to write");
  const outType = values.outtype ?? "f32";
  if (!(loraOutTypes as readonly string[]).includes(outType)) throw new InvalidArgumentError("outtype", `--outtype must be one of ${loraOutTypes.join(", ")}, got "${outType}"`);
  const peftDir = resolve(io.cwd, values.lora);
  if (!existsSync(peftDir)) throw new InvalidArgumentError("lora", `no such folder: ${values.lora}`);
  const basePath = resolve(io.cwd, values.base);
  if (!existsSync(basePath)) throw new InvalidArgumentError("base", `no such file: ${values.base}`);
  const result = await convertPeftToGguf({ peftDir, basePath, outPath: resolve(io.cwd, values.out), outType: outType as LoraOutType });
  io.stdout(
    `wrote ${result.path}: ${result.tensors} tensors (${outType}), ${result.modules.join(", ")}, rank ${result.ranks.join("/")}, alpha ${result.alpha}, ${result.bytes} bytes\n`,
  );
  return 0;
}
