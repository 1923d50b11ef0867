// `camelid eval show`'s reports from a loaded judgment file: one per judge (never pooled), each with its
// tables and charts. Shared by the CLI and the playground's Eval tab, so both show the same figures.
import type { Answer } from "../data/answers.js";
import type { Question } from "../data/questions.js";
import { pairwiseReport, singleReport, vicunaReport } from "./build-reports.js";
import { groupByJudge } from "./by-judge.js";
import type { JudgmentFile } from "./load-judgments.js";
import { pairwiseFromSingle } from "./pairwise-from-single.js";
import { summarizePairwiseJudgments } from "./pairwise-results.js";
import { questionCategoryMessages, withQuestionCategories } from "./question-categories.js";
import { pairwiseCharts, singleCharts, vicunaCharts, type ChartFile } from "./report-charts.js";
import { summarizeSingleJudgments } from "./single-results.js";
import type { Report } from "./tables.js";
import { summarizeVicunaReviews } from "./vicuna-results.js";

/** One report of `eval show`: one judge's results. */
export interface ShownReport {
  judge: string | undefined;
  report: Report;
  results: unknown;
  charts: ChartFile[];
}

export interface ShowReportOptions {
  /** Categories by question id for files without them (FastChat's own), and Vicuna reviews' questions. */
  questions?: { list: Question[]; path: string };
  answers?: Map<string, Map<string, Answer>>;
  /** Vicuna reviews: the stored scores (default) or the ones in the review text. */
  scoreSource?: "stored" | "text";
  /** A single-grading file read as pairwise verdicts (FastChat's pairwise-from-single). */
  pairwiseFromSingle?: boolean;
  baseline?: string;
}

export function showReports(file: JudgmentFile, options: ShowReportOptions = {}): ShownReport[] {
  const { questions, answers } = options;
  // FastChat's judgment files carry no category: the question file supplies them by question id.
  let categoryMessages = { notes: [] as string[], warnings: [] as string[] };
  const categorized = <Row extends { question_id: number | string; category?: string | undefined }>(rows: Row[]): Row[] => {
    if (!questions) return rows;
    const result = withQuestionCategories(rows, questions.list);
    categoryMessages = questionCategoryMessages(result, questions.path);
    return result.rows;
  };
  const withFormats = (report: Report) => ({
    ...report,
    warnings: [...report.warnings, ...categoryMessages.warnings],
    notes: [...report.notes, ...categoryMessages.notes, ...promptFormatNotes(answers)],
  });
  const shown: ShownReport[] = [];
  if (file.kind === "single") {
    for (const { judge, rows } of groupByJudge(categorized(file.rows), (row) => row.judge[0])) {
      if (options.pairwiseFromSingle) {
        const results = summarizePairwiseJudgments(pairwiseFromSingle(rows, options.baseline !== undefined ? { baseline: options.baseline } : {}));
        shown.push({ judge, report: withFormats(pairwiseReport(results)), results, charts: pairwiseCharts(results) });
      } else {
        const results = summarizeSingleJudgments(rows);
        shown.push({ judge, report: withFormats(singleReport(results)), results, charts: singleCharts(results) });
      }
    }
  } else if (file.kind === "pairwise") {
    for (const { judge, rows } of groupByJudge(categorized(file.rows), (row) => row.judge[0])) {
      const results = summarizePairwiseJudgments(rows);
      shown.push({ judge, report: withFormats(pairwiseReport(results)), results, charts: pairwiseCharts(results) });
    }
  } else {
    for (const { judge, rows } of groupByJudge(file.rows, (row) => row.judge?.[0])) {
      const results = summarizeVicunaReviews(rows, {
        ...(questions ? { questions: questions.list } : {}),
        ...(answers ? { answers } : {}),
        ...(options.scoreSource === "text" ? { scoreSource: "text" as const } : {}),
      });
      shown.push({ judge, report: withFormats(vicunaReport(results)), results, charts: vicunaCharts(results) });
    }
  }
  return shown;
}

/** A wrong chat template skews a whole evaluation, so the report says which one each model answered with. */
function promptFormatNotes(answers: Map<string, Map<string, Answer>> | undefined): string[] {
  if (!answers) return [];
  return [...answers].map(([model, byQuestion]) => {
    const formats = [...new Set([...byQuestion.values()].map((answer) => answer.promptFormat ?? "not recorded"))];
    return `${model} answered with prompt format: ${formats.join(", ")}`;
  });
}
