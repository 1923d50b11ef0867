// FastChat's style-controlled Bradley-Terry (elo_analysis.py --style-control): the battles as a
// logistic regression on model indicators plus four style covariates (answer length, headers, list
// items, bold runs), fitted jointly, so a model's rating is what is left once style is accounted for.
import { InvalidArgumentError } from "../../errors/index.js";
import type { Battle } from "./battles.js";
import { scoreForModelA } from "./battles.js";
import type { RatingInterval } from "./bootstrap.js";
import { intervalsOf } from "./bootstrap.js";
import { createSeededRandom } from "./seeded-random.js";
import type { StyleCounts } from "./style-features.js";

/** The covariates in FastChat's order (STYLE_CONTROL_ELEMENTS_V1). */
export const STYLE_COVARIATES = ["length", "headers", "lists", "bold"] as const;
export type StyleCovariate = (typeof STYLE_COVARIATES)[number];
const styleKeys: Array<keyof StyleCounts> = ["tokens", "headers", "lists", "bold"];

export interface StyleControlOptions {
  scale?: number;
  base?: number;
  initialRating?: number;
  /** Shift so this model has this rating (FastChat anchors mixtral-8x7b-instruct-v0.1 at 1114). */
  anchor?: { model: string; rating: number };
  /** sklearn's LogisticRegression C: the fit minimises loss + ||w||² / (2C) (FastChat: default C = 1). */
  inverseRegularization?: number;
  /** Newton steps stop when no coefficient moves by more than this. */
  tolerance?: number;
}

export interface StyleControlledFit {
  models: string[];
  ratings: Map<string, number>;
  /** One coefficient per covariate, on the standardised scale (FastChat's `coef_final`). */
  coefficients: Record<StyleCovariate, number>;
  iterations: number;
  /** Battles left out because they carry no style (no token counts). */
  skipped: number;
  warnings: string[];
}

/** Battles that carry a style, and the design FastChat builds from them (once, before any bootstrap). */
interface StyleDesign {
  battles: Battle[];
  /** Standardised style differences, one row of four per battle. */
  covariates: Float64Array[];
  skipped: number;
  warnings: string[];
}

/**
 * FastChat's construct_style_matrices: per covariate (a − b) / (a + b + 1), then standardised by
 * the mean and population standard deviation over the battles. A covariate with no spread (every
 * battle the same, e.g. no bold anywhere) is 0/0 in FastChat and breaks its fit; here it is left at
 * zero, which under the L2 penalty gives it a zero coefficient, the same fit as leaving it out.
 */
function buildDesign(battles: readonly Battle[]): StyleDesign {
  const styled = battles.filter((battle) => battle.style !== undefined);
  const warnings: string[] = [];
  const skipped = battles.length - styled.length;
  if (skipped > 0) warnings.push(`style control: ${skipped} of ${battles.length} battles carry no style (token counts) and are left out`);
  const raw = styled.map((battle) =>
    Float64Array.from(styleKeys, (key) => (battle.style!.a[key] - battle.style!.b[key]) / (battle.style!.a[key] + battle.style!.b[key] + 1)),
  );
  const covariates = styled.map(() => new Float64Array(styleKeys.length));
  styleKeys.forEach((_, k) => {
    const mean = raw.reduce((sum, row) => sum + row[k], 0) / Math.max(1, raw.length);
    const deviation = Math.sqrt(raw.reduce((sum, row) => sum + (row[k] - mean) ** 2, 0) / Math.max(1, raw.length));
    if (!(deviation > 0)) {
      if (raw.length > 0) warnings.push(`style control: "${STYLE_COVARIATES[k]}" is the same in every battle, so it has no effect (coefficient 0)`);
      return;
    }
    raw.forEach((row, i) => (covariates[i][k] = (row[k] - mean) / deviation));
  });
  return { battles: styled, covariates, skipped, warnings };
}

/** Solves A x = b for a symmetric positive definite A (Cholesky); A is overwritten. */
function solvePositiveDefinite(a: Float64Array[], b: Float64Array): Float64Array {
  const n = b.length;
  for (let j = 0; j < n; j++) {
    let diagonal = a[j][j];
    for (let k = 0; k < j; k++) diagonal -= a[j][k] * a[j][k];
    a[j][j] = Math.sqrt(diagonal);
    for (let i = j + 1; i < n; i++) {
      let value = a[i][j];
      for (let k = 0; k < j; k++) value -= a[i][k] * a[j][k];
      a[i][j] = value / a[j][j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let value = b[i];
    for (let k = 0; k < i; k++) value -= a[i][k] * y[k];
    y[i] = value / a[i][i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let value = y[i];
    for (let k = i + 1; k < n; k++) value -= a[k][i] * x[k];
    x[i] = value / a[i][i];
  }
  return x;
}

const sigmoid = (t: number) => (t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t)));

/**
 * The penalised maximum likelihood of FastChat's fit_mle_elo (sklearn LogisticRegression without
 * intercept, L2, C = 1) on its duplicated rows: every battle is two rows (a win for A: two A wins; a
 * tie: one of each), model columns ±ln(base), then the four covariates. Solved by Newton's method
 * to convergence (the objective is strictly convex), where sklearn's lbfgs stops at tol 1e-4.
 */
function fitDesign(
  battles: readonly Battle[],
  covariates: readonly Float64Array[],
  weights: ArrayLike<number>,
  options: StyleControlOptions,
): { models: string[]; coefficients: Float64Array; iterations: number } {
  const logBase = Math.log(options.base ?? 10);
  const inverseRegularization = options.inverseRegularization ?? 1;
  const tolerance = options.tolerance ?? 1e-10;
  const names = new Set<string>();
  battles.forEach((battle, i) => {
    if (weights[i] > 0) names.add(battle.modelA).add(battle.modelB);
  });
  const models = [...names].sort();
  const index = new Map(models.map((model, i) => [model, i]));
  const p = models.length;
  const size = p + styleKeys.length;
  const w = new Float64Array(size);
  let iterations = 0;
  for (; iterations < 100; iterations++) {
    const gradient = new Float64Array(size);
    const hessian = Array.from({ length: size }, () => new Float64Array(size));
    for (let j = 0; j < size; j++) {
      gradient[j] = w[j] / inverseRegularization;
      hessian[j][j] = 1 / inverseRegularization;
    }
    battles.forEach((battle, i) => {
      const weight = weights[i];
      if (weight === 0) return;
      // The row's nonzero entries: two model columns and the covariates.
      const columns = [index.get(battle.modelA)!, index.get(battle.modelB)!, ...styleKeys.map((_, k) => p + k)];
      const values = [logBase, -logBase, ...covariates[i]];
      let t = 0;
      columns.forEach((column, c) => (t += w[column] * values[c]));
      const probability = sigmoid(t);
      // Two rows per battle, labels summing to 2 × A's score.
      const residual = weight * (2 * probability - 2 * scoreForModelA(battle.winner));
      const curvature = weight * 2 * probability * (1 - probability);
      columns.forEach((row, r) => {
        gradient[row] += residual * values[r];
        columns.forEach((column, c) => (hessian[row][column] += curvature * values[r] * values[c]));
      });
    });
    const step = solvePositiveDefinite(hessian, gradient);
    let largest = 0;
    for (let j = 0; j < size; j++) {
      w[j] -= step[j];
      largest = Math.max(largest, Math.abs(step[j]));
    }
    if (largest < tolerance) {
      iterations++;
      break;
    }
  }
  return { models, coefficients: w, iterations };
}

function toRatings(models: readonly string[], coefficients: Float64Array, options: StyleControlOptions, warnings: string[]): Map<string, number> {
  const scale = options.scale ?? 400;
  const initialRating = options.initialRating ?? 1000;
  const ratings = new Map(models.map((model, i) => [model, scale * coefficients[i] + initialRating]));
  if (options.anchor) {
    const current = ratings.get(options.anchor.model);
    if (current === undefined) warnings.push(`anchor model "${options.anchor.model}" has no battles; ratings are not anchored`);
    else for (const [model, rating] of ratings) ratings.set(model, rating + options.anchor.rating - current);
  }
  return ratings;
}

/** FastChat's `fit_mle_elo(*construct_style_matrices(battles))`: style-controlled ratings and the style coefficients. */
export function fitStyleControlledBradleyTerry(battles: readonly Battle[], options: StyleControlOptions = {}): StyleControlledFit {
  const design = buildDesign(battles);
  if (design.battles.length === 0) throw new InvalidArgumentError("style_control", "style control needs battles with style (token counts per answer); none of these battles has one");
  const fit = fitDesign(design.battles, design.covariates, new Float64Array(design.battles.length).fill(1), options);
  const warnings = [...design.warnings];
  const p = fit.models.length;
  const coefficients = Object.fromEntries(STYLE_COVARIATES.map((name, k) => [name, fit.coefficients[p + k]])) as Record<StyleCovariate, number>;
  return { models: fit.models, ratings: toRatings(fit.models, fit.coefficients, options, warnings), coefficients, iterations: fit.iterations, skipped: design.skipped, warnings };
}

/**
 * FastChat's get_bootstrap_result_style_control: the design is built once, then each round draws the
 * battles with replacement and refits; a model the draw missed has no rating in that round.
 */
export function bootstrapStyleControlled(
  battles: readonly Battle[],
  options: { rounds?: number; seed?: number; confidence?: number; styleControl?: StyleControlOptions } = {},
): Map<string, RatingInterval> {
  const design = buildDesign(battles);
  const rounds = options.rounds ?? 1000;
  const random = createSeededRandom(options.seed ?? 0);
  const samples = new Map<string, number[]>();
  for (const battle of design.battles) for (const model of [battle.modelA, battle.modelB]) if (!samples.has(model)) samples.set(model, []);
  const n = design.battles.length;
  for (let round = 0; round < rounds && n > 0; round++) {
    const drawn = new Float64Array(n);
    for (let draw = 0; draw < n; draw++) drawn[Math.floor(random() * n)] += 1;
    const fit = fitDesign(design.battles, design.covariates, drawn, { ...options.styleControl, tolerance: 1e-8 });
    for (const [model, rating] of toRatings(fit.models, fit.coefficients, options.styleControl ?? {}, [])) samples.get(model)!.push(rating);
  }
  return intervalsOf(new Map([...samples].sort(([a], [b]) => a.localeCompare(b))), options.confidence ?? 0.95);
}
