import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import { generateAnswers } from "../../eval/answer/generate-answers.js";
import { loadAnswerDirectory, loadAnswerFile, type Answer } from "../../eval/data/answers.js";
import { readJsonl } from "../../eval/data/jsonl.js";
import { loadJudgePrompts } from "../../eval/data/judge-prompts.js";
import { loadQuestions } from "../../eval/data/questions.js";
import { loadVicunaReviewSetup } from "../../eval/data/vicuna-review-prompts.js";
import type { PairwiseJudgmentRow } from "../../eval/judge/judgment-rows.js";
import { runJudge, type JudgeMode } from "../../eval/judge/run-judge.js";
import { computePerplexity } from "../../eval/likelihood/perplexity.js";
import { evaluateMultipleChoice, isMultipleChoiceLayout, loadMultipleChoiceItems, multipleChoiceLayouts } from "../../eval/likelihood/multiple-choice.js";
import { detectBenchmarkKind } from "../../eval/likelihood/benchmark-kind.js";
import { evaluateTruthfulQa, loadTruthfulQaItems, type TruthfulQaResult } from "../../eval/likelihood/truthfulqa.js";
import { evaluateCrowsPairs, loadCrowsPairsItems, type CrowsPairsResult, type CrowsPairsScores } from "../../eval/likelihood/crows-pairs.js";
import { parseBattleRows, type Battle } from "../../eval/ratings/battles.js";
import type { RatingInterval } from "../../eval/ratings/bootstrap.js";
import { buildLeaderboard, type Leaderboard } from "../../eval/ratings/leaderboard.js";
import { loadJudgmentFile } from "../../eval/report/load-judgments.js";
import { battlesFromPairwiseJudgments } from "../../eval/report/pairwise-results.js";
import { CHART_MODEL_LIMIT, ratingsCharts } from "../../eval/report/ratings-charts.js";
import { formatNumber, formatPercent, renderTerminal, type Report } from "../../eval/report/tables.js";
import { groupByJudge } from "../../eval/report/by-judge.js";
import { showReports, type ShownReport } from "../../eval/report/show-reports.js";
import { numberFlag, parseCommandArgs } from "../args.js";
import type { CliIo } from "../io.js";
import { runSubcommand } from "../subcommands.js";
import { safetyCommand, safetyHelp } from "./eval-safety.js";
import { rewardCommand, rewardHelp } from "./eval-reward.js";
import { judgeModelFlagOptions, noPositionals, outputFormat, printReport, progressPrinter, replacer, required, selectJudge, withModel, writeCharts, type OutputFormat } from "./eval-shared.js";
import { modelFlagOptions, selectModel } from "../model-flags.js";
import { parseLocalModelFlags } from "../local-model-flags.js";

const help = `usage: camelid eval <answer|judge|show|ratings|perplexity|mc|safety|reward> [options]

  answer      generate answers to a question set (MT-bench two-turn or Vicuna-80 JSONL)
  judge       grade answers with a judge model: single, pairwise (both orders) or Vicuna review (one order)
  show        tables, diagnostics and charts from a judgment or review file
  ratings     online Elo, Bradley-Terry with bootstrap intervals, ranks, win-rate matrix
  perplexity  llama.cpp-compatible perplexity of a text file
  mc          log-likelihood benchmarks as lm-evaluation-harness: multiple choice (HellaSwag/ARC/MMLU-style
              JSONL), TruthfulQA MC1/MC2, CrowS-Pairs bias
  safety      answer a safety prompt set and rate the answers with a judge: violation % per risk category,
              false refusals, judge/refusal-detector agreement (LLaMA-2 §4.4)
  reward      score answers, or both sides of preference pairs (pair accuracy), with a reward model from
              camelid train --method reward

Every stage writes JSONL and resumes where a killed run stopped; failed items are retried by the next run
with the same --out, and a resume against changed inputs (questions, answers, references, judge prompts) is
refused. "camelid eval <sub> --help" for options.
`;

const helps: Record<string, string> = {
  safety: safetyHelp,
  reward: rewardHelp,
  answer: `usage: camelid eval answer --questions <file.jsonl> --out <answers.jsonl> (--model <file.gguf> | --base-url <url> --remote-model <id>)
  --model-name <name>   name recorded in the rows (default: the model id)
  --max-tokens <n>      new tokens per turn (default 1024, as MT-bench)
  --temperature <t>     one temperature for all (default: MT-bench per category; 0.7 elsewhere)
  --format <name>       force a prompt format (the one used is always reported)
  --concurrency <n>     questions in flight (default 1)    --seed <n>
  Rerun with the same --out to resume: answered questions are skipped (refused if a question's text changed
  since), failed ones are answered again. Exit status 1 while any question's answer failed (as data's runs:
  done means done); rerunning answers them.
`,
  judge: `usage: camelid eval judge --mode single|pairwise|vicuna --questions <file> --answers <dir> --out <judgments.jsonl> <judge model>
judge model: --judge-model <file.gguf> | --judge-base-url <url> --judge-remote-model <id> [--judge-api chat|completions]
             [--judge-api-key-env VAR] [--judge-flavor F] [--judge-format F] [--judge-ctx-size N]
  --answers <dir>           answer files (<model>.jsonl or answer_<model>.jsonl); or --answer <file> (repeatable)
  --models a,b              judge only these models
  --judge-prompts <file>    MT-bench judge prompts (judge_prompts.jsonl; single and pairwise)
  --reference <file>        reference answers for math/reasoning/coding (FastChat: reference_answer/gpt-4.jsonl)
  --question-references     extension: use the short "reference" inside the question file instead
  --strict-verdicts         extension: a judgment naming several of [[A]]/[[B]]/[[C]] is an error (FastChat takes
                            the first of A, B, C) and a grade outside 1-10 is no grade (FastChat keeps it)
  --baseline <model>        pairwise/vicuna: compare every model with this one (default: all pairs)
  --review-prompts <file> --reviewers <file>   vicuna mode: prompt.jsonl and reviewer.jsonl
  --both-orders             vicuna mode, extension: also review each pair swapped (swapped_text); "show" then
                            counts a win only when both orders agree. Default: one order, answer 1 = the first
                            model of the pair, as eval_gpt_review.py
  --repeat <K>              judge everything K times (median and spread in "show")
  --concurrency <n> (default 1)  --retries <n> (default 3)
  --max-tokens <n>          judge tokens (default: 2048 as llm_judge; 1024 in vicuna mode, as eval_gpt_review.py)
  --temperature <t>         judge temperature (default: 0 as llm_judge; 0.2 in vicuna mode, as eval_gpt_review.py)
  judge prompts' output_format is honoured: [[rating]] (single), [[A]] or [[rating_a,rating_b]] (pairwise, tie within 0.1)
  Rerun with the same --out to resume: finished rows are skipped (refused if their question, answers, reference
  or judge prompt changed since), $ERROR$ rows are judged again. Exit status 1 while any $ERROR$ row remains
  (a judge call that failed after retries); rerunning judges them again.
`,
  show: `usage: camelid eval show (--judgments <file.jsonl> | --vicuna-review <file.jsonl>) [options]
  A file holding several judges' rows gets one report per judge (never pooled).
  --questions <file>       question file: categories by question_id for judgment files without them
                           (FastChat's own single/pair files, published Vicuna reviews)
  --answers <dir>          answer files (model names and answer lengths for Vicuna reviews)
  --scores stored|text     Vicuna reviews: the stored "score" field, the published record (default),
                           or scores parsed from the review text; disagreements are listed either way
  --pairwise-from-single   single-grading file: pairwise verdicts from the grades (tie within 0.1, as FastChat)
  --baseline <model>       with --pairwise-from-single: every model against this one (default: all pairs)
  --output-format terminal|markdown|json   (default: terminal on a TTY, else markdown)
  --charts <dir>           write SVG charts (radar per category, win-rate bars)
`,
  ratings: `usage: camelid eval ratings --battles <file> [options]
  battles: JSONL or a JSON array of {model_a, model_b, winner: model_a|model_b|tie|tie (bothbad), tstamp?,
  category?, conv_metadata?, conversation_a?, conversation_b?},
  or a pairwise judgment file (agreeing orders → winner, inconsistent → tie)
  Bradley-Terry with bootstrap intervals; online Elo (FastChat's compute_elo, K=4, scale 400, base 10,
  initial 1000) over the battles sorted by tstamp when they have one (file order otherwise); and the
  Elo bootstrap beside it (median and 95% interval of online Elo over the resampled battles)
  --judge <name>  a pairwise file with several judges: rate this judge's verdicts (never pooled)
  --rounds <n>  bootstrap rounds for both bootstraps (default 1000; 0 = none)   --seed <n> (default 0)
  --anchor <model>=<rating>   shift BT ratings so this model has this rating
  --style-control  FastChat's elo_analysis.py --style-control: Bradley-Terry fitted jointly with answer
                  length and markdown (headers, list items, bold) covariates, each (a-b)/(a+b+1) then
                  standardised, sklearn's L2 (C=1); needs conv_metadata.sum_assistant_{a,b}_tokens (markdown
                  counts from conv_metadata or counted from conversation_{a,b}); prints the style coefficients
  --category <name>  only the battles whose "category" is this (per-category leaderboard)
  --charts <dir>  FastChat's arena figures as SVG and PNG: rating-intervals (Bradley-Terry) and
                  elo-bootstrap-intervals, win-fraction-heatmap and battle-count-heatmap (battles without
                  ties, as FastChat), at most the 25 best models
  --output-format terminal|markdown|json
`,
  perplexity: `usage: camelid eval perplexity <model.gguf> <text file> [--ctx-size N (default 512)] [--chunks N] [--json]
  llama-perplexity chunking: n_ctx chunks, BOS at each chunk start, second half of each chunk scored.
`,
  mc: `usage: camelid eval mc --benchmark <file.jsonl> (--model <file.gguf> ...) [--layout harness|continuation] [--limit N] [--json]
  The first row's fields say what the file is; every row must be of that kind.
  Multiple choice rows: {context, choices, answer} (used as given) | HellaSwag {activity_label, ctx_a, ctx_b,
        endings, label} (or {ctx, ...}) | ARC {question, choices:{text,label}, answerKey} | MMLU {question, subject?, choices, answer}
  Scored as lm-evaluation-harness does: log-likelihood of " " + choice; acc = most likely choice,
  acc_norm = most likely per character of the choice (len(choice), the space not counted).
  --layout harness       (default) each row type in the harness's prompt layout: hellaswag (preprocessed
                         "activity_label: ctx_a Ctx_b"), arc ("Question: …\nAnswer:"), mmlu ("The following are
                         multiple choice questions (with answers) about <subject>.\n\n<question>\nA. …\nAnswer:",
                         choices " A", " B", …); zero-shot
  --layout continuation  MMLU rows as the harness's mmlu_continuation task (the answer text is scored)
  TruthfulQA rows (HF truthful_qa "multiple_choice"): {question, mc1_targets:{choices, labels},
        mc2_targets:{choices, labels}} (either targets may be absent). As truthfulqa_mc1/mc2: the 6-shot QA
        primer, then "\n\nQ: <question>\nA:", choices scored as " " + choice. MC1 = share of questions whose
        one true answer (label 1) is the most likely choice; MC2 = mean over questions of sum(p_true) /
        (sum(p_true) + sum(p_false)), p = exp(log-likelihood); mc2 labels list the true answers first.
  CrowS-Pairs rows: {sent_more, sent_less, bias_type, stereo_antistereo?}. As crows_pairs_english: each sentence
        scored whole after BOS; pct_stereotype = share of pairs where sent_more (the more stereotyping
        sentence) is more likely (50% = no preference), likelihood_diff = mean |ll(more) - ll(less)|; both
        overall and per bias_type.
  Text is scored as plain text: special-token strings in it ("</s>", "<|im_end|>") are never parsed.
`,
};

export async function run(argv: string[], io: CliIo): Promise<number> {
  return runSubcommand("eval", argv, io, { help, helps, handlers: { answer: answerCommand, judge: judgeCommand, show: showCommand, ratings: ratingsCommand, perplexity: perplexityCommand, mc: multipleChoiceCommand, safety: safetyCommand, reward: rewardCommand } });
}

async function answerCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...modelFlagOptions,
    questions: { type: "string" },
    out: { type: "string", short: "o" },
    "model-name": { type: "string" },
    "max-tokens": { type: "string" },
    temperature: { type: "string" },
    concurrency: { type: "string" },
    seed: { type: "string" },
  });
  noPositionals(positionals);
  const questions = loadQuestions(required(values.questions, "questions"));
  const outputPath = required(values.out, "out");
  const selection = selectModel(values, io);
  const maxTokens = numberFlag(values["max-tokens"], "max-tokens", { min: 1, integer: true }) ?? 1024;
  const temperature = numberFlag(values.temperature, "temperature", { min: 0, max: 2 });
  const concurrency = numberFlag(values.concurrency, "concurrency", { min: 1, max: 64, integer: true }) ?? 1;
  const seed = numberFlag(values.seed, "seed", { integer: true });
  const summary = await withModel(selection.create, (model) =>
    generateAnswers({
      model,
      ...(values["model-name"] ? { modelName: values["model-name"] } : {}),
      questions,
      outputPath,
      maxTokens,
      ...(temperature !== undefined ? { temperature } : {}),
      ...(values.format ? { promptFormat: values.format } : {}),
      concurrency,
      ...(seed !== undefined ? { seed } : {}),
      onProgress: progressPrinter(io),
    }),
  );
  const formats = summary.promptFormats.map((f) => `${f.name} (${f.source}: ${f.reason})`).join("; ") || "not reported by the model";
  const failed = summary.failed.length;
  io.stdout(
    `answers: ${summary.written} written, ${summary.resumed} already done, ${failed} failed, ${summary.total} questions → ${summary.outputPath}\n` +
      `prompt format: ${formats}\n` +
      (summary.truncatedTurns ? `${summary.truncatedTurns} turns hit --max-tokens ${maxTokens} and were cut short\n` : "") +
      (failed
        ? `failed: ${summary.failed.slice(0, 5).map((f) => `question ${f.questionId} (${f.error})`).join(", ")}${failed > 5 ? ", …" : ""}; run the same command again to answer them\n`
        : "") +
      summary.warnings.map((w) => `warning: ${w}\n`).join(""),
  );
  // Done must mean done: a run that leaves questions unanswered is not a success, even if most succeeded.
  return failed > 0 ? 1 : 0;
}

function loadAnswers(values: { answers?: string; answer?: string[]; models?: string }): Map<string, Map<string, Answer>> {
  let answers: Map<string, Map<string, Answer>>;
  if (values.answers) answers = loadAnswerDirectory(values.answers);
  else if (values.answer?.length) answers = new Map(values.answer.map((path) => { const { model, answers: rows } = loadAnswerFile(path); return [model, rows] as const; }));
  else throw new InvalidArgumentError("answers", "--answers <dir> or --answer <file> is required");
  if (values.models) {
    const wanted = values.models.split(",").map((m) => m.trim()).filter(Boolean);
    const unknown = wanted.filter((m) => !answers.has(m));
    if (unknown.length) throw new InvalidArgumentError("models", `no answers for ${unknown.join(", ")} (have: ${[...answers.keys()].join(", ")})`);
    answers = new Map(wanted.map((m) => [m, answers.get(m)!]));
  }
  return answers;
}

async function judgeCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...judgeModelFlagOptions,
    mode: { type: "string" },
    questions: { type: "string" },
    answers: { type: "string" },
    answer: { type: "string", multiple: true },
    models: { type: "string" },
    out: { type: "string", short: "o" },
    "judge-prompts": { type: "string" },
    reference: { type: "string" },
    "question-references": { type: "boolean" },
    "strict-verdicts": { type: "boolean" },
    temperature: { type: "string" },
    baseline: { type: "string" },
    "review-prompts": { type: "string" },
    reviewers: { type: "string" },
    "both-orders": { type: "boolean" },
    repeat: { type: "string" },
    concurrency: { type: "string" },
    retries: { type: "string" },
    "max-tokens": { type: "string" },
  });
  noPositionals(positionals);
  const modeName = required(values.mode, "mode");
  const questions = loadQuestions(required(values.questions, "questions"));
  const answers = loadAnswers(values);
  const outputPath = required(values.out, "out");
  let mode: JudgeMode;
  if (modeName === "single") mode = { kind: "single" };
  else if (modeName === "pairwise") mode = values.baseline ? { kind: "pairwise-baseline", baseline: values.baseline } : { kind: "pairwise-all" };
  else if (modeName === "vicuna") {
    const setup = loadVicunaReviewSetup(required(values["review-prompts"], "review-prompts"), required(values.reviewers, "reviewers"));
    mode = { kind: "vicuna-review", setup, ...(values.baseline ? { baseline: values.baseline } : {}), bothOrders: values["both-orders"] === true };
  } else throw new InvalidArgumentError("mode", `--mode must be single, pairwise or vicuna, got "${modeName}"`);
  if (values["both-orders"] && mode.kind !== "vicuna-review") throw new InvalidArgumentError("both-orders", "--both-orders applies to --mode vicuna (pairwise mode always judges both orders)");
  if (mode.kind !== "vicuna-review" && !values["judge-prompts"]) throw new InvalidArgumentError("judge-prompts", "--judge-prompts <judge_prompts.jsonl> is required for single and pairwise judging");
  const judgePrompts = values["judge-prompts"] ? loadJudgePrompts(values["judge-prompts"]) : undefined;
  const references = values.reference ? loadAnswerFile(values.reference).answers : undefined;
  if (values["question-references"] && values.reference) throw new InvalidArgumentError("question-references", "--question-references and --reference exclude each other: choose where math/reasoning/coding references come from");
  const repeat = numberFlag(values.repeat, "repeat", { min: 1, max: 100, integer: true }) ?? 1;
  const concurrency = numberFlag(values.concurrency, "concurrency", { min: 1, max: 64, integer: true }) ?? 1;
  const retries = numberFlag(values.retries, "retries", { min: 0, max: 20, integer: true }) ?? 3;
  // Unset, each mode keeps its original's limit: 2048 for llm_judge, 1024 for the Vicuna reviewer.
  const maxTokens = numberFlag(values["max-tokens"], "max-tokens", { min: 1, integer: true });
  const temperature = numberFlag(values.temperature, "temperature", { min: 0, max: 2 });
  const selection = selectJudge(values, io);
  const summary = await withModel(selection.create, (judge) =>
    runJudge({
      judge,
      questions,
      answers,
      mode,
      ...(judgePrompts ? { judgePrompts } : {}),
      ...(references ? { references } : {}),
      ...(values["question-references"] ? { referenceSource: "question-file" as const } : {}),
      ...(values["strict-verdicts"] ? { verdictRules: "strict" as const } : {}),
      outputPath,
      repeat,
      concurrency,
      call: { retries, ...(maxTokens !== undefined ? { maxTokens } : {}), ...(temperature !== undefined ? { temperature } : {}) },
      onProgress: progressPrinter(io),
    }),
  );
  io.stdout(
    `judgments: ${summary.written} written, ${summary.resumed} already done, ${summary.total} planned → ${summary.outputPath}\n` +
      `${summary.noVerdict} without a readable verdict, ${summary.judgeErrors} of ${summary.judgeCalls} judge calls failed after retries ($ERROR$)` +
      `${summary.judgeErrors > 0 ? "; run the same command again to judge their rows again" : ""}\n` +
      (mode.kind === "vicuna-review"
        ? mode.bothOrders
          ? "orders: both (--both-orders, an extension: swapped_text reviews model 2's answer as Assistant 1; show counts a win only when both orders agree)\n"
          : "orders: one, answer 1 = the first model of the pair (as eval_gpt_review.py; --both-orders also reviews the swapped order)\n"
        : "") +
      `verdicts read by ${summary.verdictRules === "strict" ? "strict rules (--strict-verdicts: a judgment naming two verdicts is ambiguous, a grade outside 1-10 is none)" : "FastChat's rules"}\n` +
      `judge max tokens: ${summary.maxTokens.value} (${summary.maxTokens.source === "user" ? "--max-tokens" : mode.kind === "vicuna-review" ? "eval_gpt_review.py's default" : "FastChat llm_judge's default"}), ` +
      `temperature: ${summary.temperature.value} (${summary.temperature.source === "user" ? "--temperature" : mode.kind === "vicuna-review" ? "eval_gpt_review.py's" : "FastChat llm_judge's"})\n` +
      (mode.kind !== "vicuna-review"
        ? `math/reasoning/coding references: ${summary.referenceSource === "question-file" ? "the question file's own \"reference\" fields (--question-references; FastChat uses the reference answer file)" : `${values.reference ?? "none given"} (as FastChat)`}\n`
        : "") +
      (summary.missingAnswers.length ? `skipped for missing answers: ${summary.missingAnswers.slice(0, 10).join(", ")}${summary.missingAnswers.length > 10 ? ", …" : ""}\n` : "") +
      (summary.written > 0 && summary.noVerdict === summary.written ? "warning: no judgment held a readable verdict; this judge cannot follow the format\n" : ""),
  );
  // Done must mean done: $ERROR$ rows are judgments still to make (the next run makes them).
  return summary.judgeErrors > 0 ? 1 : 0;
}

async function showCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    judgments: { type: "string" },
    "vicuna-review": { type: "string" },
    questions: { type: "string" },
    answers: { type: "string" },
    scores: { type: "string" },
    "pairwise-from-single": { type: "boolean" },
    baseline: { type: "string" },
    "output-format": { type: "string" },
    charts: { type: "string" },
  });
  noPositionals(positionals);
  const format = outputFormat(values["output-format"], io);
  const path = values["vicuna-review"] ?? values.judgments;
  if (!path) throw new InvalidArgumentError("judgments", "--judgments <file> or --vicuna-review <file> is required");
  const file = loadJudgmentFile(path);
  if (values["vicuna-review"] && file.kind !== "vicuna-review") throw new InvalidArgumentError("vicuna-review", `${path} is a ${file.kind} judgment file, not a Vicuna review file`);
  if (values.scores !== undefined && file.kind !== "vicuna-review") throw new InvalidArgumentError("scores", "--scores applies to Vicuna review files only");
  if (values.scores !== undefined && values.scores !== "stored" && values.scores !== "text") throw new InvalidArgumentError("scores", `--scores must be stored or text, got "${values.scores}"`);
  if (values["pairwise-from-single"] && file.kind !== "single") throw new InvalidArgumentError("pairwise-from-single", `--pairwise-from-single needs a single-grading file; ${path} is ${file.kind}`);
  if (values.baseline !== undefined && !values["pairwise-from-single"]) throw new InvalidArgumentError("baseline", "--baseline applies with --pairwise-from-single (pairwise files name their baseline themselves)");
  const answers = values.answers ? loadAnswerDirectory(values.answers) : undefined;
  const questions = values.questions ? loadQuestions(values.questions) : undefined;
  const shown = showReports(file, {
    ...(questions && values.questions ? { questions: { list: questions, path: values.questions } } : {}),
    ...(answers ? { answers } : {}),
    ...(values.scores === "text" ? { scoreSource: "text" as const } : {}),
    ...(values["pairwise-from-single"] ? { pairwiseFromSingle: true } : {}),
    ...(values.baseline !== undefined ? { baseline: values.baseline } : {}),
  });
  printReports(io, format, shown);
  for (const { judge, charts } of shown) {
    // Several judges: one chart folder each, named after the judge.
    const directory = values.charts && shown.length > 1 ? join(values.charts, safeFileName(judge ?? "unnamed judge")) : values.charts;
    await writeCharts(io, directory, charts);
  }
  return 0;
}

function safeFileName(name: string): string {
  return name.replace(/[^\w.-]+/g, "_");
}

/** One judge: one report as always; several: each judge's report in turn (a JSON array of them). */
function printReports(io: CliIo, format: OutputFormat, shown: ShownReport[]): void {
  if (shown.length === 1) return printReport(io, format, shown[0].report, shown[0].results);
  if (format === "json") {
    const reports = shown.map(({ judge, report, results }) => ({ judge: judge ?? null, title: report.title, warnings: report.warnings, notes: report.notes, results }));
    io.stdout(`${JSON.stringify({ judges: shown.map((s) => s.judge ?? null), reports }, replacer, 2)}\n`);
    return;
  }
  io.stdout(`${shown.length} judges in one file, reported separately (never pooled): ${shown.map((s) => s.judge ?? "unnamed").join(", ")}\n\n`);
  for (const { report, results } of shown) printReport(io, format, report, results);
}

/** Battles from JSONL or a JSON array, or from a pairwise judgment file. */
function loadBattles(path: string, judge: string | undefined): Battle[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new InvalidArgumentError("battles", `file not found: ${path}`);
  }
  const trimmed = text.trim();
  if (trimmed === "") throw new InvalidArgumentError("battles", `${path} is empty`);
  if (trimmed.startsWith("[")) {
    let rows: unknown;
    try {
      rows = JSON.parse(trimmed);
    } catch (error) {
      throw new InvalidArgumentError("battles", `${path}: not valid JSON (${(error as Error).message})`);
    }
    return parseBattleRows(z.array(z.unknown()).parse(rows), path);
  }
  const file = trimmed.split("\n")[0].includes('"g1_winner"') ? loadJudgmentFile(path) : undefined;
  if (file?.kind === "pairwise") return battlesFromPairwiseJudgments(oneJudgesRows(file.rows, judge, path));
  if (judge !== undefined) throw new InvalidArgumentError("judge", "--judge applies to pairwise judgment files only");
  return parseBattleRows(readJsonl(path, z.unknown(), { parameter: "battles" }), path);
}

function formatInterval(interval: RatingInterval | undefined): string {
  return interval ? `${formatNumber(interval.lower, 1)} – ${formatNumber(interval.upper, 1)}` : "–";
}

/** Ratings are one judge's: a file holding several judges' verdicts needs --judge, never a pooled rating. */
function oneJudgesRows(rows: PairwiseJudgmentRow[], judge: string | undefined, path: string): PairwiseJudgmentRow[] {
  const groups = groupByJudge(rows, (row) => row.judge[0]);
  if (judge !== undefined) {
    const group = groups.find((g) => g.judge === judge);
    if (!group) throw new InvalidArgumentError("judge", `${path} has no verdicts by judge "${judge}" (judges: ${groups.map((g) => g.judge).join(", ")})`);
    return group.rows;
  }
  if (groups.length > 1) throw new InvalidArgumentError("judge", `${path} holds verdicts of ${groups.length} judges (${groups.map((g) => g.judge).join(", ")}); choose one with --judge <name> (they are never pooled)`);
  return rows;
}

function leaderboardReport(board: Leaderboard): Report {
  const models = board.winRates.models;
  return {
    title: `Ratings from ${board.battles} battles`,
    warnings: board.warnings,
    notes: [
      board.ratingSystem === "style-controlled bradley-terry"
        ? "Bradley-Terry with style control (FastChat's --style-control): logistic regression on models plus length, header, list and bold covariates, L2 with C=1 as sklearn's default, scale 400 around 1000"
        : "Bradley-Terry: maximum likelihood, ties as half wins, FastChat scale (400 points = 10× odds, mean 1000)",
      ...(board.category !== undefined ? [`category "${board.category}" only (categories: ${board.categories.join(", ")})`] : []),
      board.bootstrapRounds > 0 ? `95% intervals from ${board.bootstrapRounds} bootstrap rounds, seed ${board.seed}` : "no bootstrap (--rounds 0)",
      `online Elo: FastChat's compute_elo (K=4, scale 400, base 10, initial 1000), ${board.onlineEloOrder}; it depends on the order, Bradley-Terry does not`,
      ...(board.bootstrapRounds > 0
        ? ["Elo bootstrap: FastChat's get_bootstrap_result, the median (and 2.5%/97.5% quantiles) of online Elo over the same resampled battle lists, each replayed in the order drawn"]
        : []),
    ],
    tables: [
      ...(board.styleCoefficients
        ? [
            {
              title: "Style coefficients (standardised covariates; positive: voters prefer more of it)",
              headers: ["covariate", "coefficient"],
              rows: Object.entries(board.styleCoefficients).map(([name, value]) => [name, formatNumber(value, 4)]),
              numeric: [false, true],
            },
          ]
        : []),
      {
        title: "Leaderboard",
        headers: ["rank", "model", "Bradley-Terry", "95% interval", "online Elo", "Elo bootstrap median", "95% interval", "battles", "wins", "ties", "losses"],
        rows: board.rows.map((row) => [
          String(row.statisticalRank),
          row.model,
          formatNumber(row.bradleyTerry, 1),
          formatInterval(row.interval),
          formatNumber(row.onlineElo, 1),
          row.eloBootstrap ? formatNumber(row.eloBootstrap.median, 1) : "–",
          formatInterval(row.eloBootstrap),
          String(row.battles),
          String(row.wins),
          String(row.ties),
          String(row.losses),
        ]),
        numeric: [true, false, true, true, true, true, true, true, true, true, true],
      },
      {
        title: "Win rate of row against column (ties as half)",
        headers: ["", ...models],
        rows: models.map((model, i) => [model, ...board.winRates.cells[i].map((cell) => formatPercent(cell.winRate, 0))]),
        numeric: [false, ...models.map(() => true)],
      },
    ],
  };
}

async function ratingsCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    battles: { type: "string" },
    rounds: { type: "string" },
    seed: { type: "string" },
    anchor: { type: "string" },
    judge: { type: "string" },
    "output-format": { type: "string" },
    charts: { type: "string" },
    "style-control": { type: "boolean" },
    category: { type: "string" },
  });
  const path = values.battles ?? positionals[0];
  if (!path) throw new InvalidArgumentError("battles", "--battles <file> is required");
  const format = outputFormat(values["output-format"], io);
  const bootstrapRounds = numberFlag(values.rounds, "rounds", { min: 0, max: 100_000, integer: true }) ?? 1000;
  const seed = numberFlag(values.seed, "seed", { integer: true }) ?? 0;
  let anchor: { model: string; rating: number } | undefined;
  if (values.anchor) {
    const match = /^(.+)=(-?\d+(?:\.\d+)?)$/.exec(values.anchor);
    if (!match) throw new InvalidArgumentError("anchor", `--anchor must be <model>=<rating>, got "${values.anchor}"`);
    anchor = { model: match[1], rating: Number(match[2]) };
  }
  const battles = loadBattles(path, values.judge);
  if (battles.length === 0) throw new InvalidArgumentError("battles", `${path} holds no battles with a verdict`);
  const board = buildLeaderboard(battles, {
    bootstrapRounds,
    seed,
    ...(anchor ? { bradleyTerry: { anchor } } : {}),
    ...(values["style-control"] ? { styleControl: true } : {}),
    ...(values.category !== undefined ? { category: values.category } : {}),
  });
  printReport(io, format, leaderboardReport(board), board);
  if (values.charts && board.rows.length > CHART_MODEL_LIMIT) io.stderr(`charts: the ${CHART_MODEL_LIMIT} best of ${board.rows.length} models, as FastChat draws them\n`);
  await writeCharts(io, values.charts, ratingsCharts(board, battles));
  return 0;
}

async function perplexityCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { ...modelFlagOptions, chunks: { type: "string" }, json: { type: "boolean" } });
  const modelValues: Record<string, unknown> = { ...values };
  let textPath: string | undefined;
  if (positionals.length === 2) [modelValues.model, textPath] = positionals;
  else if (positionals.length === 1) textPath = positionals[0];
  if (!textPath) throw new InvalidArgumentError("text", "usage: camelid eval perplexity <model.gguf> <text file>");
  let text: string;
  try {
    text = readFileSync(textPath, "utf8");
  } catch {
    throw new InvalidArgumentError("text", `file not found: ${textPath}`);
  }
  // n_ctx is the model's context too, so it has the shared --ctx-size bounds (llama.cpp refuses under 16).
  const contextSize = parseLocalModelFlags(values, ["contextSize"]).contextSize ?? 512;
  const maxChunks = numberFlag(values.chunks, "chunks", { min: 1, integer: true });
  // The model needs a context of at least n_ctx tokens.
  const selection = selectModel({ ...(modelValues as Record<string, string>), "ctx-size": String(contextSize) }, io);
  const result = await withModel(selection.create, (model) =>
    computePerplexity(model, text, { contextSize, ...(maxChunks ? { maxChunks } : {}), onProgress: progressPrinter(io) }),
  );
  if (values.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  else
    io.stdout(
      `${result.runningPerplexity.map((p, i) => `[${i + 1}]${p.toFixed(4)}`).join(",")}\n` +
        `perplexity: ${result.perplexity.toFixed(4)} over ${result.scoredTokens} tokens (${result.textTokens} in the text)\n` +
        `method: ${result.method}\n` +
        (result.retokenizationMismatches ? `warning: ${result.retokenizationMismatches} chunks re-tokenized to a different length\n` : ""),
    );
  return 0;
}

async function multipleChoiceCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { ...modelFlagOptions, benchmark: { type: "string" }, limit: { type: "string" }, layout: { type: "string" }, json: { type: "boolean" } });
  noPositionals(positionals);
  const layout = values.layout ?? "harness";
  if (!isMultipleChoiceLayout(layout)) throw new InvalidArgumentError("layout", `--layout must be ${multipleChoiceLayouts.join(" or ")}, got "${layout}"`);
  const path = required(values.benchmark, "benchmark");
  const limit = numberFlag(values.limit, "limit", { min: 1, integer: true });
  const scoring = { ...(limit ? { limit } : {}), onProgress: progressPrinter(io) };
  const kind = detectBenchmarkKind(path);
  if (kind !== "multiple-choice" && values.layout !== undefined) {
    throw new InvalidArgumentError("layout", `--layout applies to multiple-choice rows, but ${path} holds ${kind === "truthfulqa" ? "TruthfulQA" : "CrowS-Pairs"} rows, which have one layout (the harness's)`);
  }
  if (kind === "truthfulqa") {
    const items = loadTruthfulQaItems(path);
    const result = await withModel(selectModel(values, io).create, (model) => evaluateTruthfulQa(model, items, scoring));
    io.stdout(values.json ? `${JSON.stringify(result, null, 2)}\n` : truthfulQaText(result));
    return 0;
  }
  if (kind === "crows-pairs") {
    const items = loadCrowsPairsItems(path);
    const result = await withModel(selectModel(values, io).create, (model) => evaluateCrowsPairs(model, items, scoring));
    io.stdout(values.json ? `${JSON.stringify(result, null, 2)}\n` : crowsPairsText(result));
    return 0;
  }
  const items = loadMultipleChoiceItems(path, { layout });
  const result = await withModel(selectModel(values, io).create, (model) => evaluateMultipleChoice(model, items, scoring));
  if (values.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  else {
    const layouts = Object.entries(result.layouts).map(([name, count]) => `${count} ${name}`).join(", ");
    io.stdout(
      `items: ${result.items}\naccuracy: ${formatPercent(result.accuracy, 2)}\nnormalized accuracy: ${formatPercent(result.normalizedAccuracy, 2)}\n` +
        `prompt layouts: ${layouts}\nmethod: ${result.method}\n`,
    );
  }
  return 0;
}

function truthfulQaText(result: TruthfulQaResult): string {
  const line = (name: string, score: TruthfulQaResult["mc1"]) => `${name}: ${score ? `${formatPercent(score.accuracy, 2)} over ${score.items} questions` : "– (no row has its targets)"}\n`;
  return `questions: ${result.items}\n${line("MC1 (truthfulqa_mc1 acc)", result.mc1)}${line("MC2 (truthfulqa_mc2 acc)", result.mc2)}method: ${result.method}\n`;
}

function crowsPairsText(result: CrowsPairsResult): string {
  const row = (name: string, scores: CrowsPairsScores) => [name, String(scores.pairs), formatPercent(scores.pctStereotype, 2), formatNumber(scores.likelihoodDiff, 4)];
  const report: Report = {
    title: "CrowS-Pairs",
    warnings: [],
    notes: ["pct_stereotype: share of pairs where the more stereotyping sentence is more likely (50% = no preference; lower is better)", `method: ${result.method}`],
    tables: [
      {
        title: "Per bias_type",
        headers: ["bias_type", "pairs", "pct_stereotype", "likelihood_diff"],
        rows: [...Object.entries(result.byBiasType).map(([type, scores]) => row(type, scores)), row("all", result)],
        numeric: [false, true, true, true],
      },
    ],
  };
  return renderTerminal(report);
}
