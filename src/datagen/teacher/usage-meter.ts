import { z } from "zod";
import type { Usage } from "../../spec/index.js";

/** USD per million tokens; from config (`prices` keyed by model id). */
export const modelPriceSchema = z.object({
  promptPerMillion: z.number().nonnegative(),
  completionPerMillion: z.number().nonnegative(),
});
export type ModelPrice = z.infer<typeof modelPriceSchema>;
export const priceTableSchema = z.record(z.string(), modelPriceSchema);
export type PriceTable = z.infer<typeof priceTableSchema>;

/** UsageTotals as stored in a run's progress record. */
export const usageTotalsSchema = z.object({
  requests: z.number(),
  failedRequests: z.number(),
  retries: z.number(),
  rateLimited: z.number(),
  promptTokens: z.number(),
  completionTokens: z.number(),
  estimatedCostUsd: z.number().optional(),
});

export interface UsageTotals {
  requests: number;
  failedRequests: number;
  retries: number;
  rateLimited: number;
  promptTokens: number;
  completionTokens: number;
  /** Estimated USD; undefined when no price is configured for a model used. */
  estimatedCostUsd?: number;
}

export function emptyUsage(): UsageTotals {
  return { requests: 0, failedRequests: 0, retries: 0, rateLimited: 0, promptTokens: 0, completionTokens: 0, estimatedCostUsd: 0 };
}

/** Running token and cost totals for every model a run calls (teacher, simulated user, fixer). */
export class UsageMeter {
  readonly totals: UsageTotals;

  constructor(
    private readonly prices: PriceTable = {},
    initial?: UsageTotals,
  ) {
    this.totals = { ...emptyUsage(), ...initial };
  }

  record(modelId: string, usage: Usage): void {
    this.totals.requests++;
    this.totals.promptTokens += usage.promptTokens;
    this.totals.completionTokens += usage.completionTokens;
    const price = this.prices[modelId];
    if (!price) {
      this.totals.estimatedCostUsd = undefined;
      return;
    }
    if (this.totals.estimatedCostUsd !== undefined) {
      this.totals.estimatedCostUsd += (usage.promptTokens * price.promptPerMillion + usage.completionTokens * price.completionPerMillion) / 1e6;
    }
  }

  recordFailure(): void {
    this.totals.failedRequests++;
  }

  recordRetry(rateLimited: boolean): void {
    this.totals.retries++;
    if (rateLimited) this.totals.rateLimited++;
  }
}
