import type { Question } from "../data/questions.js";

export interface CategorizedRows<Row> {
  rows: Row[];
  /** Rows that took their category from the question file. */
  filled: number;
  /** Question ids the rows name but the question file lacks (those rows stay in "general"). */
  unknownQuestions: Array<number | string>;
}

/**
 * FastChat's judgment files (`model_judgment/<judge>_single.jsonl`, `_pair.jsonl`) carry no category:
 * FastChat joins them with `question.jsonl` by question id. This does the same for rows without one,
 * so per-category tables and radar charts work on FastChat's own files; a row's own category wins.
 */
export function withQuestionCategories<Row extends { question_id: number | string; category?: string | undefined }>(
  rows: readonly Row[],
  questions: readonly Question[],
): CategorizedRows<Row> {
  const categoryOf = new Map(questions.map((question) => [String(question.questionId), question.category]));
  const unknown = new Set<string>();
  const unknownQuestions: Array<number | string> = [];
  let filled = 0;
  const categorized = rows.map((row) => {
    if (row.category !== undefined) return row;
    const category = categoryOf.get(String(row.question_id));
    if (category === undefined) {
      if (!unknown.has(String(row.question_id))) unknownQuestions.push(row.question_id);
      unknown.add(String(row.question_id));
      return row;
    }
    filled++;
    return { ...row, category };
  });
  return { rows: categorized, filled, unknownQuestions };
}

/** What the report says about where the categories came from, and a warning for what could not be matched. */
export function questionCategoryMessages(result: CategorizedRows<unknown>, questionsPath: string): { notes: string[]; warnings: string[] } {
  const notes = [`categories of ${result.filled} judgments taken from ${questionsPath} (matched by question_id, as FastChat does)`];
  const warnings: string[] = [];
  if (result.unknownQuestions.length > 0) {
    const shown = result.unknownQuestions.slice(0, 10).join(", ");
    warnings.push(`questions ${shown}${result.unknownQuestions.length > 10 ? ", …" : ""} are not in ${questionsPath}; their judgments count as "general"`);
  }
  return { notes, warnings };
}
