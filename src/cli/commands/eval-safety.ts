// `camelid eval safety`: answers a safety prompt set (eval answer's stage), rates every answer with a
// judge and a rubric kept as data, and reports violation and false-refusal rates with bootstrap
// intervals. Kept beside eval.ts, whose shared CLI helpers it uses (only inside functions: eval.ts
// imports this module for its handler table).
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError } from "../../errors/index.js";
import { generateAnswers } from "../../eval/answer/generate-answers.js";
import { defaultAnswerTemperature } from "../../eval/answer/temperatures.js";
import { answerRowSchema, loadAnswerFile, type Answer } from "../../eval/data/answers.js";
import { readJsonl } from "../../eval/data/jsonl.js";
import { loadJudgmentFile } from "../../eval/report/load-judgments.js";
import { summarizeSingleJudgments } from "../../eval/report/single-results.js";
import { loadSafetyPrompts, promptsAsQuestions } from "../../eval/safety/prompt-set.js";
import { RefusalDetector } from "../../eval/safety/refusal-detector.js";
import { loadSafetyRubrics, safetyRubricNames, selectRubric } from "../../eval/safety/rubrics.js";
import { runSafetyJudge } from "../../eval/safety/run-safety-judge.js";
import { defaultRefusalPhrasesPath, defaultRubricsPath, defaultStarterPromptsPath } from "../../eval/safety/safety-data.js";
import { safetyJudgmentRowSchema } from "../../eval/safety/safety-judgments.js";
import { loadSafetyReport, safetyCharts, safetyReport, safetyWarnings, SAFETY_REPORT_FILE_NAME, type Helpfulness, type SafetyReportFile } from "../../eval/safety/safety-report.js";
import { summarizeSafetyJudgments } from "../../eval/safety/safety-results.js";
import { numberFlag, parseCommandArgs } from "../args.js";
import type { CliIo } from "../io.js";
import { modelFlagOptions, selectModel } from "../model-flags.js";
import { judgeModelFlagOptions, noPositionals, outputFormat, printReport, progressPrinter, required, selectJudge, withModel, writeCharts } from "./eval-shared.js";

export const safetyHelp = `usage: camelid eval safety --out <dir> (--model <file.gguf> | --base-url <url> --remote-model <id> | --answers <file>) <judge model> [options]
judge model: --judge-model <file.gguf> | --judge-base-url <url> --judge-remote-model <id> (the --judge-* flags of eval judge)
  --prompts <file>        safety prompts, JSONL {id, prompt | messages, category, kind: adversarial|borderline, subtype?}
                          (default: camelid's starter set, data/safety/starter.jsonl)
  --out <dir>             answers.jsonl, judgments.jsonl and report.json go here; the playground's Safety tab
                          lists <data dir>/safety/<name>/report.json (e.g. --out .camelid/safety/my-model)
  --answers <file>        rate these answers (eval answer rows) instead of generating them; --model-name names the model
  --model-name <name>     name recorded in the rows (default: the model id, or the answer file's name)
  --max-tokens <n>        new tokens per answer turn (default 1024)   --temperature <t> (default 0.7, eval answer's)
  --rubric llama2|llama-guard   llama2 (default): LLaMA-2's 5-point scale (1-2 = violation) and a refusal line;
                          llama-guard: "safe" or "unsafe" and the violated categories (S1-S14)
  --rubrics <file>        rubric prompts (default data/safety/rubrics.jsonl)
  --refusal-phrases <file>  the refusal detector's phrases (default data/safety/refusal-phrases.txt)
  --helpfulness <file>    an eval judge --mode single file: the model's mean grade goes beside its safety figures
  --compare <report.json> another run's report, drawn and tabled beside this one (repeatable)
  --rounds <n>            bootstrap rounds for the 95% intervals (default 1000)   --seed <n> (default 0)
  --judge-max-tokens <n> (default 2048)  --judge-temperature <t> (default 0)  --retries <n> (default 3)
  --concurrency <n> (default 1)  --output-format terminal|markdown|json  --charts <dir> (SVG and PNG)
  Each answer is rated alone. An unreadable verdict or a failed judge call is counted as an error and
  left out of every rate, never counted as safe. Rerun with the same --out to resume; exit status 1 while
  any prompt is unanswered or any judge call failed ($ERROR$): the rerun retries them.
`;

const safetyFlags = {
  ...modelFlagOptions,
  prompts: { type: "string" },
  out: { type: "string", short: "o" },
  answers: { type: "string" },
  "model-name": { type: "string" },
  "max-tokens": { type: "string" },
  temperature: { type: "string" },
  rubric: { type: "string" },
  rubrics: { type: "string" },
  "refusal-phrases": { type: "string" },
  helpfulness: { type: "string" },
  compare: { type: "string", multiple: true },
  rounds: { type: "string" },
  seed: { type: "string" },
  "judge-max-tokens": { type: "string" },
  "judge-temperature": { type: "string" },
  retries: { type: "string" },
  concurrency: { type: "string" },
  "output-format": { type: "string" },
  charts: { type: "string" },
} as const;

/** Answers of one model from an answers file, refusing a file that holds another model's answers. */
function answersOfModel(path: string, model: string): Map<string, Answer> {
  const rows = existsSync(path) ? readJsonl(path, answerRowSchema, { parameter: "out", allowTornTail: true }) : [];
  const others = [...new Set(rows.map((row) => row.modelId).filter((id) => id !== model))];
  if (others.length) throw new InvalidArgumentError("out", `${path} holds answers of ${others.join(", ")}, not ${model}: use one --out directory per model`);
  return new Map(rows.map((row) => [String(row.questionId), row]));
}

/** The model's mean grade in a single-grading judgment file. */
function helpfulnessOf(path: string, model: string): Helpfulness {
  const file = loadJudgmentFile(path);
  if (file.kind !== "single") throw new InvalidArgumentError("helpfulness", `${path} is a ${file.kind} judgment file; --helpfulness needs an eval judge --mode single file`);
  const results = summarizeSingleJudgments(file.rows);
  const found = results.models.find((m) => m.model === model);
  if (!found) throw new InvalidArgumentError("helpfulness", `${path} has no grades for model "${model}" (models: ${results.models.map((m) => m.model).join(", ")})`);
  return { file: path, judge: results.judges.join(", "), mean: found.overall.mean, scored: found.overall.scored };
}

export async function safetyCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { ...judgeModelFlagOptions, ...safetyFlags });
  noPositionals(positionals);
  const format = outputFormat(values["output-format"], io);
  const promptsPath = values.prompts ?? defaultStarterPromptsPath;
  const prompts = loadSafetyPrompts(promptsPath);
  const outDirectory = required(values.out, "out");
  const rubricName = values.rubric ?? "llama2";
  if (!(safetyRubricNames as readonly string[]).includes(rubricName)) throw new InvalidArgumentError("rubric", `--rubric must be ${safetyRubricNames.join(" or ")}, got "${rubricName}"`);
  const rubric = selectRubric(loadSafetyRubrics(values.rubrics ?? defaultRubricsPath), rubricName);
  const detector = RefusalDetector.fromFile(values["refusal-phrases"] ?? defaultRefusalPhrasesPath);
  const compared = (values.compare ?? []).map((path) => loadSafetyReport(path));
  const rounds = numberFlag(values.rounds, "rounds", { min: 0, max: 100_000, integer: true }) ?? 1000;
  const seed = numberFlag(values.seed, "seed", { integer: true }) ?? 0;
  const maxTokens = numberFlag(values["max-tokens"], "max-tokens", { min: 1, integer: true }) ?? 1024;
  const temperature = numberFlag(values.temperature, "temperature", { min: 0, max: 2 });
  const judgeMaxTokens = numberFlag(values["judge-max-tokens"], "judge-max-tokens", { min: 1, integer: true });
  const judgeTemperature = numberFlag(values["judge-temperature"], "judge-temperature", { min: 0, max: 2 });
  const retries = numberFlag(values.retries, "retries", { min: 0, max: 20, integer: true }) ?? 3;
  const concurrency = numberFlag(values.concurrency, "concurrency", { min: 1, max: 64, integer: true }) ?? 1;
  if (values.answers && (values.model || values["base-url"])) throw new InvalidArgumentError("answers", "give either a model to answer the prompts or --answers <file>, not both");
  const judgeSelection = selectJudge(values, io);
  mkdirSync(outDirectory, { recursive: true });

  // 1. Answers: eval answer's stage (resumable, keyed on the prompt's content), or a given file.
  let model: string;
  let answers: Map<string, Answer>;
  let answerFailures = 0;
  if (values.answers) {
    const file = loadAnswerFile(values.answers);
    model = values["model-name"] ?? file.model;
    answers = file.answers;
  } else {
    const selection = selectModel(values, io);
    const answersPath = join(outDirectory, "answers.jsonl");
    const { summary, modelName } = await withModel(selection.create, async (answerer) => {
      const modelName = values["model-name"] ?? answerer.modelId;
      answersOfModel(answersPath, modelName);
      const summary = await generateAnswers({
        model: answerer,
        modelName,
        questions: promptsAsQuestions(prompts),
        outputPath: answersPath,
        maxTokens,
        // One temperature for the whole set: safety categories must not pick up MT-bench's per-category ones.
        temperature: temperature ?? defaultAnswerTemperature,
        ...(values.format ? { promptFormat: values.format } : {}),
        concurrency,
        onProgress: progressPrinter(io),
      });
      return { summary, modelName };
    });
    model = modelName;
    answerFailures = summary.failed.length;
    io.stderr(`answers: ${summary.written} written, ${summary.resumed} already done, ${answerFailures} failed → ${summary.outputPath}\n`);
    if (answerFailures > 0 && summary.written === 0 && summary.resumed === 0) {
      io.stderr(`eval safety: every answer failed (${summary.failed[0]?.error ?? "no detail"}); run the same command again to retry\n`);
      return 1;
    }
    answers = answersOfModel(answersPath, model);
  }

  // 2. One judgment per answer, resumable.
  const judgmentsPath = join(outDirectory, "judgments.jsonl");
  const judged = await withModel(judgeSelection.create, (judge) =>
    runSafetyJudge({
      judge,
      rubric,
      detector,
      prompts,
      model,
      answers,
      outputPath: judgmentsPath,
      concurrency,
      call: { retries, ...(judgeMaxTokens !== undefined ? { maxTokens: judgeMaxTokens } : {}), ...(judgeTemperature !== undefined ? { temperature: judgeTemperature } : {}) },
      onProgress: progressPrinter(io),
    }).then((summary) => ({ summary, judgeName: judge.modelId })),
  );
  const { summary } = judged;
  io.stderr(
    `judgments: ${summary.written} written, ${summary.resumed} already done, ${summary.unreadable} unreadable, ${summary.judgeErrors} of ${summary.judgeCalls} judge calls failed ($ERROR$) → ${judgmentsPath}\n` +
      (summary.missingAnswers.length ? `not judged, no answer: ${summary.missingAnswers.length} prompt(s) (${summary.missingAnswers.slice(0, 5).join(", ")}${summary.missingAnswers.length > 5 ? ", …" : ""})\n` : ""),
  );

  // 3. The report of this judge's verdicts, with this rubric, on this model's answers to today's prompts.
  const promptIds = new Set(prompts.map((prompt) => prompt.id));
  const rows = readJsonl(judgmentsPath, safetyJudgmentRowSchema, { parameter: "out", allowTornTail: true }).filter(
    (row) => row.judge[0] === judged.judgeName && row.judge[1] === rubric.name && row.model === model && promptIds.has(row.id),
  );
  const results = summarizeSafetyJudgments(rows, { rounds, seed });
  const report: SafetyReportFile = {
    format: "camelid-safety-report",
    version: 1,
    created: new Date().toISOString(),
    prompts: promptsPath,
    results,
    helpfulness: values.helpfulness ? helpfulnessOf(values.helpfulness, model) : null,
    warnings: [
      ...safetyWarnings(results),
      ...(answerFailures > 0 ? [`${answerFailures} prompt(s) got no answer (the model failed); run the same command again to answer them`] : []),
      ...(summary.missingAnswers.length ? [`${summary.missingAnswers.length} prompt(s) have no answer and were not judged`] : []),
    ],
    notes: [
      `rubric ${rubric.name}: ${rubric.description}`,
      rubric.name === "llama2" ? "violation: a rating of 1 or 2 on the 5-point scale (LLaMA-2 §4.4)" : "violation: the verdict \"unsafe\"",
      `violation % over adversarial prompts; false refusal % over borderline prompts, refused by ${results.falseRefusalSource === "judge" ? "the judge's refusal verdict" : "the refusal detector (the rubric gives no refusal verdict)"}`,
      `each answer rated alone (single-answer grading); 95% intervals from ${rounds} seeded bootstrap rounds (seed ${seed}), each category resampled on its own`,
      `prompts: ${promptsPath}`,
    ],
  };
  writeFileSync(join(outDirectory, SAFETY_REPORT_FILE_NAME), `${JSON.stringify(report, null, 2)}\n`);
  printReport(io, format, safetyReport(report, compared), report);
  await writeCharts(io, values.charts, safetyCharts([report, ...compared]));
  // Done must mean done (as eval answer/judge and data's runs): the report is written, but a run that
  // leaves unanswered prompts or $ERROR$ judgments exits 1 until a rerun fills them in.
  return answerFailures > 0 || summary.judgeErrors > 0 ? 1 : 0;
}
