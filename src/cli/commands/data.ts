import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { AbortError, ConfigError, InvalidArgumentError } from "../../errors/index.js";
import { loadSeedTasks } from "../../datagen/alpaca/seed-tasks.js";
import { defaultDistillSettings, runDistill } from "../../datagen/distill/distill.js";
import { promptsFromFile } from "../../datagen/distill/prompts-file.js";
import { isPrepromptPlacement, prepromptFor, prepromptPlacements, readAnswerTemplates, readPreprompt, type ContextDistillation } from "../../datagen/distill/context-distillation.js";
import { contentHash, shortHash } from "../../hashing/content-hash.js";
import type { ItemStageSummary } from "../../datagen/run/item-stage.js";
import { defaultRefineSettings, runRefine } from "../../datagen/distill/refine.js";
import { defaultGattSettings, gattDialogues, runGatt } from "../../datagen/gatt/ghost-attention.js";
import { answerTotals, bestFile, defaultBestOfNSettings, pairsFile, runBestOfN, samplesFile } from "../../datagen/best-of-n/best-of-n.js";
import type { AnswerScorer } from "../../datagen/best-of-n/answer-scorer.js";
import { JudgeScorer } from "../../datagen/best-of-n/judge-scorer.js";
import { RewardModelScorer } from "../../datagen/best-of-n/reward-scorer.js";
import { LoadedRewardModel } from "../../train/reward/load-reward-model.js";
import { loadJudgePrompts } from "../../eval/data/judge-prompts.js";
import { LLM_JUDGE_MAX_TOKENS } from "../../eval/judge/run-judge.js";
import { InstructionFilter } from "../../datagen/filter/instruction-filter.js";
import { alpacaRules, type InstructionRules } from "../../datagen/filter/rules.js";
import { cleanConversations, dedupModes, fastChatBlockedWords, fastChatMessageOverhead, supportedScripts, type DedupMode, type TokenCounter } from "../../datagen/formats/clean.js";
import { NoUsableRowsError } from "../../datagen/formats/data-file-errors.js";
import { readRowsFile } from "../../datagen/formats/json-rows.js";
import { encodeDataset, readDataset, serializeRows, writeDataset } from "../../datagen/formats/dataset-io.js";
import { datasetFormats, type Dataset, type DatasetFormat } from "../../datagen/formats/records.js";
import { conversationGroup, splitRecords } from "../../datagen/formats/split.js";
import { computeStats, formatStats } from "../../datagen/formats/stats.js";
import { defaultAlpacaSettings, runAlpacaGeneration, type RunSummary } from "../../datagen/self-instruct/alpaca-generation.js";
import { defaultSelfInstructSettings, runSelfInstruct, selfInstructRules } from "../../datagen/self-instruct/self-instruct-pipeline.js";
import type { SelfInstructTemplates } from "../../datagen/self-instruct/templates.js";
import { priceTableSchema, type PriceTable } from "../../datagen/teacher/usage-meter.js";
import type { LanguageModel } from "../../spec/index.js";
import { numberFlag, parseCommandArgs } from "../args.js";
import type { CliIo } from "../io.js";
import { localModelFlagOptions, parseLocalModelFlags } from "../local-model-flags.js";
import { runSubcommand } from "../subcommands.js";
import { unescapeFlag } from "../model-flags.js";

const help = `usage: camelid data <subcommand> [options]

  self-instruct  generate instruction data from seed tasks with a teacher (Alpaca, or --method self-instruct)
  filter         run Alpaca's filters (length, blacklist, prefix, punctuation, ROUGE-L) on an existing file
  distill        ask a teacher for answers to prompts; --turns K adds follow-ups from a simulated user
  gatt           Ghost Attention data (LLaMA-2 §3.3): answers sampled with an instruction on every user turn
  best-of-n      rejection sampling (LLaMA-2 §3.2.3): K answers per prompt, scored by an LLM judge or a reward model, the best kept
  refine         fix generated texts with MiniGPT-4's fixing prompt, keeping both versions
  convert        between alpaca, sharegpt, openai, dolly and dpo files (JSON or JSONL)
  clean          FastChat-style cleaning: HTML→Markdown, roles, empties, duplicates, token-budget splits
  stats          counts, token length distributions and a histogram
  split          seeded train/validation/test split

Teacher (self-instruct, distill, gatt, best-of-n, refine): --model <file.gguf> [--ctx-size N --threads N]
  or --base-url <url> --remote-model <id> [--api completions|chat] [--api-key-env VAR] [--flavor F]
  (--api defaults to completions for self-instruct's raw prompts, chat for distill, gatt, best-of-n and refine)
Long runs show progress with an ETA, write append-only JSONL with atomic progress records, and resume
when run again with the same --out, flags and input files (a changed input is refused). Items whose
request failed are counted and retried by the next run with the same --out. "camelid data <subcommand> --help" for its options.
`;

/** The local-model settings a local teacher takes (names, bounds and messages from the settings schema). */
const TEACHER_SETTINGS = ["contextSize", "threads"] as const;

const teacherFlags = {
  model: { type: "string", short: "m" },
  "base-url": { type: "string" },
  "remote-model": { type: "string" },
  "api-key-env": { type: "string" },
  api: { type: "string" },
  flavor: { type: "string" },
  ...localModelFlagOptions(TEACHER_SETTINGS),
  concurrency: { type: "string" },
  retries: { type: "string" },
  prices: { type: "string" },
  "price-prompt": { type: "string" },
  "price-completion": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const helps: Record<string, string> = {
  "self-instruct": `usage: camelid data self-instruct --out <dir> <teacher> [options]
  --method alpaca|self-instruct   Alpaca's generate_instruction.py (default) or Self-Instruct's 4 steps
  --num <n>                 instructions to keep (default 100)
  --seed-tasks <file>       seed_tasks.jsonl (default ../shared/data/alpaca/seed_tasks.jsonl)
  --examples <n>            seed tasks per prompt (alpaca 3; self-instruct 8 with --machine-examples 2)
  --batch <n>               prompts per request batch (5)
  --temperature <t>  --top-p <p>  --max-tokens <n>  --stop <s> (repeatable)   the generation step's decoding:
                            alpaca 1.0, 1.0, 3072, "\\n20" "20."; self-instruct step 1: 0.7, 0.5, 1024,
                            "\\n\\n" "\\n16" "16." "16 ." (steps 2-3 always use the original's; changes are reported)
  --seed <n>                sampling seed (42): prompts' examples; self-instruct also step 4's instance sample
  --prompt-style completion|chat
  --similarity <f>          ROUGE-L rejection threshold (0.7)
  --give-up-after <n>       stop after n batches in a row with nothing parseable (5)
  --max-batches <n>         cap on request batches (self-instruct: step 1's; steps 2-4 run on what it kept)
  --exact-num               stop at exactly --num (both originals keep the whole last batch, so may pass it)
  --min-words <n> (3: rejects ≤ 3)  --max-words <n> (150)  --blacklist a,b,…  --forbidden-prefix <s> (repeatable)
  --concurrency <n>         requests in flight (default: one batch)   --retries <n> (5)
  --prices <file.json>      {"model-id": {"promptPerMillion": x, "completionPerMillion": y}}
  --price-prompt <usd/M> --price-completion <usd/M>   prices for this teacher
  A context-overflow error retries with max_tokens × 0.8, as the originals (alpaca: until it fits;
  self-instruct: at most 3 times, as gpt3_api.py)
 alpaca only:
  --prompt-file <file>      Alpaca's prompt.txt (default beside the seed tasks)
  --details full|none       similarity details on kept rows (full)
  --logit-bias <json>       the requests' logit_bias, e.g. '{"50256": -100}' (Alpaca's: bans
                            <|endoftext|> in GPT-2/3 vocabularies); remote teachers only, none by default
 self-instruct only:
  --machine-examples <n>    machine-generated instructions among --examples (2)
  --templates <file.json>   {"classification","inputFirst","outputFirst"} few-shot prompts (default: the
                            released clf_task_template.py / instance_gen_template.py, byte for byte)
 self-instruct writes 1-instructions/machine_generated_instructions.jsonl, 2-classification/
 is_clf_or_not_davinci_template_1.jsonl, 3-instances/machine_generated_instances.jsonl (the released
 scripts' names and fields) and all_generated_instances.jsonl (prepare_for_finetuning.py's output).
`,
  filter: `usage: camelid data filter --in <file> --out <kept.json> [--rejected <file.jsonl>] [--seed-tasks <file> | --no-seeds]
  --similarity <f> (0.7)  --details full|none  --max-words <n> (150)  --min-words <n> (3: rejects ≤ 3)
  --blacklist a,b,…  --forbidden-prefix <s> (repeatable)
`,
  distill: `usage: camelid data distill --prompts <file> --out <dir> <teacher> [options]
  --prompts: JSON/JSONL rows with prompt|instruction|question|text (Alpaca input appended), or any dataset
  --turns <k>               follow-up turns written by a simulated user (default 0)
  --user-model <file.gguf> | --user-base-url <url> --user-remote-model <id>   the simulated user (default: the teacher)
  --system <text>  --max-tokens <n> (1024)  --temperature <t> (0.7)  --limit <n>  --concurrency <n> (4)
  --api defaults to chat (the server applies the model's template). A conversation with a reply cut by
  --max-tokens goes to truncated.jsonl (the cut message marked "truncated": true), not conversations.jsonl.
  Failed prompts go to errors.jsonl, are counted, and the next run with the same --out retries them.
Context distillation (LLaMA-2 §4.2.4): answers made with a safety preprompt, stored without it.
  --preprompt <text>|@<file>   the preprompt; prefixed to the first user turn with a blank line between
                            (the paper's way); the stored conversation holds the prompt alone, and the row
                            records "context_distillation": {preprompt_sha256, placement, answer_template?}
  --preprompt-as prefix|system   prefix (default) or send it as the system message (before --system's text)
  --preprompt-if-category <a,b>  only prompts whose row's "category" or "kind" is one of these get it (the
                            paper preprompts adversarial prompts only: --preprompt-if-category adversarial);
                            default: every prompt
  --answer-templates <file.json>  {"<category>": "<template>"}: appended to the preprompt (blank line between)
                            for prompts of that category, as the paper's answer templates
  The preprompt and the templates are part of the run's input: a resume with other ones is refused.
`,
  gatt: `usage: camelid data gatt --in <dialogues> --out <dir> (--instruction <text> | --instructions <file>) <teacher> [options]
  Ghost Attention (LLaMA-2 §3.3). --in: multi-turn dialogues (ShareGPT, OpenAI messages, …; JSON or JSONL);
  their user turns are kept, their answers resampled. The teacher answers turn by turn, each answer
  conditioned on the ones sampled before, with "inst + u_i" (the instruction, a blank line, the user turn)
  as every user turn. conversations.jsonl holds the training samples: the instruction in the first user
  turn only, and "weight": 0 on every assistant message but the last, so that camelid train puts loss on
  the last answer only (the paper zeroes the loss of all previous turns). The row's "gatt" field names
  the instruction.
  --instruction <text>      the instruction every dialogue holds
  --instructions <file>     one instruction per line; each dialogue draws one (uniform, --seed, default 0)
  --max-tokens <n> (1024)  --temperature <t> (0.7)  --limit <n>  --concurrency <n> (4)
  A dialogue whose answer is cut by --max-tokens ends there and goes to truncated.jsonl. Failed
  dialogues go to errors.jsonl, are counted, and the next run with the same --out retries them.
`,
  "best-of-n": `usage: camelid data best-of-n --prompts <file> --out <dir> <teacher> (<judge> --judge-prompts <file> | --reward-model <reward.gguf> --reward-base <base.gguf>) [options]
  Rejection sampling (LLaMA-2 §3.2.3). --prompts: as distill reads them (prompt|instruction|question|text,
  MT-bench turns[0], a first user message). Each prompt gets K answers from the teacher, answer k sampled
  with seed --seed + k; each answer is graded by an LLM judge with FastChat's single-answer prompt
  ("[[rating]]", read as llm_judge reads it). best.jsonl holds the best answer per prompt (ShareGPT rows,
  for camelid train); samples.jsonl every answer with its score or why it has none. A tie goes to the
  answer sampled first. An empty answer, one cut by --max-tokens, or one the judge gave no rating are
  counted and take no part; a prompt with no scored answer is counted and kept nowhere. A teacher or judge
  call that fails after --retries fails its prompt (errors.jsonl); the next run with the same --out retries it.
  -n, --num-samples <k> (4)   answers per prompt
  --temperature <t> (1.0)     LLaMA-2 samples at higher temperatures for diversity
  --seed <n> (0)  --max-tokens <n> (1024)  --limit <n>  --concurrency <n> (2 prompts; their K answers in parallel)
  --pairs                     also write pairs.jsonl: best as chosen, worst as rejected (trl prompt/chosen/
                              rejected, for camelid train --method dpo); a prompt with fewer than 2 scored
                              answers (or best = worst) is counted "no-pair" and has none
 Judge: --judge-model <file.gguf> or --judge-base-url <url> --judge-remote-model <id> [--judge-api chat|completions]
  [--judge-api-key-env VAR] [--judge-flavor F]; --judge-prompts <judge_prompts.jsonl> (FastChat's)
  --judge-prompt <name> (single-v1)  --judge-max-tokens <n> (2048)  --judge-temperature <t> (0), as llm_judge
  The judge, its prompt and the prompts are part of the run's input: a resume with other ones is refused.
 Reward model instead of a judge: --reward-model <reward.gguf> --reward-base <base.gguf> (camelid train
  --method reward's model and the base it was trained on): each answer is rendered after the prompt in the
  reward model's prompt format and scored on its last token, as LLaMA-2 §3.2.3 scores its samples; an answer
  it cannot tokenize (or longer than the context) is unscored. No --judge-* flag goes with it. The reward
  file is part of the run's input: a resume with another one is refused.
`,
  refine: `usage: camelid data refine --in <file> --out <dir> <teacher> [--fix-prompt <text> | --fix-prompt-file <file>] [--roles assistant,user]
`,
  convert: `usage: camelid data convert --in <file> --out <file> --to ${datasetFormats.join("|")} [--from <format>] [--strict]
  .jsonl output writes one row per line; anything else a JSON array.
  Lossless within a format (Alpaca input, ids, extra fields, system messages in place, content parts,
  tool calls); across formats ids and extra fields are kept, and what the target cannot hold is reported.
  --strict                  a malformed row or a record the target cannot hold is an error
  A file that is not UTF-8, truncated JSON, one object instead of rows or has no usable row is an error.
`,
  clean: `usage: camelid data clean --in <file> --out <file> [--from <format>] [--to <format> (sharegpt)] [--strict]
  FastChat's clean_sharegpt.py by default: leading non-user / trailing user turn dropped, out-of-order
  roles dropped, ChatGPT HTML → Markdown (markdownify's output, then FastChat's code-header and noise
  rules; code is never changed), blocked words, FastChat's de-duplication.
  --no-html                 keep HTML as is
  --blocked-words a,b|none  drop conversations containing any of these, any case (default: openai,chatgpt)
  --dedup fastchat|exact|none   fastchat (default): repeated id, or same second message and length;
                            exact: identical conversations only   (--keep-duplicates = --dedup none)
  --near-duplicates <f>     also drop conversations with ROUGE-L F1 > f against a kept one (e.g. 0.9)
  --script ${supportedScripts.join("|")}   keep conversations whose letters are mostly in this script (--script-share 0.8)
  --max-tokens <n> --tokenizer <file.gguf>   split longer conversations at turn pairs (split_long_conversation.py)
  --message-overhead <n>    tokens counted per message on top of its text when splitting (FastChat: 6)
`,
  stats: `usage: camelid data stats --in <file> [--from <format>] [--tokenizer <file.gguf>] [--json] [--strict]
  Without --tokenizer, token counts are an estimate (characters / 4) and labelled so.
`,
  split: `usage: camelid data split --in <file> --out-dir <dir> [--ratios train=0.9,validation=0.05,test=0.05] [--seed 0] [--to <format>] [--strict]
`,
};

export async function run(argv: string[], io: CliIo): Promise<number> {
  return runSubcommand("data", argv, io, { help, helps, handlers: { "self-instruct": selfInstruct, filter, distill, gatt, "best-of-n": bestOfN, refine, convert, clean, stats, split } });
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

function requireString(values: Values, flag: string): string {
  const value = values[flag];
  if (typeof value !== "string" || value === "") throw new InvalidArgumentError(flag, `--${flag} is required`);
  return value;
}

/** The composition root's one job here: flags → a LanguageModel (datagen never builds providers). */
async function createModel(values: Values, io: CliIo, defaultApi: "chat" | "completions", prefix = ""): Promise<LanguageModel> {
  const modelPath = values[`${prefix}model`] as string | undefined;
  const baseURL = values[`${prefix}base-url`] as string | undefined;
  if (modelPath && baseURL) throw new InvalidArgumentError(`${prefix}model`, `give either --${prefix}model or --${prefix}base-url, not both`);
  if (baseURL) {
    const remoteModel = values[`${prefix}remote-model`] as string | undefined;
    if (!remoteModel) throw new InvalidArgumentError(`${prefix}remote-model`, `--${prefix}base-url needs --${prefix}remote-model <id>`);
    const api = (values[`${prefix}api`] as string | undefined) ?? defaultApi;
    if (api !== "chat" && api !== "completions") throw new InvalidArgumentError(`${prefix}api`, `--${prefix}api must be chat or completions, got "${api}"`);
    const keyVariable = (values[`${prefix}api-key-env`] as string | undefined) ?? "OPENAI_API_KEY";
    const flavor = values[`${prefix}flavor`] as string | undefined;
    const { createOpenAICompatibleModel } = await import("../../providers/openai/index.js");
    // Retries belong to the datagen run (it counts them and honours Retry-After), not the provider.
    return createOpenAICompatibleModel({ baseURL, apiKey: io.env[keyVariable], model: remoteModel, api, maxRetries: 0, ...(flavor ? { flavor: flavor as never } : {}) });
  }
  if (!modelPath) throw new InvalidArgumentError(`${prefix}model`, `no teacher: use --${prefix}model <file.gguf> or --${prefix}base-url <url> --${prefix}remote-model <id>`);
  const settings = parseLocalModelFlags(values, TEACHER_SETTINGS, prefix);
  const { createLocalModel } = await import("../../providers/local/index.js");
  return createLocalModel({ modelPath: resolve(io.cwd, modelPath), ...settings });
}

function loadPrices(values: Values, io: CliIo, modelId: () => string): PriceTable {
  let prices: PriceTable = {};
  const file = values.prices as string | undefined;
  if (file) {
    try {
      prices = priceTableSchema.parse(JSON.parse(readFileSync(resolve(io.cwd, file), "utf8")));
    } catch (error) {
      const detail = error instanceof z.ZodError ? `${error.issues[0].path.join(".")}: ${error.issues[0].message}` : (error as Error).message;
      throw new ConfigError(`--prices ${file}: ${detail}`);
    }
  }
  const prompt = numberFlag(values["price-prompt"], "price-prompt", { min: 0 });
  const completion = numberFlag(values["price-completion"], "price-completion", { min: 0 });
  if (prompt !== undefined || completion !== undefined) prices = { ...prices, [modelId()]: { promptPerMillion: prompt ?? 0, completionPerMillion: completion ?? 0 } };
  return prices;
}

/**
 * Ctrl-C stops a long run between commits: everything committed stays, in-flight requests are
 * abandoned and redone on resume. The listener lives only as long as the run.
 */
async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onInterrupt = () => controller.abort(new AbortError("interrupted: every committed row is saved; run the same command again to resume"));
  process.once("SIGINT", onInterrupt);
  try {
    return await work(controller.signal);
  } finally {
    process.removeListener("SIGINT", onInterrupt);
  }
}

function runOptions(values: Values, io: CliIo) {
  const retries = numberFlag(values.retries, "retries", { min: 0, max: 20, integer: true });
  return {
    concurrency: numberFlag(values.concurrency, "concurrency", { min: 1, max: 256, integer: true }),
    retry: { maxRetries: retries ?? 5, baseDelayMs: 1000, maxDelayMs: 60_000 },
    progress: values.json ? undefined : { write: io.stderr, isTTY: io.isTTY },
  };
}

function defaultSharedFile(io: CliIo, name: string): string {
  for (const base of [io.cwd, resolve(io.cwd, "..")]) {
    const candidate = join(base, "..", "shared", "data", "alpaca", name);
    if (existsSync(candidate)) return candidate;
  }
  return resolve(io.cwd, "../shared/data/alpaca", name);
}

function reportSummary(summary: object & { message?: string; departures?: string[] }, values: Values, io: CliIo): void {
  if (values.json) io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
  else io.stdout(`${summary.message ?? ""}\n${(summary.departures ?? []).map((d) => `differs from the original: ${d}\n`).join("")}${JSON.stringify(summary, null, 2)}\n`);
}

async function selfInstruct(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    ...teacherFlags,
    out: { type: "string", short: "o" },
    method: { type: "string" },
    num: { type: "string" },
    "seed-tasks": { type: "string" },
    "prompt-file": { type: "string" },
    examples: { type: "string" },
    "machine-examples": { type: "string" },
    batch: { type: "string" },
    temperature: { type: "string" },
    "top-p": { type: "string" },
    "max-tokens": { type: "string" },
    stop: { type: "string", multiple: true },
    seed: { type: "string" },
    "prompt-style": { type: "string" },
    similarity: { type: "string" },
    details: { type: "string" },
    "give-up-after": { type: "string" },
    "max-batches": { type: "string" },
    "min-words": { type: "string" },
    "max-words": { type: "string" },
    blacklist: { type: "string" },
    "forbidden-prefix": { type: "string", multiple: true },
    templates: { type: "string" },
    "exact-num": { type: "boolean" },
    "logit-bias": { type: "string" },
  }, false);
  const out = resolve(io.cwd, requireString(values, "out"));
  const method = (values.method as string | undefined) ?? "alpaca";
  if (method !== "alpaca" && method !== "self-instruct") throw new InvalidArgumentError("method", `--method must be alpaca or self-instruct, got "${method}"`);
  refuseOtherMethodsFlags(values, method);
  const promptStyle = (values["prompt-style"] as string | undefined) ?? "completion";
  if (promptStyle !== "completion" && promptStyle !== "chat") throw new InvalidArgumentError("prompt-style", `--prompt-style must be completion or chat`);
  const details = (values.details as string | undefined) ?? "full";
  if (details !== "full" && details !== "none") throw new InvalidArgumentError("details", "--details must be full or none");
  const seedsPath = values["seed-tasks"] ? resolve(io.cwd, values["seed-tasks"] as string) : defaultSharedFile(io, "seed_tasks.jsonl");
  if (!existsSync(seedsPath)) throw new InvalidArgumentError("seed-tasks", `seed tasks not found at ${seedsPath}: pass --seed-tasks <file>`);
  const seeds = await loadSeedTasks(seedsPath);
  const num = numberFlag(values.num, "num", { min: 1, integer: true }) ?? 100;
  const similarity = numberFlag(values.similarity, "similarity", { min: 0.01, max: 1 }) ?? 0.7;
  const giveUp = numberFlag(values["give-up-after"], "give-up-after", { min: 1, integer: true }) ?? 5;
  const batch = numberFlag(values.batch, "batch", { min: 1, max: 100, integer: true });
  const seed = numberFlag(values.seed, "seed", { integer: true }) ?? 42;
  const logitBias = values["logit-bias"] === undefined ? undefined : parseLogitBias(values, method);
  const teacher = await createModel(values, io, "completions");
  const prices = loadPrices(values, io, () => teacher.modelId);
  const options = runOptions(values, io);
  try {
    let summary: RunSummary;
    if (method === "alpaca") {
      const promptPath = values["prompt-file"] ? resolve(io.cwd, values["prompt-file"] as string) : join(seedsPath, "..", "prompt.txt");
      if (!existsSync(promptPath)) throw new InvalidArgumentError("prompt-file", `prompt template not found at ${promptPath}: pass --prompt-file <prompt.txt>`);
      const examples = numberFlag(values.examples, "examples", { min: 1, max: seeds.length, integer: true }) ?? defaultAlpacaSettings.examplesPerPrompt;
      summary = await interruptible((signal) => runAlpacaGeneration({
        signal,
        teacher,
        seeds,
        template: readFileSync(promptPath, "utf8"),
        settings: {
          ...defaultAlpacaSettings,
          target: num,
          examplesPerPrompt: examples,
          promptsPerBatch: batch ?? defaultAlpacaSettings.promptsPerBatch,
          temperature: numberFlag(values.temperature, "temperature", { min: 0, max: 2 }) ?? defaultAlpacaSettings.temperature,
          topP: numberFlag(values["top-p"], "top-p", { min: 0, max: 1 }) ?? defaultAlpacaSettings.topP,
          maxTokens: numberFlag(values["max-tokens"], "max-tokens", { min: 1, integer: true }) ?? defaultAlpacaSettings.maxTokens,
          stop: (values.stop as string[] | undefined)?.map(unescapeFlag) ?? defaultAlpacaSettings.stop,
          seed,
          promptStyle,
          filter: { similarityThreshold: similarity, details, rules: rulesFromFlags(values, alpacaRules) },
          giveUpAfterEmptyBatches: giveUp,
          maxBatches: numberFlag(values["max-batches"], "max-batches", { min: 1, integer: true }) ?? 0,
          exactTarget: Boolean(values["exact-num"]),
          ...(logitBias ? { logitBias } : {}),
        },
        outputDirectory: out,
        prices,
        ...options,
      }));
    } else {
      const stop = (values.stop as string[] | undefined)?.map(unescapeFlag);
      summary = await interruptible((signal) => runSelfInstruct({
        signal,
        teacher,
        seeds,
        settings: {
          ...defaultSelfInstructSettings,
          target: num,
          promptInstructions: numberFlag(values.examples, "examples", { min: 1, integer: true }) ?? defaultSelfInstructSettings.promptInstructions,
          machineInstructions: numberFlag(values["machine-examples"], "machine-examples", { min: 0, integer: true }) ?? defaultSelfInstructSettings.machineInstructions,
          promptsPerBatch: batch ?? defaultSelfInstructSettings.promptsPerBatch,
          seed,
          similarityThreshold: similarity,
          rules: rulesFromFlags(values, selfInstructRules),
          promptStyle,
          giveUpAfterEmptyBatches: giveUp,
          temperature: numberFlag(values.temperature, "temperature", { min: 0, max: 2 }) ?? defaultSelfInstructSettings.temperature,
          topP: numberFlag(values["top-p"], "top-p", { min: 0, max: 1 }) ?? defaultSelfInstructSettings.topP,
          maxTokens: numberFlag(values["max-tokens"], "max-tokens", { min: 1, integer: true }) ?? defaultSelfInstructSettings.maxTokens,
          stop: stop ?? defaultSelfInstructSettings.stop,
          maxBatches: numberFlag(values["max-batches"], "max-batches", { min: 1, integer: true }) ?? 0,
          exactTarget: Boolean(values["exact-num"]),
        },
        templates: values.templates ? loadTemplates(resolve(io.cwd, values.templates as string)) : undefined,
        outputDirectory: out,
        prices,
        ...options,
      }));
    }
    reportSummary(summary, values, io);
    return summary.stopReason === "target-reached" && summary.retryPending === 0 ? 0 : 1;
  } finally {
    await teacher.dispose?.();
  }
}

const logitBiasSchema = z.record(z.string().regex(/^\d+$/, "keys are token ids"), z.number().min(-100).max(100));

/** --logit-bias '{"50256": -100}': token id → bias, sent as is (the ids belong to the teacher's vocabulary). */
function parseLogitBias(values: Values, method: string): Record<string, number> {
  if (method !== "alpaca") throw new InvalidArgumentError("logit-bias", "--logit-bias applies to --method alpaca");
  if (!values["base-url"]) throw new InvalidArgumentError("logit-bias", "--logit-bias is sent to remote teachers (--base-url): a local --model teacher cannot take it");
  try {
    return logitBiasSchema.parse(JSON.parse(values["logit-bias"] as string));
  } catch (error) {
    const detail = error instanceof z.ZodError ? `${error.issues[0].path.join(".") || "value"}: ${error.issues[0].message}` : (error as Error).message;
    throw new InvalidArgumentError("logit-bias", `--logit-bias must be a JSON object of token id → bias in [-100, 100], like '{"50256": -100}' (${detail})`);
  }
}

/** Flags that only one --method reads: given to the other, they are refused rather than silently ignored. */
const methodOnlyFlags: Record<"alpaca" | "self-instruct", string[]> = {
  alpaca: ["prompt-file", "details", "logit-bias"],
  "self-instruct": ["templates", "machine-examples"],
};

function refuseOtherMethodsFlags(values: Values, method: "alpaca" | "self-instruct"): void {
  const other = method === "alpaca" ? "self-instruct" : "alpaca";
  const given = methodOnlyFlags[other].filter((flag) => values[flag] !== undefined);
  if (given.length > 0) {
    throw new InvalidArgumentError(given[0], `--${given.join(", --")} ${given.length > 1 ? "apply" : "applies"} only to --method ${other}, not ${method}`);
  }
}

/** --min-words / --max-words / --blacklist a,b,c / --forbidden-prefix: every filter rule is a flag. */
function rulesFromFlags(values: Values, defaults: InstructionRules): InstructionRules {
  const blacklist = values.blacklist as string | undefined;
  const prefixes = values["forbidden-prefix"] as string[] | undefined;
  return {
    minWordsExclusive: numberFlag(values["min-words"], "min-words", { min: 0, integer: true }) ?? defaults.minWordsExclusive,
    maxWords: numberFlag(values["max-words"], "max-words", { min: 1, integer: true }) ?? defaults.maxWords,
    blacklist: blacklist === undefined ? defaults.blacklist : blacklist.split(",").map((w) => w.trim()).filter(Boolean),
    forbiddenPrefixes: prefixes ?? defaults.forbiddenPrefixes,
  };
}

const templatesSchema = z.object({ classification: z.string().min(1), inputFirst: z.string().min(1), outputFirst: z.string().min(1) }).strict();

function loadTemplates(path: string): SelfInstructTemplates {
  try {
    return templatesSchema.parse(JSON.parse(readFileSync(path, "utf8")));
  } catch (error) {
    const detail = error instanceof z.ZodError ? `${error.issues[0].path.join(".") || "file"}: ${error.issues[0].message}` : (error as Error).message;
    throw new ConfigError(`--templates ${path}: ${detail} (expected {"classification", "inputFirst", "outputFirst"} strings)`);
  }
}

async function filter(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    in: { type: "string", short: "i" },
    out: { type: "string", short: "o" },
    rejected: { type: "string" },
    "seed-tasks": { type: "string" },
    "no-seeds": { type: "boolean" },
    similarity: { type: "string" },
    details: { type: "string" },
    "max-words": { type: "string" },
    "min-words": { type: "string" },
    blacklist: { type: "string" },
    "forbidden-prefix": { type: "string", multiple: true },
    json: { type: "boolean" },
  }, false);
  const input = resolve(io.cwd, requireString(values, "in"));
  const out = resolve(io.cwd, requireString(values, "out"));
  const details = (values.details as string | undefined) ?? "full";
  if (details !== "full" && details !== "none") throw new InvalidArgumentError("details", "--details must be full or none");
  let seeds: string[] = [];
  if (!values["no-seeds"]) {
    const seedsPath = values["seed-tasks"] ? resolve(io.cwd, values["seed-tasks"] as string) : defaultSharedFile(io, "seed_tasks.jsonl");
    if (!existsSync(seedsPath)) throw new InvalidArgumentError("seed-tasks", `seed tasks not found at ${seedsPath}: pass --seed-tasks <file> or --no-seeds`);
    seeds = (await loadSeedTasks(seedsPath)).map((s) => s.instruction);
  }
  const { rows } = readRowsFile(input, "in");
  const instructionFilter = new InstructionFilter(seeds, {
    similarityThreshold: numberFlag(values.similarity, "similarity", { min: 0.01, max: 1 }) ?? 0.7,
    details,
    rules: rulesFromFlags(values, alpacaRules),
  });
  const kept: unknown[] = [];
  const rejected: unknown[] = [];
  const counts: Record<string, number> = {};
  const started = performance.now();
  for (const row of rows) {
    const instruction = (row.value as { instruction?: unknown } | undefined)?.instruction;
    if (typeof instruction !== "string") {
      counts.malformed = (counts.malformed ?? 0) + 1;
      rejected.push({ line: row.line, reason: "malformed", detail: row.error ?? "no string field \"instruction\"" });
      continue;
    }
    const decision = instructionFilter.consider(instruction);
    const key = decision.kept ? "kept" : decision.rejection.reason;
    counts[key] = (counts[key] ?? 0) + 1;
    if (decision.kept) kept.push({ ...(row.value as object), ...decision.details });
    else rejected.push({ line: row.line, instruction, reason: decision.rejection.reason, detail: decision.rejection.detail });
  }
  if (counts.malformed === rows.length) throw new NoUsableRowsError("in", input, `none of its ${rows.length} rows has a string "instruction"`);
  writeFileSync(out, serializeRows(kept, out));
  if (values.rejected) writeFileSync(resolve(io.cwd, values.rejected as string), serializeRows(rejected, ".jsonl"));
  const summary = { input: rows.length, kept: kept.length, counts, seconds: (performance.now() - started) / 1000 };
  io.stdout(values.json ? `${JSON.stringify(summary, null, 2)}\n` : `kept ${kept.length} of ${rows.length} in ${summary.seconds.toFixed(2)} s: ${JSON.stringify(counts)}\n`);
  return 0;
}

async function distill(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    ...teacherFlags,
    prompts: { type: "string" },
    out: { type: "string", short: "o" },
    turns: { type: "string" },
    system: { type: "string" },
    "max-tokens": { type: "string" },
    temperature: { type: "string" },
    limit: { type: "string" },
    "user-model": { type: "string" },
    "user-base-url": { type: "string" },
    "user-remote-model": { type: "string" },
    "user-api": { type: "string" },
    "user-api-key-env": { type: "string" },
    preprompt: { type: "string" },
    "preprompt-as": { type: "string" },
    "preprompt-if-category": { type: "string", multiple: true },
    "answer-templates": { type: "string" },
  }, false);
  const contextDistillation = contextDistillationFromFlags(values, io);
  const { prompts } = readPrompts(values, io);
  const out = resolve(io.cwd, requireString(values, "out"));
  // Distillation sends conversations: the chat API lets any server (camelid serve, vLLM, OpenAI) apply the model's template.
  const teacher = await createModel(values, io, "chat");
  const user = values["user-model"] || values["user-base-url"] ? await createModel(values, io, "chat", "user-") : undefined;
  try {
    const summary = await interruptible((signal) => runDistill({
      signal,
      teacher,
      user,
      prompts,
      ...(contextDistillation ? { contextDistillation } : {}),
      settings: {
        ...defaultDistillSettings,
        followUps: numberFlag(values.turns, "turns", { min: 0, max: 50, integer: true }) ?? 0,
        ...(values.system ? { system: values.system as string } : {}),
        teacherSampling: answerSampling(values),
      },
      outputDirectory: out,
      prices: loadPrices(values, io, () => teacher.modelId),
      ...runOptions(values, io),
    }));
    writeFileSync(join(out, "summary.json"), JSON.stringify(summary, null, 2));
    const truncated = summary.counts.truncated ?? 0;
    const complete = summary.done - truncated - (summary.counts["empty-reply"] ?? 0);
    const distilled = contextDistillation ? contextDistillationSummary(contextDistillation, prompts) : undefined;
    const message = `distilled ${complete} of ${summary.total} prompts into ${join(out, "conversations.jsonl")}${truncatedNote(summary, out)}${failedNote(summary)}`;
    reportSummary({ message: distilled ? `${message}\n${distilled.message}` : message, ...summary, ...(distilled ? { contextDistillation: distilled.record } : {}) }, values, io);
    return summary.failed > 0 ? 1 : 0;
  } finally {
    await teacher.dispose?.();
    await user?.dispose?.();
  }
}

async function gatt(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    ...teacherFlags,
    in: { type: "string", short: "i" },
    from: { type: "string" },
    out: { type: "string", short: "o" },
    instruction: { type: "string" },
    instructions: { type: "string" },
    seed: { type: "string" },
    "max-tokens": { type: "string" },
    temperature: { type: "string" },
    limit: { type: "string" },
    strict: { type: "boolean" },
  }, false);
  const instructions = gattInstructions(values, io);
  const seed = numberFlag(values.seed, "seed", { integer: true }) ?? defaultGattSettings.seed;
  const dataset = readInput(values, io);
  if (dataset.kind !== "conversations") throw new InvalidArgumentError("in", "gatt works on dialogues, not preference pairs");
  const { dialogues: all, problems } = gattDialogues(dataset.records, instructions, seed);
  for (const problem of problems.slice(0, 20)) io.stderr(`skipped ${problem}\n`);
  if (all.length === 0) throw new NoUsableRowsError("in", requireString(values, "in"), problems[0] ?? "no dialogue");
  const limit = numberFlag(values.limit, "limit", { min: 1, integer: true });
  const dialogues = limit ? all.slice(0, limit) : all;
  const out = resolve(io.cwd, requireString(values, "out"));
  const teacher = await createModel(values, io, "chat");
  try {
    const summary = await interruptible((signal) => runGatt({
      signal,
      teacher,
      dialogues,
      instructions,
      settings: {
        ...defaultGattSettings,
        seed,
        sampling: answerSampling(values),
      },
      outputDirectory: out,
      prices: loadPrices(values, io, () => teacher.modelId),
      ...runOptions(values, io),
    }));
    writeFileSync(join(out, "summary.json"), JSON.stringify(summary, null, 2));
    const complete = summary.counts.done ?? 0;
    const message = `wrote ${complete} of ${summary.total} Ghost Attention samples into ${join(out, "conversations.jsonl")}${truncatedNote(summary, out)}${summary.counts["empty-reply"] ? `; ${summary.counts["empty-reply"]} with an empty answer left out` : ""}${failedNote(summary)}`;
    reportSummary({ message, ...summary, ...{ skipped: problems.length } }, values, io);
    return summary.failed > 0 || complete === 0 ? 1 : 0;
  } finally {
    await teacher.dispose?.();
  }
}

async function bestOfN(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    ...teacherFlags,
    prompts: { type: "string" },
    out: { type: "string", short: "o" },
    "num-samples": { type: "string", short: "n" },
    seed: { type: "string" },
    "max-tokens": { type: "string" },
    temperature: { type: "string" },
    limit: { type: "string" },
    pairs: { type: "boolean" },
    "judge-model": { type: "string" },
    "judge-base-url": { type: "string" },
    "judge-remote-model": { type: "string" },
    "judge-api": { type: "string" },
    "judge-api-key-env": { type: "string" },
    "judge-flavor": { type: "string" },
    "judge-prompts": { type: "string" },
    "judge-prompt": { type: "string" },
    "judge-max-tokens": { type: "string" },
    "judge-temperature": { type: "string" },
    "reward-model": { type: "string" },
    "reward-base": { type: "string" },
  }, false);
  const byReward = values["reward-model"] !== undefined;
  if (byReward && values["reward-base"] === undefined) throw new InvalidArgumentError("reward-base", "--reward-model needs --reward-base <base.gguf>, the model it was trained on");
  if (!byReward && values["reward-base"] !== undefined) throw new InvalidArgumentError("reward-base", "--reward-base goes with --reward-model");
  const judgeFlag = Object.keys(values).find((key) => key.startsWith("judge-") && values[key as keyof typeof values] !== undefined);
  if (byReward && judgeFlag) throw new InvalidArgumentError(judgeFlag, `--${judgeFlag}: answers are scored by --reward-model or by an LLM judge, not both`);
  const judgePrompt = byReward ? undefined : singleJudgePrompt(values, io);
  const { prompts, problems } = readPrompts(values, io);
  const out = resolve(io.cwd, requireString(values, "out"));
  const settings = {
    ...defaultBestOfNSettings,
    n: numberFlag(values["num-samples"], "num-samples", { min: 1, max: 1000, integer: true }) ?? defaultBestOfNSettings.n,
    seed: numberFlag(values.seed, "seed", { integer: true }) ?? defaultBestOfNSettings.seed,
    sampling: {
      maxTokens: numberFlag(values["max-tokens"], "max-tokens", { min: 1, integer: true }) ?? defaultBestOfNSettings.sampling.maxTokens,
      temperature: numberFlag(values.temperature, "temperature", { min: 0, max: 2 }) ?? defaultBestOfNSettings.sampling.temperature,
    },
    pairs: Boolean(values.pairs),
  };
  const options = runOptions(values, io);
  const teacher = await createModel(values, io, "chat");
  let judge: LanguageModel | undefined;
  let reward: LoadedRewardModel | undefined;
  try {
    let scorer: AnswerScorer;
    if (judgePrompt) {
      judge = await createModel(values, io, "chat", "judge-");
      scorer = new JudgeScorer(judge, judgePrompt, {
        call: {
          maxTokens: numberFlag(values["judge-max-tokens"], "judge-max-tokens", { min: 1, integer: true }) ?? LLM_JUDGE_MAX_TOKENS,
          temperature: numberFlag(values["judge-temperature"], "judge-temperature", { min: 0, max: 2 }) ?? 0,
          retries: options.retry.maxRetries,
        },
      });
    } else {
      const rewardPath = resolve(io.cwd, values["reward-model"] as string);
      reward = await LoadedRewardModel.open(resolve(io.cwd, values["reward-base"] as string), rewardPath);
      scorer = new RewardModelScorer(reward, rewardPath);
    }
    const summary = await interruptible((signal) => runBestOfN({ signal, model: teacher, scorer, prompts, settings, outputDirectory: out, prices: loadPrices(values, io, () => teacher.modelId), ...options }));
    const answers = answerTotals(out);
    writeFileSync(join(out, "summary.json"), JSON.stringify({ ...summary, answers }, null, 2));
    const kept = (summary.counts.done ?? 0) + (summary.counts["no-pair"] ?? 0);
    const excluded = (["empty", "truncated", "unscored"] as const).filter((reason) => answers[reason] > 0).map((reason) => `${answers[reason]} ${reason}`);
    const message =
      `kept the best of ${settings.n} answers for ${kept} of ${summary.total} prompts in ${join(out, bestFile)} (all answers in ${samplesFile}); ` +
      `${answers.scored} of ${answers.sampled} answers scored by ${scorer.name}${excluded.length ? ` (${excluded.join(", ")} left out)` : ""}` +
      `${summary.counts.unscored ? `; ${summary.counts.unscored} prompts with no scored answer` : ""}` +
      `${settings.pairs ? `; ${summary.counts.done ?? 0} pairs in ${join(out, pairsFile)}${summary.counts["no-pair"] ? `, ${summary.counts["no-pair"]} prompts with fewer than 2 distinct scored answers have none` : ""}` : ""}` +
      failedNote(summary);
    reportSummary({ message, ...summary, ...{ answers, temperature: settings.sampling.temperature, skipped: problems.length } }, values, io);
    return summary.failed > 0 || kept === 0 ? 1 : 0;
  } finally {
    await teacher.dispose?.();
    await judge?.dispose?.();
    await reward?.dispose();
  }
}

/** --prompts FILE (rows without a prompt reported on stderr), cut to --limit. */
function readPrompts(values: Values, io: CliIo) {
  const { prompts, problems } = promptsFromFile(resolve(io.cwd, requireString(values, "prompts")));
  for (const problem of problems.slice(0, 20)) io.stderr(`skipped ${problem}\n`);
  const limit = numberFlag(values.limit, "limit", { min: 1, integer: true });
  return { prompts: limit ? prompts.slice(0, limit) : prompts, problems };
}

/** --judge-prompts FILE and --judge-prompt NAME (single-v1): a single-answer prompt that asks for "[[rating]]". */
function singleJudgePrompt(values: Values, io: CliIo) {
  const prompts = loadJudgePrompts(resolve(io.cwd, requireString(values, "judge-prompts")));
  const name = (values["judge-prompt"] as string | undefined) ?? "single-v1";
  const prompt = prompts.get(name);
  if (!prompt) throw new InvalidArgumentError("judge-prompt", `judge prompt "${name}" is not in --judge-prompts (have: ${[...prompts.keys()].join(", ")})`);
  if (prompt.type !== "single" || prompt.outputFormat !== "[[rating]]") throw new InvalidArgumentError("judge-prompt", `judge prompt "${name}" is ${prompt.type} with output_format "${prompt.outputFormat}"; best-of-n needs a single-answer "[[rating]]" prompt`);
  return prompt;
}

/** --instruction TEXT or --instructions FILE (one per line, blank lines ignored): exactly one of them. */
function gattInstructions(values: Values, io: CliIo): string[] {
  const text = values.instruction as string | undefined;
  const file = values.instructions as string | undefined;
  if ((text === undefined) === (file === undefined)) throw new InvalidArgumentError("instruction", "give exactly one of --instruction <text> or --instructions <file>");
  if (text !== undefined) {
    if (text.trim() === "") throw new InvalidArgumentError("instruction", "--instruction is empty");
    return [text];
  }
  const path = resolve(io.cwd, file!);
  if (!existsSync(path)) throw new InvalidArgumentError("instructions", `--instructions: file not found: ${path}`);
  const lines = readFileSync(path, "utf8").split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== "");
  if (lines.length === 0) throw new InvalidArgumentError("instructions", `--instructions ${path} holds no instruction`);
  return lines;
}

/** --preprompt and its companions; the companions without --preprompt are an error, never ignored. */
function contextDistillationFromFlags(values: Values, io: CliIo): ContextDistillation | undefined {
  const companions = ["preprompt-as", "preprompt-if-category", "answer-templates"].filter((flag) => values[flag] !== undefined);
  if (values.preprompt === undefined) {
    if (companions.length > 0) throw new InvalidArgumentError(companions[0], `--${companions[0]} needs --preprompt`);
    return undefined;
  }
  const placement = (values["preprompt-as"] as string | undefined) ?? "prefix";
  if (!isPrepromptPlacement(placement)) throw new InvalidArgumentError("preprompt-as", `--preprompt-as must be ${prepromptPlacements.join(" or ")}, got "${placement}"`);
  const onlyFor = (values["preprompt-if-category"] as string[] | undefined)?.flatMap((list) => list.split(",")).map((name) => name.trim()).filter((name) => name !== "");
  if (onlyFor !== undefined && onlyFor.length === 0) throw new InvalidArgumentError("preprompt-if-category", "--preprompt-if-category names no category");
  const templatesPath = values["answer-templates"] as string | undefined;
  return {
    preprompt: readPreprompt(values.preprompt as string, (path) => resolve(io.cwd, path)),
    placement,
    ...(onlyFor ? { onlyFor } : {}),
    ...(templatesPath ? { answerTemplates: readAnswerTemplates(resolve(io.cwd, templatesPath)) } : {}),
  };
}

/** What the run's output says about context distillation: how many prompts got the preprompt, and which. */
function contextDistillationSummary(distillation: ContextDistillation, prompts: { category?: string; kind?: string }[]) {
  const applied = prompts.map((prompt) => prepromptFor(prompt, distillation)).filter((a) => a !== undefined);
  const templated = applied.filter((a) => a.answerTemplate !== undefined).length;
  const sha256 = contentHash(distillation.preprompt);
  const where = distillation.placement === "prefix" ? "prefixed to the prompt" : "as the system message";
  const which = distillation.onlyFor ? ` (category or kind ${distillation.onlyFor.join(", ")})` : "";
  return {
    message:
      `context distillation: preprompt sha256 ${shortHash(sha256)} ${where} for ${applied.length} of ${prompts.length} prompts${which}` +
      `${distillation.answerTemplates ? `, ${templated} with their category's answer template` : ""}; stored without it`,
    record: { preprompt_sha256: sha256, placement: distillation.placement, onlyFor: distillation.onlyFor ?? null, preprompted: applied.length, withAnswerTemplate: templated, prompts: prompts.length },
  };
}

/** A teacher's answers: --max-tokens (1024) and --temperature (0.7), as distill and gatt take them. */
function answerSampling(values: Values) {
  return {
    maxTokens: numberFlag(values["max-tokens"], "max-tokens", { min: 1, integer: true }) ?? 1024,
    temperature: numberFlag(values.temperature, "temperature", { min: 0, max: 2 }) ?? 0.7,
  };
}

function truncatedNote(summary: ItemStageSummary, out: string): string {
  const truncated = summary.counts.truncated ?? 0;
  return truncated ? `; ${truncated} cut by --max-tokens in ${join(out, "truncated.jsonl")}` : "";
}

function failedNote(summary: ItemStageSummary): string {
  const retried = summary.retried > 0 ? ` (${summary.retried} failed items of earlier runs retried)` : "";
  return summary.failed > 0 ? `; ${summary.failed} failed (errors.jsonl): run the same command again to retry them${retried}` : retried;
}

async function refine(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    ...teacherFlags,
    in: { type: "string", short: "i" },
    from: { type: "string" },
    out: { type: "string", short: "o" },
    "fix-prompt": { type: "string" },
    "fix-prompt-file": { type: "string" },
    roles: { type: "string" },
    strict: { type: "boolean" },
  }, false);
  const dataset = readInput(values, io);
  if (dataset.kind !== "conversations") throw new InvalidArgumentError("in", "refine works on conversations and instruction data, not preference pairs");
  const roles = ((values.roles as string | undefined) ?? "assistant").split(",").map((r) => r.trim());
  if (roles.some((r) => r !== "user" && r !== "assistant")) throw new InvalidArgumentError("roles", `--roles takes user and/or assistant, got "${values.roles}"`);
  const fixPrompt = values["fix-prompt-file"] ? readFileSync(resolve(io.cwd, values["fix-prompt-file"] as string), "utf8").trim() : ((values["fix-prompt"] as string | undefined) ?? defaultRefineSettings.fixPrompt);
  const out = resolve(io.cwd, requireString(values, "out"));
  const fixer = await createModel(values, io, "chat");
  try {
    const summary = await interruptible((signal) => runRefine({ signal, fixer, records: dataset.records, settings: { ...defaultRefineSettings, fixPrompt, roles: roles as ("user" | "assistant")[] }, outputDirectory: out, prices: loadPrices(values, io, () => fixer.modelId), ...runOptions(values, io) }));
    writeFileSync(join(out, "summary.json"), JSON.stringify(summary, null, 2));
    reportSummary({ message: `refined ${summary.done} of ${summary.total} records into ${join(out, "refined.jsonl")}${failedNote(summary)}`, ...summary }, values, io);
    return summary.failed > 0 ? 1 : 0;
  } finally {
    await fixer.dispose?.();
  }
}

function formatFlag(values: Values, flag: string): DatasetFormat | undefined {
  const value = values[flag] as string | undefined;
  if (value === undefined) return undefined;
  if (!datasetFormats.includes(value as DatasetFormat)) throw new InvalidArgumentError(flag, `--${flag} must be one of ${datasetFormats.join(", ")}, got "${value}"`);
  return value as DatasetFormat;
}

function readInput(values: Values, io: CliIo): Dataset {
  const input = resolve(io.cwd, requireString(values, "in"));
  const dataset = readDataset(input, { format: formatFlag(values, "from"), strict: Boolean(values.strict) });
  for (const problem of dataset.problems.slice(0, 20)) io.stderr(`skipped ${problem.file}:${problem.line}: ${problem.message}\n`);
  if (dataset.problems.length > 20) io.stderr(`… and ${dataset.problems.length - 20} more malformed rows\n`);
  return dataset;
}

async function convert(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, { in: { type: "string", short: "i" }, out: { type: "string", short: "o" }, from: { type: "string" }, to: { type: "string" }, strict: { type: "boolean" } }, false);
  const to = formatFlag(values, "to");
  if (!to) throw new InvalidArgumentError("to", `--to is required (${datasetFormats.join(", ")})`);
  const dataset = readInput(values, io);
  const out = resolve(io.cwd, requireString(values, "out"));
  const result = writeDataset(out, dataset, to);
  for (const skip of result.skipped.slice(0, 20)) io.stderr(`not converted: record ${skip.index}: ${skip.message}\n`);
  if (values.strict && result.skipped.length > 0) throw new InvalidArgumentError("to", `${result.skipped.length} records cannot be written as ${to} (first: record ${result.skipped[0].index}: ${result.skipped[0].message})`);
  io.stdout(`${dataset.format} → ${to}: wrote ${result.written} records to ${out} (${dataset.problems.length} malformed rows skipped, ${result.skipped.length} not representable)\n`);
  return 0;
}

async function tokenCounter(values: Values, io: CliIo): Promise<{ count: TokenCounter; name: string; dispose(): Promise<void> }> {
  const path = values.tokenizer as string | undefined;
  if (!path) return { count: (text) => Math.ceil(text.length / 4), name: "estimate: characters / 4", dispose: async () => {} };
  const { createLocalModel } = await import("../../providers/local/index.js");
  const model = createLocalModel({ modelPath: resolve(io.cwd, path) });
  if (!model.tokenize) throw new InvalidArgumentError("tokenizer", `${path}: this model cannot tokenize`);
  return { count: async (text) => (await model.tokenize!(text, { addBos: false })).length, name: path, dispose: async () => model.dispose?.() };
}

async function clean(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    in: { type: "string", short: "i" }, out: { type: "string", short: "o" }, from: { type: "string" }, to: { type: "string" }, strict: { type: "boolean" },
    "no-html": { type: "boolean" }, "keep-duplicates": { type: "boolean" }, dedup: { type: "string" }, "blocked-words": { type: "string" }, "near-duplicates": { type: "string" }, script: { type: "string" }, "script-share": { type: "string" },
    "max-tokens": { type: "string" }, tokenizer: { type: "string" }, "message-overhead": { type: "string" }, json: { type: "boolean" },
  }, false);
  const dataset = readInput(values, io);
  if (dataset.kind !== "conversations") throw new InvalidArgumentError("in", "clean works on conversations; DPO pairs are kept as they are");
  const script = values.script as string | undefined;
  if (script && !supportedScripts.includes(script)) throw new InvalidArgumentError("script", `--script must be one of ${supportedScripts.join(", ")}`);
  const dedup = (values["keep-duplicates"] ? "none" : ((values.dedup as string | undefined) ?? "fastchat")) as DedupMode;
  if (!dedupModes.includes(dedup)) throw new InvalidArgumentError("dedup", `--dedup must be one of ${dedupModes.join(", ")}, got "${dedup}"`);
  const blockedText = values["blocked-words"] as string | undefined;
  const blockedWords = blockedText === undefined ? fastChatBlockedWords : blockedText === "none" ? [] : blockedText.split(",").map((word) => word.trim()).filter(Boolean);
  const messageOverhead = numberFlag(values["message-overhead"], "message-overhead", { min: 0, integer: true }) ?? fastChatMessageOverhead;
  const maxTokens = numberFlag(values["max-tokens"], "max-tokens", { min: 1, integer: true });
  const tokens = maxTokens ? await tokenCounter(values, io) : undefined;
  try {
    const { records, report } = await cleanConversations(dataset.records, {
      htmlToMarkdown: !values["no-html"],
      blockedWords,
      dedup,
      nearDuplicateThreshold: numberFlag(values["near-duplicates"], "near-duplicates", { min: 0.01, max: 1 }),
      script,
      scriptShare: numberFlag(values["script-share"], "script-share", { min: 0, max: 1 }),
      maxTokens,
      countTokens: tokens?.count,
      messageOverhead,
    });
    const to = formatFlag(values, "to") ?? "sharegpt";
    const out = resolve(io.cwd, requireString(values, "out"));
    const result = writeDataset(out, { ...dataset, records }, to);
    const settings = { blockedWords, dedup, ...(maxTokens ? { maxTokens, messageOverhead, tokenizer: tokens?.name } : {}) };
    const summary = { ...report, malformedRows: dataset.problems.length, written: result.written, notRepresentable: result.skipped.length, settings };
    io.stdout(values.json ? `${JSON.stringify(summary, null, 2)}\n` : `cleaned ${report.input} → ${result.written} records (${report.converted} HTML messages converted, ${report.split} extra pieces from splits); dropped ${JSON.stringify(report.dropped)}; settings ${JSON.stringify(settings)}\n`);
    return 0;
  } finally {
    await tokens?.dispose();
  }
}

async function stats(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, { in: { type: "string", short: "i" }, from: { type: "string" }, tokenizer: { type: "string" }, json: { type: "boolean" }, strict: { type: "boolean" } }, false);
  const dataset = readInput(values, io);
  const tokens = await tokenCounter(values, io);
  try {
    const result = await computeStats(dataset, tokens.count, tokens.name);
    io.stdout(values.json ? `${JSON.stringify(result, null, 2)}\n` : formatStats(result));
    return 0;
  } finally {
    await tokens.dispose();
  }
}

async function split(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, { in: { type: "string", short: "i" }, "out-dir": { type: "string" }, from: { type: "string" }, to: { type: "string" }, ratios: { type: "string" }, seed: { type: "string" }, strict: { type: "boolean" } }, false);
  const dataset = readInput(values, io);
  const ratioText = (values.ratios as string | undefined) ?? "train=0.9,validation=0.05,test=0.05";
  const ratios: Record<string, number> = {};
  for (const part of ratioText.split(",")) {
    const match = /^([\w-]+)=(\d*\.?\d+)$/.exec(part.trim());
    if (!match) throw new InvalidArgumentError("ratios", `--ratios must look like train=0.9,test=0.1; "${part}" does not`);
    ratios[match[1]] = Number(match[2]);
  }
  const directory = resolve(io.cwd, requireString(values, "out-dir"));
  mkdirSync(directory, { recursive: true });
  const to = formatFlag(values, "to") ?? dataset.format;
  const records = dataset.records as { id?: string }[];
  const parts = splitRecords(records, ratios, { seed: numberFlag(values.seed, "seed", { integer: true }) ?? 0, groupOf: (record, index) => conversationGroup(record.id, index) });
  const lines: string[] = [];
  for (const [name, partRecords] of Object.entries(parts)) {
    const path = join(directory, `${name}.${to === "openai" || to === "dolly" ? "jsonl" : "json"}`);
    const { rows, skipped } = encodeDataset({ ...dataset, records: partRecords } as Dataset, to);
    writeFileSync(path, serializeRows(rows, path));
    lines.push(`${name}: ${rows.length} records → ${path}${skipped.length ? ` (${skipped.length} not representable as ${to})` : ""}`);
  }
  io.stdout(`${lines.join("\n")}\n`);
  return 0;
}
