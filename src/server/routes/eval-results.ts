// Evaluation results for the playground's Eval tab, read-only: each folder of `<data dir>/eval` in
// FastChat llm_judge's own layout (data/<bench>/ there), so FastChat's published files can be dropped in:
//   question.jsonl                 the questions (categories come from here for files without them)
//   model_answer/<model>.jsonl     each model's answers (camelid eval answer --out)
//   model_judgment/<name>.jsonl    judgment files: single, pairwise or Vicuna review (camelid eval judge --out)
// Every judgment file gets `eval show`'s reports (tables and charts, one per judge), and a per-question
// browser gives a question, each model's answer and every judge's reasoning and verdict on it, as
// FastChat's qa_browser.py does.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadAnswerDirectory, type Answer } from "../../eval/data/answers.js";
import { loadQuestions, type Question } from "../../eval/data/questions.js";
import { loadJudgmentFile, type JudgmentFile } from "../../eval/report/load-judgments.js";
import type { ChartFile } from "../../eval/report/report-charts.js";
import { showReports } from "../../eval/report/show-reports.js";
import type { Report } from "../../eval/report/tables.js";
import type { ServerApp } from "../context.js";
import { ResourceNotFoundError } from "../http-errors.js";
import { dataFolder, dataFolderNames } from "./data-folders.js";

/** Where results are read: `<data dir>/eval`. */
export const evalResultsSubdirectory = "eval";

export const evalLayout = { questions: "question.jsonl", answers: "model_answer", judgments: "model_judgment" } as const;

interface LoadedResults {
  questions: { list: Question[]; path: string } | undefined;
  answers: Map<string, Map<string, Answer>> | undefined;
  judgments: { file: string; judgments: JudgmentFile }[];
  /** Files that could not be read, by name, with the reason (a damaged file never hides the others). */
  problems: { file: string; message: string }[];
}

/** A message that names files inside the folder, never the server's paths. */
const relative = (message: string, folder: string) => message.split(`${folder}/`).join("");

function judgmentFileNames(folder: string): string[] {
  const directory = join(folder, evalLayout.judgments);
  if (!statSync(directory, { throwIfNoEntry: false })?.isDirectory()) return [];
  return readdirSync(directory)
    .filter((file) => file.endsWith(".jsonl"))
    .sort();
}

function loadResults(folder: string): LoadedResults {
  const problems: LoadedResults["problems"] = [];
  const attempt = <T>(file: string, load: () => T): T | undefined => {
    try {
      return load();
    } catch (error) {
      problems.push({ file, message: relative((error as Error).message, folder) });
      return undefined;
    }
  };
  const questionsPath = join(folder, evalLayout.questions);
  const questions = existsSync(questionsPath) ? attempt(evalLayout.questions, () => ({ list: loadQuestions(questionsPath), path: evalLayout.questions })) : undefined;
  const answers = existsSync(join(folder, evalLayout.answers)) ? attempt(evalLayout.answers, () => loadAnswerDirectory(join(folder, evalLayout.answers))) : undefined;
  const judgments = judgmentFileNames(folder).flatMap((name) => {
    const file = `${evalLayout.judgments}/${name}`;
    const judgments = attempt(file, () => loadJudgmentFile(join(folder, evalLayout.judgments, name)));
    return judgments ? [{ file, judgments }] : [];
  });
  return { questions, answers, judgments, problems };
}

const judgeOf = (row: { judge?: [string, string] | undefined }) => row.judge?.[0] ?? null;

/** One judge's judgment of one question (and turn): its full text per game (the reasoning) and its verdict. */
export interface QuestionJudgment {
  file: string;
  kind: JudgmentFile["kind"];
  judge: string | null;
  turn: number;
  repeat: number;
  models: string[];
  verdict: string;
  /** A single grade (-1: none); null for comparisons. */
  score: number | null;
  games: { label: string; judgment: string }[];
}

/** A file that could not be read, named relative to the result folder. */
export interface EvalProblem {
  file: string;
  message: string;
}

/** GET /api/eval/results */
export interface EvalResultList {
  object: "list";
  data: { name: string; judgment_files: string[]; updated: string }[];
}

/** One judgment file's `eval show` report, with its charts. */
export type EvalShownReport = Report & { file: string; kind: JudgmentFile["kind"]; judge: string | null; charts: ChartFile[] };

/** GET /api/eval/results/:name */
export interface EvalResultsDetail {
  name: string;
  questions: number | null;
  models: string[];
  reports: EvalShownReport[];
  problems: EvalProblem[];
}

/** One question of the browser's list. */
export interface EvalQuestionSummary {
  question_id: number | string;
  category: string;
  preview: string;
  judged: boolean;
}

/** GET /api/eval/results/:name/questions */
export interface EvalQuestionList {
  categories: string[];
  questions: EvalQuestionSummary[];
  problems: EvalProblem[];
}

/** GET /api/eval/results/:name/questions/:id: the question, every model's answer and every judgment of it. */
export interface EvalQuestionDetail {
  question: { question_id: number | string; category: string; turns: string[]; reference: string[] | null };
  answers: { model: string; turns: string[]; prompt_format: string | null }[];
  judgments: QuestionJudgment[];
}

/** Every judgment of one question, with the judge's full text (its reasoning) and its verdict. */
function judgmentsOf(results: LoadedResults, questionId: string): QuestionJudgment[] {
  return results.judgments.flatMap<QuestionJudgment>(({ file, judgments }) => {
    if (judgments.kind === "single") {
      return judgments.rows
        .filter((row) => String(row.question_id) === questionId)
        .map((row) => ({
          file,
          kind: "single",
          judge: judgeOf(row),
          turn: row.turn,
          repeat: row.repeat,
          models: [row.model],
          verdict: row.error ? `error: ${row.error}` : row.score < 0 ? `no rating${row.no_score_reason ? ` (${row.no_score_reason})` : ""}` : `Rating: ${row.score}`,
          score: row.score,
          games: [{ label: `${row.model}`, judgment: row.judgment }],
        }));
    }
    if (judgments.kind === "pairwise") {
      const named = (winner: string, first: string, second: string) => (winner === "model_1" ? first : winner === "model_2" ? second : winner);
      return judgments.rows
        .filter((row) => String(row.question_id) === questionId)
        .map((row) => ({
          file,
          kind: "pairwise",
          judge: judgeOf(row),
          turn: row.turn,
          repeat: row.repeat,
          models: [row.model_1, row.model_2],
          verdict: `Game 1: ${named(row.g1_winner, row.model_1, row.model_2)}; game 2: ${named(row.g2_winner, row.model_1, row.model_2)}`,
          score: null,
          // FastChat's two games: game 1 shows model_1 as Assistant A, game 2 swaps them.
          games: [
            { label: `Game 1 (A: ${row.model_1}, B: ${row.model_2}) — winner ${named(row.g1_winner, row.model_1, row.model_2)}`, judgment: row.g1_judgment },
            { label: `Game 2 (A: ${row.model_2}, B: ${row.model_1}) — winner ${named(row.g2_winner, row.model_1, row.model_2)}`, judgment: row.g2_judgment },
          ],
        }));
    }
    return judgments.rows
      .filter((row) => String(row.question_id) === questionId)
      .map((row) => {
        const first = row.model_1 ?? "Assistant 1";
        const second = row.model_2 ?? "Assistant 2";
        return {
          file,
          kind: "vicuna-review",
          judge: judgeOf(row),
          turn: 1,
          repeat: row.repeat,
          models: [first, second],
          verdict: row.score ? `Scores: ${first} ${row.score[0]}, ${second} ${row.score[1]}` : "no scores",
          score: null,
          games: [
            { label: `Review (Assistant 1: ${first}, Assistant 2: ${second})`, judgment: row.text },
            ...(row.swapped_text !== undefined ? [{ label: `Swapped review (Assistant 1: ${second}, Assistant 2: ${first})`, judgment: row.swapped_text }] : []),
          ],
        };
      });
  });
}

/** Question ids of the judgment files, in order of first appearance (for folders without question.jsonl). */
function judgedQuestionIds(results: LoadedResults): string[] {
  const ids = new Set<string>();
  for (const { judgments } of results.judgments) for (const row of judgments.rows) ids.add(String(row.question_id));
  return [...ids];
}

/** Every file the results are read from, with its size and modification time: equal means unchanged. */
function filesSignature(folder: string): string {
  const entries: string[] = [];
  const add = (path: string) => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat?.isFile()) entries.push(`${path}:${stat.size}:${stat.mtimeMs}`);
  };
  add(join(folder, evalLayout.questions));
  for (const sub of [evalLayout.answers, evalLayout.judgments]) {
    const directory = join(folder, sub);
    if (statSync(directory, { throwIfNoEntry: false })?.isDirectory()) for (const name of readdirSync(directory).sort()) add(join(directory, name));
  }
  return entries.join("\n");
}

export function registerEvalResultRoutes(app: ServerApp, directory: string): void {
  // Browsing reads one question after another from the same files: they are parsed again only when they
  // change (a judge run appending rows), not on every click.
  const cache = new Map<string, { signature: string; results: LoadedResults }>();
  const resultsIn = (folder: string): LoadedResults => {
    const signature = filesSignature(folder);
    const cached = cache.get(folder);
    if (cached?.signature === signature) return cached.results;
    const results = loadResults(folder);
    cache.set(folder, { signature, results });
    return results;
  };
  const resultsFolder = (name: string) => dataFolder(directory, name, "evaluation result");

  app.get("/api/eval/results", (c) => {
    const results = dataFolderNames(directory, [evalLayout.judgments, evalLayout.questions, evalLayout.answers]).map((name) => {
      const folder = join(directory, name);
      return { name, judgment_files: judgmentFileNames(folder).map((file) => `${evalLayout.judgments}/${file}`), updated: statSync(folder).mtime.toISOString() };
    });
    const list: EvalResultList = { object: "list", data: results };
    return c.json(list);
  });

  app.get("/api/eval/results/:name", (c) => {
    const name = c.req.param("name");
    const results = resultsIn(resultsFolder(name));
    const reports = results.judgments.flatMap(({ file, judgments }): EvalShownReport[] =>
      showReports(judgments, { ...(results.questions ? { questions: results.questions } : {}), ...(results.answers ? { answers: results.answers } : {}) }).map((shown) => ({
        file,
        kind: judgments.kind,
        judge: shown.judge ?? null,
        ...shown.report,
        charts: shown.charts,
      })),
    );
    const detail: EvalResultsDetail = {
      name,
      questions: results.questions?.list.length ?? null,
      models: results.answers ? [...results.answers.keys()] : [],
      reports,
      problems: results.problems,
    };
    return c.json(detail);
  });

  app.get("/api/eval/results/:name/questions", (c) => {
    const results = resultsIn(resultsFolder(c.req.param("name")));
    const judged = new Set(judgedQuestionIds(results));
    const questions: EvalQuestionSummary[] = results.questions
      ? results.questions.list.map((question) => ({ question_id: question.questionId, category: question.category, preview: question.turns[0].slice(0, 160), judged: judged.has(String(question.questionId)) }))
      : [...judged].map((id) => ({ question_id: id, category: "unknown", preview: `question ${id} (no question.jsonl)`, judged: true }));
    const list: EvalQuestionList = { categories: [...new Set(questions.map((question) => question.category))], questions, problems: results.problems };
    return c.json(list);
  });

  app.get("/api/eval/results/:name/questions/:id", (c) => {
    const name = c.req.param("name");
    const id = c.req.param("id");
    const results = resultsIn(resultsFolder(name));
    const question = results.questions?.list.find((q) => String(q.questionId) === id);
    const judgments = judgmentsOf(results, id);
    if (!question && judgments.length === 0) throw new ResourceNotFoundError("question", `evaluation "${name}" has no question ${id}`);
    const answers = results.answers
      ? [...results.answers].flatMap(([model, byQuestion]) => {
          const answer = byQuestion.get(id);
          return answer ? [{ model, turns: answer.turns, prompt_format: answer.promptFormat ?? null }] : [];
        })
      : [];
    const detail: EvalQuestionDetail = {
      question: question ? { question_id: question.questionId, category: question.category, turns: question.turns, reference: question.reference ?? null } : { question_id: id, category: "unknown", turns: [], reference: null },
      answers,
      judgments,
    };
    return c.json(detail);
  });
}
