/** "1:05" / "1:02:09" for an ETA. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  const two = (n: number) => n.toString().padStart(2, "0");
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

/** "=====>    ": a fraction in [0, 1] drawn `width` wide; shared by training and pull progress lines. */
export function progressBar(fraction: number, width = 24): string {
  const filled = Math.round(fraction * width);
  return `${"=".repeat(Math.max(0, filled - 1))}${filled > 0 ? (fraction >= 1 ? "=" : ">") : ""}${" ".repeat(width - filled)}`;
}

export interface ProgressState {
  step: number;
  totalSteps: number;
  loss: number;
  tokensPerSecond: number;
  /** Seconds spent on the steps of this process (a resumed run measures from its own start). */
  elapsedSeconds: number;
  stepsThisRun: number;
  /** An objective's own figures, shown after the loss (DPO: rewards/accuracies, rewards/margins). */
  metrics?: Record<string, number>;
}

/** The per-step figures short enough for the progress line, with their labels. */
const progressMetrics: Record<string, string> = { "rewards/accuracies": "acc", "rewards/margins": "margin" };

/** One progress line: a bar, the loss, tokens/s and an ETA from this run's pace. */
export function progressLine(state: ProgressState, width = 24): string {
  const bar = progressBar(Math.min(1, state.step / state.totalSteps), width);
  const perStep = state.stepsThisRun > 0 ? state.elapsedSeconds / state.stepsThisRun : Number.NaN;
  const eta = formatDuration(perStep * (state.totalSteps - state.step));
  const extra = Object.entries(progressMetrics)
    .filter(([name]) => state.metrics?.[name] !== undefined)
    .map(([name, label]) => ` ${label} ${state.metrics![name].toFixed(3)}`)
    .join("");
  return `step ${state.step}/${state.totalSteps} [${bar}] loss ${state.loss.toFixed(4)}${extra} | ${Math.round(state.tokensPerSecond)} tok/s | ETA ${eta}`;
}
