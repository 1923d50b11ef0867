import { lcsLengthTable } from "./lcs.js";
import { rougeTokenize } from "./tokenize.js";

export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

/**
 * F1 from an LCS length exactly as rouge_score computes it (`_score_lcs` then `fmeasure`), same
 * floating-point operations in the same order, so scores match the Python package bit for bit.
 * `targetLength` is the new text's token count, `predictionLength` the compared one's.
 */
export function rougeLFromLcs(lcs: number, targetLength: number, predictionLength: number): RougeScore {
  if (targetLength === 0 || predictionLength === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const precision = lcs / predictionLength;
  const recall = lcs / targetLength;
  const fmeasure = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, fmeasure };
}

/** Just the F1 of `rougeLFromLcs`, same arithmetic, without allocating: for loops over a whole pool. */
export function rougeLF1FromLcs(lcs: number, targetLength: number, predictionLength: number): number {
  if (targetLength === 0 || predictionLength === 0) return 0;
  const precision = lcs / predictionLength;
  const recall = lcs / targetLength;
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

/** ROUGE-L of two token sequences with the reference dynamic programme. */
export function rougeLTokens(target: readonly string[], prediction: readonly string[]): RougeScore {
  return rougeLFromLcs(lcsLengthTable(target, prediction), target.length, prediction.length);
}

/** `RougeScorer(["rougeL"], use_stemmer=False).score(target, prediction)["rougeL"]`. */
export function rougeL(target: string, prediction: string): RougeScore {
  return rougeLTokens(rougeTokenize(target), rougeTokenize(prediction));
}
