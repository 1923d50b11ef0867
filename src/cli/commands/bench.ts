import { InvalidArgumentError } from "../../errors/index.js";
import type { DecodeBenchmarkResult, Spread } from "../../providers/local/index.js";
import { numberFlag, parseCommandArgs } from "../args.js";
import type { CliIo } from "../io.js";
import { localModelFlagHelp, localModelFlagOptions, parseLocalModelFlags } from "../local-model-flags.js";

/** The local-model settings bench takes (the context is sized to the prompt and generation). */
const BENCH_SETTINGS = ["threads", "batchSize", "flashAttention"] as const;

const help = `usage: camelid bench <model.gguf> [options]

Prefill and decode tokens/s of a local GGUF model through camelid's local provider, over several
runs (min / median / max). Greedy decoding of a filler-text prompt; the prompt cache is off.

  --runs N                 measured runs after one warm-up (default 5)
  --prompt-tokens N        prompt length in tokens (default 128)
  --gen-tokens N           tokens to generate per run (default 128)
${localModelFlagHelp(BENCH_SETTINGS)}  --compare-raw            also measure node-llama-cpp's raw sequence API in the same runs, and the ratio
  --json                   print the result as JSON
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    runs: { type: "string" },
    "prompt-tokens": { type: "string" },
    "gen-tokens": { type: "string" },
    ...localModelFlagOptions(BENCH_SETTINGS),
    "compare-raw": { type: "boolean" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(help);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new InvalidArgumentError("model", positionals.length === 0 ? "bench needs a model: camelid bench <model.gguf>" : `unexpected argument "${positionals[1]}"`);
  }
  const runs = numberFlag(values.runs, "runs", { min: 1, max: 1000, integer: true });
  const promptTokens = numberFlag(values["prompt-tokens"], "prompt-tokens", { min: 2, max: 1 << 20, integer: true });
  const genTokens = numberFlag(values["gen-tokens"], "gen-tokens", { min: 2, max: 1 << 20, integer: true });
  const settings = parseLocalModelFlags(values, BENCH_SETTINGS);

  const { benchmarkDecode } = await import("../../providers/local/index.js");
  const result = await benchmarkDecode({
    modelPath: positionals[0],
    ...(runs !== undefined ? { runs } : {}),
    ...(promptTokens !== undefined ? { promptTokens } : {}),
    ...(genTokens !== undefined ? { genTokens } : {}),
    ...settings,
    compareRaw: Boolean(values["compare-raw"]),
    onProgress: (message) => {
      if (!values.json && io.isTTY) io.stderr(`\r${message}`);
    },
  });
  if (!values.json && io.isTTY) io.stderr("\r\x1b[K");
  io.stdout(values.json ? `${JSON.stringify(result, null, 2)}\n` : formatBenchResult(result));
  return 0;
}

const rate = (value: number) => value.toFixed(1).padStart(9);
const row = (label: string, s: Spread) => `${label.padEnd(26)}${rate(s.min)}${rate(s.median)}${rate(s.max)}\n`;

export function formatBenchResult(result: DecodeBenchmarkResult): string {
  const { settings } = result;
  let out =
    `model: ${result.modelPath}\n` +
    `prompt ${result.promptTokens} tokens, generate ${result.genTokens}, ${result.runs} runs; ` +
    `node-llama-cpp binary ${settings.binary}, threads ${settings.threads}, flash attention ${settings.flashAttention ? "on" : "off"}, context ${settings.contextSize}` +
    `${settings.batchSize ? `, batch ${settings.batchSize}` : ""}\n\n` +
    `${"tokens/s".padEnd(26)}${"min".padStart(9)}${"median".padStart(9)}${"max".padStart(9)}\n` +
    row("prefill (camelid)", result.provider.prefill) +
    row("decode  (camelid)", result.provider.decode) +
    row("per CPU-s (camelid)", result.provider.cpu);
  if (result.raw && result.ratio) {
    out +=
      row("prefill (node-llama-cpp)", result.raw.prefill) +
      row("decode  (node-llama-cpp)", result.raw.decode) +
      row("per CPU-s (node-llama-cpp)", result.raw.cpu) +
      `\nratio camelid / node-llama-cpp (medians): prefill ${result.ratio.prefill.toFixed(2)}x, decode ${result.ratio.decode.toFixed(2)}x, ` +
      `tokens per CPU-second ${result.ratio.cpu.toFixed(2)}x; median of per-run decode ratios ${result.ratio.pairedDecode.toFixed(2)}x\n`;
  }
  return out;
}
