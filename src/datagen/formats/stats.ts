import type { Dataset, Turn } from "./records.js";
import type { TokenCounter } from "./clean.js";

export interface Distribution {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface DatasetStats {
  format: string;
  records: number;
  malformedRows: number;
  turns: number;
  multiTurn: number;
  withSystem: number;
  tokenizer: string;
  tokensPerRecord: Distribution;
  tokensPerUserMessage: Distribution;
  tokensPerAssistantMessage: Distribution;
  /** Records per power-of-two token bucket: [upper bound, count]. */
  histogram: [number, number][];
}

export function distribution(values: number[]): Distribution {
  if (values.length === 0) return { count: 0, mean: 0, min: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest-rank percentiles: always a value that occurs in the data.
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  return { count: sorted.length, mean: sorted.reduce((a, b) => a + b, 0) / sorted.length, min: sorted[0], p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1)! };
}

export async function computeStats(dataset: Dataset, countTokens: TokenCounter, tokenizer: string): Promise<DatasetStats> {
  const perRecord: number[] = [];
  const perUser: number[] = [];
  const perAssistant: number[] = [];
  let turns = 0;
  let multiTurn = 0;
  let withSystem = 0;
  for (const record of dataset.records) {
    const recordTurns: Turn[] = dataset.kind === "preferences" ? [...record.turns, { role: "assistant", content: (record as { chosen: string }).chosen }] : record.turns;
    turns += recordTurns.length;
    if (recordTurns.filter((t) => t.role === "user").length > 1) multiTurn++;
    let total = 0;
    if (record.system) {
      withSystem++;
      total += await countTokens(record.system);
    }
    for (const turn of recordTurns) {
      const count = await countTokens(turn.content);
      total += count;
      if (turn.role !== "system") (turn.role === "user" ? perUser : perAssistant).push(count);
    }
    perRecord.push(total);
  }
  const histogram: [number, number][] = [];
  for (const value of perRecord) {
    const bound = value <= 16 ? 16 : 2 ** Math.ceil(Math.log2(value));
    const bucket = histogram.find(([upper]) => upper === bound);
    if (bucket) bucket[1]++;
    else histogram.push([bound, 1]);
  }
  histogram.sort((a, b) => a[0] - b[0]);
  return {
    format: dataset.format,
    records: dataset.records.length,
    malformedRows: dataset.problems.length,
    turns,
    multiTurn,
    withSystem,
    tokenizer,
    tokensPerRecord: distribution(perRecord),
    tokensPerUserMessage: distribution(perUser),
    tokensPerAssistantMessage: distribution(perAssistant),
    histogram,
  };
}

export function formatStats(stats: DatasetStats): string {
  const row = (name: string, d: Distribution) =>
    `  ${name.padEnd(20)} ${[d.count, d.mean.toFixed(1), d.min, d.p50, d.p90, d.p99, d.max].map((v) => String(v).padStart(8)).join("")}`;
  const largest = Math.max(1, ...stats.histogram.map(([, count]) => count));
  const lines = [
    `format ${stats.format}: ${stats.records} records (${stats.malformedRows} malformed rows skipped), ${stats.turns} turns, ${stats.multiTurn} multi-turn, ${stats.withSystem} with a system prompt`,
    `tokens (${stats.tokenizer}):`,
    `  ${"".padEnd(20)} ${["count", "mean", "min", "p50", "p90", "p99", "max"].map((h) => h.padStart(8)).join("")}`,
    row("per record", stats.tokensPerRecord),
    row("per user message", stats.tokensPerUserMessage),
    row("per assistant msg", stats.tokensPerAssistantMessage),
    "tokens per record:",
    ...stats.histogram.map(([upper, count], i) => {
      const lower = i === 0 ? 0 : stats.histogram[i - 1][0] + 1;
      return `  ${`${lower}-${upper}`.padStart(13)} ${"#".repeat(Math.max(1, Math.round((count / largest) * 40)))} ${count}`;
    }),
  ];
  return `${lines.join("\n")}\n`;
}
