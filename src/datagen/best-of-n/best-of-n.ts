import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError } from "../../errors/index.js";
import type { LanguageModel } from "../../spec/index.js";
import type { DistillPrompt } from "../distill/distill.js";
import { runItemStage, type ItemOutcome, type ItemStageSummary } from "../run/item-stage.js";
import { stageRunOptions, type RunOptions } from "../run/run-options.js";
import { Teacher, type SamplingSettings } from "../teacher/teacher.js";
import type { AnswerScore, AnswerScorer } from "./answer-scorer.js";

/**
 * Rejection sampling (LLaMA-2 §3.2.3): K answers per prompt from the model, each scored, the best kept
 * as an SFT sample and, with `pairs`, the best and the worst as a preference pair.
 */
export interface BestOfNSettings {
  /** Answers sampled per prompt (K). */
  n: number;
  /** Answer k is sampled with seed `seed + k`, so a resume or another run asks for the same answers. */
  seed: number;
  /** Temperature and max tokens of every answer; LLaMA-2 sampled at higher temperatures for diversity (default 1.0). */
  sampling: SamplingSettings;
  /** Also write pairs.jsonl: best as chosen, worst as rejected. */
  pairs: boolean;
}

export const defaultBestOfNSettings: BestOfNSettings = { n: 4, seed: 0, sampling: { temperature: 1.0, maxTokens: 1024 }, pairs: false };

export interface BestOfNRun extends RunOptions {
  model: LanguageModel;
  scorer: AnswerScorer;
  prompts: DistillPrompt[];
  settings: BestOfNSettings;
}

export const bestFile = "best.jsonl";
export const pairsFile = "pairs.jsonl";
export const samplesFile = "samples.jsonl";

/** One sampled answer and what became of it. */
export interface Candidate {
  index: number;
  seed: number;
  text: string;
  /** Why it took no part in the choice (empty, cut by max tokens, unscored by the scorer). */
  excluded?: "empty" | "truncated" | "unscored";
  score?: number;
  reason?: string;
}

/**
 * The best and the worst scored candidates; a tie goes to the one sampled first (for both ends), so the
 * choice depends on the scores alone, never on timing.
 */
export function bestAndWorst(candidates: readonly Candidate[]): { best?: Candidate; worst?: Candidate; scored: number } {
  const scored = candidates.filter((c) => c.excluded === undefined && c.score !== undefined);
  let best: Candidate | undefined, worst: Candidate | undefined;
  for (const candidate of scored) {
    if (!best || candidate.score! > best.score!) best = candidate;
    if (!worst || candidate.score! < worst.score!) worst = candidate;
  }
  return { best, worst, scored: scored.length };
}

/** Outcomes per prompt: "done" (best kept, and a pair with --pairs), "no-pair", "unscored" (nothing scored: nothing kept). */
export async function runBestOfN(run: BestOfNRun): Promise<ItemStageSummary> {
  const settings = run.settings;
  if (!Number.isInteger(settings.n) || settings.n < 1) throw new InvalidArgumentError("n", `n must be a positive integer, got ${settings.n}`);
  return runItemStage<DistillPrompt, Record<string, unknown>>({
    label: "best-of-n",
    outputDirectory: run.outputDirectory,
    outputFile: bestFile,
    extraFiles: [pairsFile, samplesFile],
    settings: { method: "best-of-n", ...settings },
    inputs: { [`scorer (${run.scorer.name})`]: run.scorer.fingerprint },
    itemsName: "the prompts (--prompts)",
    items: run.prompts,
    models: [run.model],
    ...stageRunOptions(run, 2),
    async process(prompt, _index, meter, signal): Promise<ItemOutcome<Record<string, unknown>>> {
      const teacher = new Teacher(run.model, meter, { retry: run.retry });
      const candidates = await Promise.all(
        Array.from({ length: settings.n }, async (_, index): Promise<Candidate> => {
          const seed = settings.seed + index;
          const reply = await teacher.chat([{ role: "user", content: prompt.prompt }], { ...settings.sampling, seed }, signal);
          const text = reply.text.trim();
          if (text === "") return { index, seed, text, excluded: "empty" };
          if (reply.finishReason === "length") return { index, seed, text, excluded: "truncated" };
          const score: AnswerScore = await run.scorer.score(prompt.prompt, text, signal);
          return score.kind === "score" ? { index, seed, text, score: score.score } : { index, seed, text, excluded: "unscored", reason: score.reason };
        }),
      );
      const { best, worst, scored } = bestAndWorst(candidates);
      const record = { n: settings.n, scorer: run.scorer.name, scored };
      const sample = { id: prompt.id, prompt: prompt.prompt, model: run.model.modelId, scorer: run.scorer.name, candidates };
      if (!best) return { rows: [], outcome: "unscored", also: { [samplesFile]: [sample] } };
      const bestRow = {
        id: prompt.id,
        model: run.model.modelId,
        conversations: [{ from: "human", value: prompt.prompt }, { from: "gpt", value: best.text }],
        best_of_n: { ...record, index: best.index, seed: best.seed, score: best.score },
      };
      const pairable = settings.pairs && scored >= 2 && worst !== undefined && worst.text !== best.text;
      const pair = pairable
        ? [{ id: prompt.id, prompt: prompt.prompt, chosen: best.text, rejected: worst.text, best_of_n: { ...record, chosen: { index: best.index, score: best.score }, rejected: { index: worst.index, score: worst.score } } }]
        : [];
      return { rows: [bestRow], outcome: !settings.pairs || pairable ? "done" : "no-pair", also: { [pairsFile]: pair, [samplesFile]: [sample] } };
    },
  });
}

/** What became of the answers of a run's directory (all runs so far): sampled, scored and each reason for exclusion. */
export function answerTotals(outputDirectory: string): Record<string, number> {
  const totals: Record<string, number> = { sampled: 0, scored: 0, empty: 0, truncated: 0, unscored: 0 };
  const path = join(outputDirectory, samplesFile);
  if (!existsSync(path)) return totals;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line === "") continue;
    for (const candidate of (JSON.parse(line) as { candidates: Candidate[] }).candidates) {
      totals.sampled++;
      totals[candidate.excluded ?? "scored"]++;
    }
  }
  return totals;
}
