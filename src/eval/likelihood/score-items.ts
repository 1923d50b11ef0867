import { InvalidArgumentError } from "../../errors/index.js";
import type { LanguageModel, LogLikelihoodRequest } from "../../spec/language-model.js";
import type { ProgressListener } from "../../progress/progress.js";
import { createProgressTracker } from "../../progress/progress.js";
import { requireCapabilities } from "./require-capability.js";

export interface BenchmarkOptions {
  abortSignal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Score only the first N items. */
  limit?: number;
}

/**
 * What every log-likelihood benchmark shares: the model must score text, `--limit` takes the first
 * items, an empty benchmark is an error, and progress is reported per item. `score` turns one item
 * into its result, asking for the log-likelihoods of its requests.
 */
export async function scoreItems<Item, Result>(
  model: LanguageModel,
  items: Item[],
  options: BenchmarkOptions,
  task: { name: string; stage: string },
  score: (item: Item, logLikelihoods: (requests: LogLikelihoodRequest[]) => Promise<number[]>) => Promise<Result>,
): Promise<Result[]> {
  const capable = requireCapabilities(model, ["logLikelihood"], task.name);
  const selected = options.limit !== undefined ? items.slice(0, options.limit) : items;
  if (selected.length === 0) throw new InvalidArgumentError("benchmark", "the benchmark has no items");
  const progress = createProgressTracker(task.stage, selected.length, 0, options.onProgress);
  const callOptions = options.abortSignal ? { abortSignal: options.abortSignal } : undefined;
  const logLikelihoods = async (requests: LogLikelihoodRequest[]) => (await capable.logLikelihood(requests, callOptions)).map((r) => r.logprob);
  const results: Result[] = [];
  for (const item of selected) {
    results.push(await score(item, logLikelihoods));
    progress.itemDone();
  }
  return results;
}
