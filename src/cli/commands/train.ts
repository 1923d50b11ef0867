import { basename, resolve } from "node:path";
import type { EngineMemory } from "../../engine/index.js";
import { InvalidArgumentError, UnsupportedFeatureError } from "../../errors/index.js";
import { GgufReader, metadataString } from "../../gguf/index.js";
import { defaultCacheDir } from "../../hub/cache-layout.js";
import { resolvePromptFormat } from "../../prompts/index.js";
import { checkCreatedName, registerTrainedModel } from "../../registry/index.js";
import { readTrainingDataset, trainingDataFormats } from "../../train/dataset.js";
import { checkDpoSettings, defaultDpoSettings, dpoLossTypes, trainMethods, writePreferenceRecipe, type DpoLossType, type DpoSettings, type PreferenceMethod, type TrainMethod } from "../../train/export-preference-recipes.js";
import { recipeTargets, writeRecipe, type RecipeFiles, type RecipeSettings, type RecipeTarget } from "../../train/export-recipes.js";
import { readPreferencePairs } from "../../train/preference-rows.js";
import { flagLayer, readRecipeFile, resolveSettingsLayers, trainingFlagOptions, validateSettings, type MergedSettings, type SettingsLayer } from "../../train/recipe.js";
import { TrainingInterruptedError } from "../../train/errors.js";
import { dpoSettingsOf } from "../../train/train-config.js";
import { runFiles, runTraining, type TrainingRunHooks } from "../../train/run-training.js";
import { validationLine } from "../../train/training-loop.js";
import { checkRewardSettings, runRewardTraining, type RewardRunResult } from "../../train/reward/run-reward-training.js";
import { parseCommandArgs } from "../args.js";
import type { CliIo } from "../io.js";

const help = `usage: camelid train --model <base.gguf> --data <file> --out <dir> [options]
       camelid train --config <recipe.yaml> [options]
       camelid train --resume --out <dir>
       camelid train --export axolotl|trl --data <file> --out <dir> --base-model <hf-id> [options]
       camelid train --method dpo|reward --export axolotl|trl --data <pairs> --out <dir> --base-model <hf-id>

Fine-tunes a LLaMA GGUF with LoRA on the assistant's tokens only and writes <out>/adapter.gguf (llama.cpp's
format), serve.json (camelid serve --config <out>/serve.json serves the base model with it), metrics.jsonl,
loss.svg, checkpoint.bin, data-problems.jsonl (samples left out, with file:line), recipe.yaml (the run's
settings) and run.json; running.json while it trains and failed.json when it ends with an error (the
playground's Train tab shows runs in <data dir>/runs/<name> with their state, charts and outputs).

Recipe
  --config FILE, -c FILE    a YAML (or JSON) recipe: every setting flag below is a key, under its flag
                            name or its camelCase (grad-accum or gradAccum), for example
                              model: base.gguf
                              data: chats.jsonl
                              out: runs/first
                              lr: 1e-4
                              targets: [q, k, v, o]    # or "q,k,v,o"
                            flags given as well override its keys; relative paths are from the current
                            folder; an unknown key, a wrong type or a value out of range is refused with
                            the file, line and key. Every run saves its settings after defaults, recipe
                            and flags as <out>/recipe.yaml (and under "recipe" in run.json): --config
                            <out>/recipe.yaml repeats the run, and --resume --out <dir> reads them back
                            and refuses a flag or key that changes a setting the run trained with (all
                            but the model/data/out paths, --merged and --checkpoint-activations)

Data
  --data <file>             Alpaca JSON, ShareGPT or OpenAI messages (JSON array or JSONL)
  --data-format F           ${trainingDataFormats.join("|")} (default: detected)
  --prompt-format NAME      registry format (default: the model's template, its name, or chatml)
  --max-length N            tokens per sample (512); --truncation drop|truncate (drop)
  --on-mismatch skip|segments  a sample whose per-segment tokens differ from the whole text's (a token
                            across the prompt/reply boundary) is left out (skip) or trained on its
                            per-segment tokens, as generation sees them; reported either way
  --packing                 concatenate samples into full rows
  --val-fraction F          held-out conversations for validation (0.05)
LoRA and optimizer (defaults: r 8, alpha 16, dropout 0.05, q,k,v,o; AdamW lr 2e-4, betas 0.9/0.999,
eps 1e-8, weight decay 0.01; warmup 3% then cosine; clip 1.0)
  --rank N  --alpha A  --dropout P  --targets q,k,v,o,gate,up,down[,lm_head]
                            lm_head adds a LoRA branch on the output head (no dropout), written as
                            output.weight.lora_a/b (llama.cpp applies it to the output matmul, also when
                            the head is tied to the embedding); a tiny model whose base never predicted
                            EOS needs it to learn to stop
  --lr X  --beta1 B  --beta2 B  --eps E  --weight-decay W
  --warmup-steps N | --warmup-ratio R   --min-lr-ratio R   --clip-norm X
  --batch-size N (4)  --grad-accum N (1)  --epochs N (3) | --max-steps N
  --seed N (42)  --eval-every N (50)  --checkpoint-every N (50)
Memory (both off by default: fastest)
  --checkpoint-activations  keep only each layer's input and recompute its activations in backward
                            (same gradients; about one layer's activations instead of all, for one
                            extra forward pass)
  --keep-quantized          keep F16/Q8_0/Q4_0 base weights encoded and decode one matrix at a time
                            (base-weight memory about the file size instead of 8 bytes per weight)
Run
  --resume                  continue from <out>/checkpoint.bin after a kill (bit-identical result)
  --overwrite               replace the run already in --out (without it, or --resume, it is refused)
                            Ctrl-C/SIGTERM: the current step finishes, checkpoint, adapter, serve.json
                            and charts are written, and the exit status is 130/143; a second one exits
                            at once (the last checkpoint stays valid)
  --merged F32|F16|Q8_0     also write the merged model <out>/merged-<type>.gguf (every metadata key of
                            the base is kept: its chat template and special tokens)
  --register NAME           after training, record base + adapter + prompt format as the created model
                            NAME in the cache ($CAMELID_HOME): camelid serve --model NAME
  --export axolotl|trl      write <out>/train.jsonl and a ready recipe instead of training
  --base-model ID           the Hugging Face model the recipe starts from (with --export)
  --method sft|dpo|reward   what is trained (sft); dpo and reward read preference pairs (LLaMA-Factory
                            ranking, trl prompt/chosen/rejected or the arena's export). dpo trains here as
                            trl's DPOTrainer does: --batch-size pairs per batch, the reference is the base
                            model (the adapter disabled), LoRA dropout off (trl's disable_dropout), trl's
                            rewards/… and logps/… per step in metrics.jsonl; reward trains here a reward
                            model (LLaMA-2 §3.2.2: LoRA + a last-token scalar head, loss
                            −log σ(r_c − r_r − margin)), written to <out>/reward.gguf; camelid eval reward
                            scores with it; with --export, dpo and reward write trl's
                            DPOTrainer/RewardTrainer script or axolotl's rl: dpo / reward_model: true YAML
                            with the pairs in its layout
  --beta B (0.1)  --dpo-loss sigmoid|ipo (sigmoid)  --label-smoothing P (0)
                            DPO's settings, trl's DPOConfig beta/loss_type/label_smoothing (axolotl:
                            rl_beta, dpo_loss_type, dpo_label_smoothing); with --method dpo only; ipo
                            compares log-probs averaged over each answer's tokens, as trl does
  --json                    print the result as JSON
`;

const flags = {
  ...trainingFlagOptions(),
  model: { type: "string", short: "m" },
  out: { type: "string", short: "o" },
  config: { type: "string", short: "c" },
  register: { type: "string" },
  export: { type: "string" },
  "base-model": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new InvalidArgumentError(flag, `--${flag} must be one of ${allowed.join(", ")}, got "${value}"`);
  return value as T;
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, flags, false);
  if (values.help) {
    io.stdout(help);
    return 0;
  }
  void positionals;
  // defaults < the run's saved recipe (with --resume) < --config < flags
  const layers: SettingsLayer[] = [];
  if (values.config !== undefined) layers.push(readRecipeFile(resolve(io.cwd, values.config), { shownAs: values.config, baseDir: io.cwd }));
  layers.push(flagLayer(values, io.cwd));
  const settings = resolveSettingsLayers(layers, (outDir) => runFiles(outDir).recipe);

  const exportTarget = oneOf<RecipeTarget>(values.export, recipeTargets, "export");
  if (exportTarget) {
    // the training flags are text (trainingFlagOptions): string values, booleans for switches
    const text = values as Record<string, string | undefined>;
    const method = oneOf<TrainMethod>(text.method, trainMethods, "method") ?? "sft";
    return exportRecipe(exportTarget, method, dpoFlags(text, method), settings, values["base-model"], io, values.json ?? false);
  }

  const config = validateSettings(settings);
  // checked before the model loads (a resumed run takes them from its saved recipe)
  dpoSettingsOf(config);
  if (config.method === "reward") {
    if (values.register !== undefined) throw new InvalidArgumentError("register", "--register records a servable model; a reward model (--method reward) is not one: score with camelid eval reward");
    checkRewardSettings(config);
    const trained = await withTrainingHooks(io, (hooks) => runRewardTraining(config, hooks));
    if (typeof trained === "number") return trained;
    printRewardResult(trained.result, io, values.json ?? false);
    return interruptedExit(trained.signal, trained.result.summary, trained.result.totalSteps, "checkpoint, reward.gguf and charts", argv, io) ?? 0;
  }
  // A bad name is refused before the run, not after it.
  if (values.register !== undefined) checkCreatedName(values.register);
  const trained = await withTrainingHooks(io, (hooks) => runTraining(config, hooks));
  if (typeof trained === "number") return trained;
  const { result, signal } = trained;
  const registered =
    values.register === undefined || result.summary.stopped
      ? undefined
      : await registerTrainedModel(values.register, {
          basePath: config.modelPath,
          adapterPath: result.files.adapter,
          promptFormat: result.promptFormat,
          cacheDir: defaultCacheDir(io.env),
        });
  if (values.json) {
    io.stdout(`${JSON.stringify({ summary: result.summary, promptFormat: result.promptFormat, totalSteps: result.totalSteps, data: result.dataStats, problems: result.problems.length, files: result.files, ...(registered ? { registered: registered.name } : {}) }, null, 2)}\n`);
  } else {
    const validation = result.summary.validation;
    io.stdout(
      [
        `trained ${result.summary.steps - result.summary.startStep} step(s) of ${result.totalSteps} at ${Math.round(result.summary.tokensPerSecond)} tokens/s; final loss ${result.summary.finalLoss.toFixed(4)}`,
        memoryLine(result.summary.engineMemory, result.summary.peakRssBytes),
        ...(validation ? [validationLine(validation)] : []),
        `adapter: ${result.files.adapter}`,
        ...(result.files.merged ? [`merged model: ${result.files.merged}`] : []),
        `metrics: ${result.files.metrics}  chart: ${result.files.chart}`,
        ...(result.problems.length ? [`${result.problems.length} sample(s) left out: ${result.files.problems}`] : []),
        `serve it: ${registered ? `camelid serve --model ${registered.name} (registered)` : `camelid serve --config ${result.files.serveConfig}`}`,
        `chat with it: camelid chat --model ${config.modelPath} --lora ${result.files.adapter} --format ${result.promptFormat}`,
        "",
      ].join("\n"),
    );
  }
  return interruptedExit(signal, result.summary, result.totalSteps, "checkpoint, adapter, serve.json and charts", argv, io) ?? 0;
}

/**
 * Runs a training with the CLI's hooks: progress redrawn in place (a line every few seconds in a log),
 * log lines, and Ctrl-C/SIGTERM as a stop signal. Returns the exit status when a signal ended the run
 * before its first step, else the run's result.
 */
async function withTrainingHooks<Result>(io: CliIo, train: (hooks: TrainingRunHooks) => Promise<Result>): Promise<{ result: Result; signal: NodeJS.Signals | undefined } | number> {
  let lastDraw = 0;
  let pending = "";
  const stop = stopOnSignals(io);
  let result: Result;
  try {
    result = await train({
      stopSignal: stop.signal,
      onLog: (line) => io.stderr(`${io.isTTY && pending ? "\r\x1b[K" : ""}${line}\n`),
      onProgress: (line) => {
        // redraw in place on a terminal; in a log, one line every few seconds is enough
        const now = Date.now();
        pending = line;
        if (io.isTTY) {
          if (now - lastDraw > 100) io.stderr(`\r${line}\x1b[K`);
        } else if (now - lastDraw > 5000) io.stderr(`${line}\n`);
        else return;
        lastDraw = now;
      },
    });
  } catch (error) {
    // a signal before the first step: nothing was written, but the exit status still says why it ended
    const signal = stop.received();
    if (signal && error instanceof TrainingInterruptedError) {
      io.stderr(`camelid train: ${error.message}\n`);
      return signalExitCode(signal);
    }
    throw error;
  } finally {
    stop.dispose();
  }
  if (pending) io.stderr(io.isTTY ? `\r${pending}\x1b[K\n` : `${pending}\n`);
  return { result, signal: stop.received() };
}

/** After a run a signal stopped: says what was written and how to resume; returns 130/143. */
function interruptedExit(signal: NodeJS.Signals | undefined, summary: { stopped: boolean; steps: number }, totalSteps: number, written: string, argv: string[], io: CliIo): number | undefined {
  if (!signal || !summary.stopped) return undefined;
  const resumeArgs = [...argv.filter((arg) => arg !== "--overwrite" && arg !== "--resume"), "--resume"];
  io.stderr(
    `interrupted by ${signal} at step ${summary.steps} of ${totalSteps}: ${written} are written\n` +
      `resume with: camelid train ${resumeArgs.map(shellQuote).join(" ")}\n`,
  );
  return signalExitCode(signal);
}

function printRewardResult(result: RewardRunResult, io: CliIo, json: boolean): void {
  if (json) {
    io.stdout(`${JSON.stringify({ method: "reward", summary: result.summary, promptFormat: result.promptFormat, totalSteps: result.totalSteps, data: result.dataStats, problems: result.problems.length, files: result.files }, null, 2)}\n`);
    return;
  }
  const { summary } = result;
  const validation = summary.validation;
  io.stdout(
    [
      `trained a reward model ${summary.steps - summary.startStep} step(s) of ${result.totalSteps} at ${Math.round(summary.tokensPerSecond)} tokens/s; final loss ${summary.finalLoss.toFixed(4)}, pair accuracy ${summary.finalAccuracy.toFixed(3)}`,
      memoryLine(summary.engineMemory, summary.peakRssBytes),
      ...(validation ? [`validation (${validation.pairs} pairs): loss ${validation.loss.toFixed(4)}, pair accuracy ${validation.accuracy.toFixed(3)}, mean margin ${validation.margin.toFixed(4)}`] : []),
      `reward model: ${result.files.reward}`,
      `metrics: ${result.files.metrics}  chart: ${result.files.chart}`,
      ...(result.problems.length ? [`${result.problems.length} pair(s) left out: ${result.files.problems}`] : []),
      `score answers: camelid eval reward --model ${result.config.modelPath} --reward ${result.files.reward} --data <file>`,
      "",
    ].join("\n"),
  );
}

const signalNumbers: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15 };

/** The shell's convention: 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM). */
function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (signalNumbers[signal] ?? 0);
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}

/**
 * The first SIGINT/SIGTERM asks the run to stop after its current step (and write everything); a
 * second one exits at once: every file is written atomically, so the last checkpoint stays valid.
 */
function stopOnSignals(io: CliIo): { signal: AbortSignal; received(): NodeJS.Signals | undefined; dispose(): void } {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) process.exit(signalExitCode(signal));
    received = signal;
    io.stderr(`\n${signal}: finishing the current step, then writing the checkpoint and adapter (again to quit at once)\n`);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    received: () => received,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

const mebibytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** "memory: engine buffers … (base weights …, …); peak RSS …". */
function memoryLine(memory: EngineMemory, peakRssBytes: number): string {
  const parts = [`base weights ${mebibytes(memory.baseWeights)}`];
  if (memory.dequantScratch > 0) parts.push(`decode scratch ${mebibytes(memory.dequantScratch)}`);
  if (memory.kernelWeights > 0) parts.push(`packed for the kernels ${mebibytes(memory.kernelWeights)}`);
  parts.push(`activations ${mebibytes(memory.activations)}`, `gradient scratch ${mebibytes(memory.gradientScratch)}`, `LoRA ${mebibytes(memory.lora)}`);
  return `memory: engine buffers ${mebibytes(memory.total)} (${parts.join(", ")}); peak RSS ${mebibytes(peakRssBytes)}`;
}

function numberFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed)) throw new InvalidArgumentError(flag, `--${flag} must be a number, got "${value}"`);
  return parsed;
}

/** --beta, --dpo-loss and --label-smoothing: DPO's own settings, refused with any other method. */
function dpoFlags(values: { beta?: string; "dpo-loss"?: string; "label-smoothing"?: string }, method: TrainMethod): DpoSettings {
  const given = (["beta", "dpo-loss", "label-smoothing"] as const).filter((flag) => values[flag] !== undefined);
  if (method !== "dpo" && given.length > 0) throw new InvalidArgumentError(given[0], `--${given[0]} is a DPO setting: it needs --method dpo`);
  return checkDpoSettings({
    beta: numberFlag(values.beta, "beta") ?? defaultDpoSettings.beta,
    lossType: oneOf<DpoLossType>(values["dpo-loss"], dpoLossTypes, "dpo-loss") ?? defaultDpoSettings.lossType,
    labelSmoothing: numberFlag(values["label-smoothing"], "label-smoothing") ?? defaultDpoSettings.labelSmoothing,
  });
}

async function exportRecipe(target: RecipeTarget, method: TrainMethod, dpo: DpoSettings, settings: MergedSettings, baseModel: string | undefined, io: CliIo, json: boolean): Promise<number> {
  if (!baseModel) throw new InvalidArgumentError("base-model", `--export ${target} needs --base-model <hf model id or directory> for the recipe to start from`);
  const input = settings.input;
  let promptFormat = input.promptFormat as string | undefined;
  if (promptFormat === undefined) {
    if (input.modelPath === undefined) throw new InvalidArgumentError("prompt-format", "--export needs --prompt-format (or --model to take the format from)");
    const reader = await GgufReader.open(input.modelPath as string);
    try {
      const metadata = reader.metadata;
      promptFormat = resolvePromptFormat({
        chatTemplate: metadataString(metadata, "tokenizer.chat_template"),
        modelName: metadataString(metadata, "general.name") ?? basename(input.modelPath as string),
        architecture: metadataString(metadata, "general.architecture"),
      }).choice.name;
    } finally {
      await reader.close();
    }
  }
  const config = validateSettings(settings, { modelPath: "(recipe)", ...input, promptFormat });
  const recipeSettings: RecipeSettings & { outDir: string } = { ...config, baseModel, promptFormat };
  if (method !== "sft") return exportPreferenceRecipe(target, method, dpo, config.dataPath, recipeSettings, io, json);
  const dataset = readTrainingDataset(config.dataPath, config.dataFormat ? { format: config.dataFormat } : {});
  if (dataset.examples.length === 0) throw new InvalidArgumentError("data", `${config.dataPath}: no usable rows`);
  const files = writeRecipe(target, config.outDir, dataset.examples, recipeSettings);
  if (json) io.stdout(`${JSON.stringify({ ...files, examples: dataset.examples.length, problems: dataset.problems }, null, 2)}\n`);
  else {
    for (const problem of dataset.problems.slice(0, 5)) io.stderr(`skipped ${problem.file}:${problem.line}: ${problem.message}\n`);
    io.stdout(`wrote ${dataset.examples.length} conversations to ${files.dataset} and the ${target} recipe ${files.recipe}\nrun: ${files.command}\n`);
  }
  return 0;
}

/** The preference pairs (any layout readPreferencePairs reads) as a DPO or reward-model recipe. */
function exportPreferenceRecipe(target: RecipeTarget, method: PreferenceMethod, dpo: DpoSettings, dataPath: string, settings: RecipeSettings & { outDir: string }, io: CliIo, json: boolean): number {
  const read = readPreferencePairs(dataPath);
  const files: RecipeFiles = writePreferenceRecipe(target, method, settings.outDir, read.pairs, settings, dpo);
  if (json) io.stdout(`${JSON.stringify({ ...files, method, format: read.format, pairs: read.pairs.length, problems: read.problems, ...(method === "dpo" ? { dpo } : {}) }, null, 2)}\n`);
  else {
    for (const problem of read.problems.slice(0, 5)) io.stderr(`skipped ${problem.file}:${problem.line}: ${problem.message}\n`);
    const how = method === "dpo" ? ` (beta ${dpo.beta}, loss ${dpo.lossType}, label smoothing ${dpo.labelSmoothing})` : "";
    io.stdout(`wrote ${read.pairs.length} preference pairs (${read.format} layout) to ${files.dataset} and the ${target} ${method} recipe${how} ${files.recipe}\nrun: ${files.command}\n`);
  }
  return 0;
}
