import type { Answer } from "../data/answers.js";
import type { Question } from "../data/questions.js";
import type { VicunaReviewRow } from "../judge/judgment-rows.js";
import { parseVicunaScores } from "../verdicts/vicuna-scores.js";

export interface VicunaTotals {
  reviews: number;
  /** Reviews whose text yielded two scores. */
  scored: number;
  total1: number;
  total2: number;
  /** Model 1's wins (higher score), ties and losses. */
  win: number;
  tie: number;
  loss: number;
  /** total1 / total2: Vicuna's "x% of ChatGPT quality". */
  relativeScore: number | null;
}

export interface VicunaResults {
  model1: string;
  model2: string;
  overall: VicunaTotals;
  byCategory: Record<string, VicunaTotals>;
  /** Reviews with no scores in the text (excluded and counted), with their question ids. */
  noScore: Array<{ questionId: number | string; reason: string }>;
  /** How each score was found: first line, score lines or tuple. */
  parseMethods: Record<string, number>;
  /** Rows whose stored `score` field differs from what the text says (the text wins). */
  storedScoreDisagreements: Array<number | string>;
  /** When the reviews were also run in the swapped order. */
  positionDiagnostics?: { pairs: number; consistent: number; positionConsistency: number | null; firstPositionWinRate: number | null };
  /** Decisive reviews whose answers differ in length, and how often the longer answer won. */
  longerAnswer?: { decisive: number; longerWins: number; longerAnswerWinRate: number | null };
}

function emptyTotals(): VicunaTotals {
  return { reviews: 0, scored: 0, total1: 0, total2: 0, win: 0, tie: 0, loss: 0, relativeScore: null };
}

function add(totals: VicunaTotals, scores: [number, number] | undefined): void {
  totals.reviews++;
  if (!scores) return;
  totals.scored++;
  totals.total1 += scores[0];
  totals.total2 += scores[1];
  if (scores[0] > scores[1]) totals.win++;
  else if (scores[0] === scores[1]) totals.tie++;
  else totals.loss++;
  totals.relativeScore = totals.total2 > 0 ? totals.total1 / totals.total2 : null;
}

export interface VicunaReviewContext {
  questions?: Question[];
  /** model → question id → answer, to name the models and measure answer lengths. */
  answers?: Map<string, Map<string, Answer>>;
  model1?: string;
  model2?: string;
}

/** Finds which model wrote an answer id. */
function modelOfAnswer(answers: Map<string, Map<string, Answer>> | undefined, answerId: string | undefined): string | undefined {
  if (!answers || !answerId) return undefined;
  for (const [model, byQuestion] of answers) for (const answer of byQuestion.values()) if (answer.answerId === answerId) return model;
  return undefined;
}

/**
 * Totals of a Vicuna-format review file, scores read from each review's text (the source of truth;
 * the published file's `score` field was hand-corrected where FastChat's parser failed).
 */
export function summarizeVicunaReviews(rows: readonly VicunaReviewRow[], context: VicunaReviewContext = {}): VicunaResults {
  const first = rows[0];
  const model1 = context.model1 ?? first?.model_1 ?? modelOfAnswer(context.answers, first?.answer1_id) ?? "assistant 1";
  const model2 = context.model2 ?? first?.model_2 ?? modelOfAnswer(context.answers, first?.answer2_id) ?? "assistant 2";
  const categoryOf = new Map((context.questions ?? []).map((q) => [String(q.questionId), q.category]));
  const overall = emptyTotals();
  const byCategory: Record<string, VicunaTotals> = {};
  const noScore: VicunaResults["noScore"] = [];
  const parseMethods: Record<string, number> = {};
  const storedScoreDisagreements: Array<number | string> = [];
  let swappedPairs = 0;
  let consistent = 0;
  let decisiveGames = 0;
  let firstPositionWins = 0;
  let decisive = 0;
  let longerWins = 0;
  for (const row of rows) {
    const category = row.category ?? categoryOf.get(String(row.question_id)) ?? "general";
    const parsed = parseVicunaScores(row.text);
    const scores = parsed.kind === "scores" ? parsed.scores : undefined;
    if (parsed.kind === "scores") parseMethods[parsed.method] = (parseMethods[parsed.method] ?? 0) + 1;
    else noScore.push({ questionId: row.question_id, reason: parsed.reason });
    if (scores && row.score && row.score[0] >= 0 && (row.score[0] !== scores[0] || row.score[1] !== scores[1])) storedScoreDisagreements.push(row.question_id);
    add(overall, scores);
    add((byCategory[category] ??= emptyTotals()), scores);
    if (scores && scores[0] !== scores[1]) {
      decisiveGames++;
      if (scores[0] > scores[1]) firstPositionWins++;
    }
    if (row.swapped_text !== undefined) {
      const swapped = parseVicunaScores(row.swapped_text);
      if (swapped.kind === "scores") {
        // swapped_text reviews model_2 as Assistant 1.
        const [s2, s1] = swapped.scores;
        if (s2 !== s1) {
          decisiveGames++;
          if (s2 > s1) firstPositionWins++;
        }
        if (scores) {
          swappedPairs++;
          if (Math.sign(scores[0] - scores[1]) === Math.sign(s1 - s2)) consistent++;
        }
      }
    }
    const answer1 = context.answers?.get(model1)?.get(String(row.question_id));
    const answer2 = context.answers?.get(model2)?.get(String(row.question_id));
    if (scores && scores[0] !== scores[1] && answer1 && answer2 && answer1.turns[0].length !== answer2.turns[0].length) {
      decisive++;
      const longerIsFirst = answer1.turns[0].length > answer2.turns[0].length;
      if (longerIsFirst === scores[0] > scores[1]) longerWins++;
    }
  }
  const anySwapped = rows.some((row) => row.swapped_text !== undefined);
  return {
    model1,
    model2,
    overall,
    byCategory,
    noScore,
    parseMethods,
    storedScoreDisagreements,
    ...(anySwapped
      ? {
          positionDiagnostics: {
            pairs: swappedPairs,
            consistent,
            positionConsistency: swappedPairs ? consistent / swappedPairs : null,
            firstPositionWinRate: decisiveGames ? firstPositionWins / decisiveGames : null,
          },
        }
      : {}),
    ...(context.answers ? { longerAnswer: { decisive, longerWins, longerAnswerWinRate: decisive ? longerWins / decisive : null } } : {}),
  };
}
