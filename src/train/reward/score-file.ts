import { z } from "zod";
import { NoUsableRowsError } from "../../datagen/formats/data-file-errors.js";
import { readRowsFile } from "../../datagen/formats/json-rows.js";
import type { ChatMessage } from "../../spec/messages.js";
import type { SampleProblem } from "../prepare-data.js";
import { detectPreferenceFormat, readPreferencePairs } from "../preference-rows.js";
import type { LoadedRewardModel } from "./load-reward-model.js";
import { pairAccuracy } from "./pairwise-loss.js";

/**
 * `camelid eval reward`'s input: answer rows {prompt, answer} (prompt a string or a message list ending
 * with a user turn; an optional system and id) get one score each; a file of preference pairs (any
 * layout `camelid train --method reward` reads) gets both answers scored and the pair accuracy.
 */
const messageSchema = z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() });
const answerRowSchema = z.object({ prompt: z.union([z.string(), z.array(messageSchema).min(1)]), answer: z.string(), system: z.string().optional(), id: z.union([z.string(), z.number()]).optional() }).loose();

export interface AnswerScoreRow {
  line: number;
  id?: string | number;
  prompt: string;
  answer: string;
  score: number;
}

export interface PairScoreRow {
  line: number;
  prompt: string;
  chosen_score: number;
  rejected_score: number;
  /** r_chosen − r_rejected */
  margin: number;
  correct: boolean;
}

export type RewardFileScores =
  | { kind: "answers"; rows: AnswerScoreRow[]; problems: SampleProblem[]; summary: { rows: number; scored: number; meanScore: number; minScore: number; maxScore: number } }
  | { kind: "pairs"; rows: PairScoreRow[]; problems: SampleProblem[]; summary: { rows: number; scored: number; accuracy: number; meanMargin: number } };

const lastUserText = (prompt: readonly ChatMessage[]) => prompt.at(-1)?.content ?? "";

/** Scores every usable row of the file; bad rows are problems with file:line; none usable is a NoUsableRowsError. */
export function scoreRewardFile(path: string, reward: LoadedRewardModel): RewardFileScores {
  const { rows } = readRowsFile(path, "data");
  const isPairs = rows.some((row) => detectPreferenceFormat(row.value) !== undefined);
  return isPairs ? scorePairs(path, reward) : scoreAnswers(path, rows, reward);
}

function scoreAnswers(path: string, rows: ReturnType<typeof readRowsFile>["rows"], reward: LoadedRewardModel): RewardFileScores {
  const problems: SampleProblem[] = [];
  const usable: { line: number; id?: string | number; prompt: ChatMessage[]; answer: string; tokens: Int32Array }[] = [];
  for (const row of rows) {
    const problem = (message: string) => problems.push({ file: path, line: row.line, message });
    if (row.error !== undefined) {
      problem(row.error);
      continue;
    }
    const parsed = answerRowSchema.safeParse(row.value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const key = issue.path.join(".") || "row";
      const present = row.value && typeof row.value === "object" && issue.path.length > 0 && (row.value as Record<PropertyKey, unknown>)[issue.path[0]] !== undefined;
      problem(`${key}: ${present ? issue.message : "missing field"} (an answer row is {prompt, answer}; a pair is {prompt, chosen, rejected})`);
      continue;
    }
    const value = parsed.data;
    const prompt: ChatMessage[] = typeof value.prompt === "string" ? [...(value.system ? [{ role: "system" as const, content: value.system }] : []), { role: "user", content: value.prompt }] : value.prompt;
    const tokenized = reward.tokenize(prompt, value.answer, { file: path, line: row.line });
    if ("problem" in tokenized) {
      problem(tokenized.problem);
      continue;
    }
    usable.push({ line: row.line, ...(value.id !== undefined ? { id: value.id } : {}), prompt, answer: value.answer, tokens: tokenized.tokens });
  }
  if (usable.length === 0) throw new NoUsableRowsError("data", path, `none of its ${rows.length} row(s) can be scored${problems[0] ? `; first: ${problems[0].file}:${problems[0].line}: ${problems[0].message}` : ""}`);
  const scores = reward.scoreTokens(usable.map((row) => row.tokens));
  const scored = usable.map((row, i): AnswerScoreRow => ({ line: row.line, ...(row.id !== undefined ? { id: row.id } : {}), prompt: lastUserText(row.prompt), answer: row.answer, score: scores[i] }));
  const values = [...scores];
  return {
    kind: "answers",
    rows: scored,
    problems,
    summary: { rows: rows.length, scored: scored.length, meanScore: values.reduce((a, b) => a + b, 0) / values.length, minScore: Math.min(...values), maxScore: Math.max(...values) },
  };
}

function scorePairs(path: string, reward: LoadedRewardModel): RewardFileScores {
  const read = readPreferencePairs(path);
  const problems = [...read.problems];
  const usable: { line: number; prompt: ChatMessage[]; chosen: Int32Array; rejected: Int32Array }[] = [];
  for (const pair of read.pairs) {
    const where = { file: pair.file, line: pair.line };
    const chosen = reward.tokenize(pair.prompt, pair.chosen, where), rejected = reward.tokenize(pair.prompt, pair.rejected, where);
    if ("problem" in chosen || "problem" in rejected) {
      problems.push({ ...where, message: "problem" in chosen ? `chosen: ${chosen.problem}` : `rejected: ${(rejected as { problem: string }).problem}` });
      continue;
    }
    usable.push({ line: pair.line, prompt: pair.prompt, chosen: chosen.tokens, rejected: rejected.tokens });
  }
  problems.sort((a, b) => a.line - b.line);
  if (usable.length === 0) throw new NoUsableRowsError("data", path, `none of its ${read.pairs.length + read.problems.length} pair(s) can be scored${problems[0] ? `; first: ${problems[0].file}:${problems[0].line}: ${problems[0].message}` : ""}`);
  const scores = reward.scoreTokens(usable.flatMap((pair) => [pair.chosen, pair.rejected]));
  const rows = usable.map((pair, i): PairScoreRow => {
    const chosen = scores[2 * i], rejected = scores[2 * i + 1];
    return { line: pair.line, prompt: lastUserText(pair.prompt), chosen_score: chosen, rejected_score: rejected, margin: chosen - rejected, correct: chosen > rejected };
  });
  return {
    kind: "pairs",
    rows,
    problems,
    summary: { rows: read.pairs.length + read.problems.length, scored: rows.length, accuracy: pairAccuracy(rows.filter((row) => row.correct).length, rows.length, rows.filter((row) => row.margin === 0).length), meanMargin: rows.reduce((sum, row) => sum + row.margin, 0) / rows.length },
  };
}
