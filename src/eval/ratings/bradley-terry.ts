import type { Battle } from "./battles.js";
import { modelsIn, scoreForModelA } from "./battles.js";

export interface BradleyTerryOptions {
  /** Rating difference that multiplies the odds by `base` (FastChat: 400, base 10). */
  scale?: number;
  base?: number;
  /** Mean rating (FastChat's INIT_RATING, 1000): its solver keeps the coefficients summing to zero. */
  initialRating?: number;
  /** Shift all ratings so this model has this rating (FastChat anchors a reference model the same way). */
  anchor?: { model: string; rating: number };
  /** Stop when no log-strength moves by more than this. */
  tolerance?: number;
  maxIterations?: number;
  /** Model order of the result; default: every model in the battles, sorted by name. */
  models?: string[];
}

export interface BradleyTerryFit {
  models: string[];
  ratings: Map<string, number>;
  iterations: number;
  converged: boolean;
  /** Pseudo-ties added per played pair because the plain MLE does not exist (0 when it does). */
  pseudoTiesPerPair: number;
  warnings: string[];
}

/** Pair statistics of a battle set: games[i][j] (symmetric) and score[i][j] (i's wins over j, ties as half). */
export interface PairCounts {
  models: string[];
  games: number[][];
  score: number[][];
}

export function countPairs(battles: readonly Battle[], models: string[] = modelsIn(battles)): PairCounts {
  const index = new Map(models.map((model, i) => [model, i]));
  const games = models.map(() => models.map(() => 0));
  const score = models.map(() => models.map(() => 0));
  for (const battle of battles) {
    const a = index.get(battle.modelA);
    const b = index.get(battle.modelB);
    if (a === undefined || b === undefined) continue;
    const scoreA = scoreForModelA(battle.winner);
    games[a][b] += 1;
    games[b][a] += 1;
    score[a][b] += scoreA;
    score[b][a] += 1 - scoreA;
  }
  return { models, games, score };
}

/**
 * Whether a finite maximum-likelihood estimate exists (Zermelo/Ford): for every split of the models,
 * each side must have scored against the other, i.e. the "scored against" graph is strongly connected.
 */
export function finiteMleExists(counts: PairCounts): boolean {
  const n = counts.models.length;
  if (n <= 1) return true;
  const reach = (forward: boolean) => {
    const seen = new Array<boolean>(n).fill(false);
    const stack = [0];
    seen[0] = true;
    while (stack.length > 0) {
      const i = stack.pop()!;
      for (let j = 0; j < n; j++) {
        const scored = forward ? counts.score[i][j] : counts.score[j][i];
        if (!seen[j] && scored > 0) {
          seen[j] = true;
          stack.push(j);
        }
      }
    }
    return seen.every(Boolean);
  };
  return reach(true) && reach(false);
}

/** Groups of models linked by played games; ratings in different groups cannot be compared. */
function connectedGroups(counts: PairCounts): number {
  const n = counts.models.length;
  const group = new Array<number>(n).fill(-1);
  let groups = 0;
  for (let start = 0; start < n; start++) {
    if (group[start] !== -1) continue;
    const stack = [start];
    group[start] = groups;
    while (stack.length > 0) {
      const i = stack.pop()!;
      for (let j = 0; j < n; j++) {
        if (group[j] === -1 && counts.games[i][j] > 0) {
          group[j] = groups;
          stack.push(j);
        }
      }
    }
    groups++;
  }
  return groups;
}

/**
 * Bradley-Terry maximum likelihood by Hunter's MM algorithm (each step raises the likelihood; it
 * converges to the MLE whenever one exists). Ties count as half a win for each side, which is what
 * FastChat's duplicated-battles logistic regression computes. The ratings are on FastChat's scale:
 * rating = scale * log_base(strength) + initialRating, with log-strengths summing to zero.
 */
export function fitBradleyTerry(battles: readonly Battle[], options: BradleyTerryOptions = {}): BradleyTerryFit {
  const counts = countPairs(battles, options.models ?? modelsIn(battles));
  return fitBradleyTerryCounts(counts, options);
}

export function fitBradleyTerryCounts(counts: PairCounts, options: BradleyTerryOptions = {}): BradleyTerryFit {
  const scale = options.scale ?? 400;
  const base = options.base ?? 10;
  const initialRating = options.initialRating ?? 1000;
  const tolerance = options.tolerance ?? 1e-10;
  const maxIterations = options.maxIterations ?? 100_000;
  const { models } = counts;
  const n = models.length;
  const warnings: string[] = [];

  let pseudoTiesPerPair = 0;
  if (!finiteMleExists(counts)) {
    // Someone never scored against a part of the field: the MLE sits at infinity. A tiny symmetric
    // prior on the pairs that met keeps ratings finite and says so instead of drifting without end.
    pseudoTiesPerPair = 0.01;
    warnings.push(
      "no finite maximum-likelihood estimate: some models never scored against the rest; " +
        `added ${pseudoTiesPerPair} pseudo-ties per played pair (their ratings are extreme and uncertain)`,
    );
  }
  const groups = connectedGroups(counts);
  if (groups > 1) warnings.push(`the models form ${groups} groups that never played each other; ratings across groups are not comparable`);

  const totalScore = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (counts.games[i][j] > 0) totalScore[i] += counts.score[i][j] + pseudoTiesPerPair / 2;
    }
  }
  const gamesWith = (i: number, j: number) => (counts.games[i][j] > 0 ? counts.games[i][j] + pseudoTiesPerPair : 0);

  let strength = new Array<number>(n).fill(1);
  let iterations = 0;
  let converged = n <= 1;
  while (!converged && iterations < maxIterations) {
    iterations++;
    const next = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      let denominator = 0;
      for (let j = 0; j < n; j++) {
        const games = gamesWith(i, j);
        if (games > 0) denominator += games / (strength[i] + strength[j]);
      }
      next[i] = denominator > 0 ? totalScore[i] / denominator : strength[i];
    }
    // Fix the free scale: geometric mean 1, i.e. log-strengths sum to zero.
    const meanLog = next.reduce((sum, value) => sum + Math.log(value), 0) / n;
    let largestMove = 0;
    for (let i = 0; i < n; i++) {
      next[i] = Math.exp(Math.log(next[i]) - meanLog);
      largestMove = Math.max(largestMove, Math.abs(Math.log(next[i]) - Math.log(strength[i])));
    }
    strength = next;
    converged = largestMove < tolerance;
  }
  if (!converged) warnings.push(`Bradley-Terry fit stopped after ${iterations} iterations without converging`);

  const ratings = new Map<string, number>();
  for (let i = 0; i < n; i++) ratings.set(models[i], (scale * Math.log(strength[i])) / Math.log(base) + initialRating);
  if (options.anchor) {
    const current = ratings.get(options.anchor.model);
    if (current !== undefined) {
      const shift = options.anchor.rating - current;
      for (const [model, rating] of ratings) ratings.set(model, rating + shift);
    } else {
      warnings.push(`anchor model "${options.anchor.model}" has no battles; ratings are not anchored`);
    }
  }
  return { models, ratings, iterations, converged, pseudoTiesPerPair, warnings };
}

/** Probability that the first model beats the second under ratings on this scale. */
export function expectedWinProbability(ratingA: number, ratingB: number, scale = 400, base = 10): number {
  return 1 / (1 + base ** ((ratingB - ratingA) / scale));
}
