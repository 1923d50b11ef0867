import { InvalidArgumentError } from "../errors/index.js";

export interface LearningRateSchedule {
  peak: number;
  warmupSteps: number;
  totalSteps: number;
  /** The floor cosine decay ends at, as a share of the peak (0 = decay to zero, as HF's cosine schedule). */
  minRatio: number;
}

/**
 * Linear warmup from peak/warmupSteps to the peak, then cosine decay to peak*minRatio at totalSteps.
 * `step` counts optimizer updates from 0.
 */
export function learningRateAt(step: number, schedule: LearningRateSchedule): number {
  const { peak, warmupSteps, totalSteps, minRatio } = schedule;
  if (!(peak > 0) || !(totalSteps >= 1) || warmupSteps < 0 || !(minRatio >= 0 && minRatio <= 1)) {
    throw new InvalidArgumentError("schedule", `invalid learning-rate schedule ${JSON.stringify(schedule)}`);
  }
  if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  const cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
  return peak * (minRatio + (1 - minRatio) * cosine);
}
