/** FastChat's MT-bench `temperature_config`: creative categories sample, exact ones are greedy. */
export const mtBenchTemperatures: Readonly<Record<string, number>> = {
  writing: 0.7,
  roleplay: 0.7,
  extraction: 0.0,
  math: 0.0,
  coding: 0.0,
  reasoning: 0.0,
  stem: 0.1,
  humanities: 0.1,
  "arena-hard-200": 0.0,
};

/** FastChat's default for categories outside the table (e.g. Vicuna-80's "generic", "fermi"). */
export const defaultAnswerTemperature = 0.7;

export function temperatureForCategory(category: string, override?: number): number {
  return override ?? mtBenchTemperatures[category] ?? defaultAnswerTemperature;
}
