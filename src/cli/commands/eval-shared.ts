// What the eval subcommands share: flag checks, progress, the judge model, report output and charts.
// Its own module so that each subcommand file (eval.ts, eval-safety.ts) imports it, never each other.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { svgToPng } from "../../charts/png.js";
import { InvalidArgumentError } from "../../errors/index.js";
import type { ChartFile } from "../../eval/report/report-charts.js";
import { renderMarkdown, renderTerminal, type Report } from "../../eval/report/tables.js";
import { formatProgress, type ProgressUpdate } from "../../progress/progress.js";
import type { LanguageModel } from "../../spec/language-model.js";
import type { CliIo } from "../io.js";
import { modelFlagOptions, selectModel } from "../model-flags.js";

export function required(value: string | boolean | undefined | (string | boolean)[], flag: string): string {
  if (typeof value !== "string" || value === "") throw new InvalidArgumentError(flag, `--${flag} is required`);
  return value;
}

export function noPositionals(positionals: string[]): void {
  if (positionals.length) throw new InvalidArgumentError("arguments", `unexpected argument "${positionals[0]}"`);
}

/** Progress on stderr: rewritten in place on a terminal, one line per ~5% otherwise. */
export function progressPrinter(io: CliIo) {
  let lastPrintedPercent = -Infinity;
  return (update: ProgressUpdate) => {
    const percent = (100 * update.done) / Math.max(1, update.total);
    if (io.isTTY) io.stderr(`\r${formatProgress(update)}   ${update.done === update.total ? "\n" : ""}`);
    else if (percent - lastPrintedPercent >= 5 || update.done === update.total) {
      lastPrintedPercent = percent;
      io.stderr(`${formatProgress(update)}\n`);
    }
  };
}

export async function withModel<T>(create: () => Promise<LanguageModel>, use: (model: LanguageModel) => Promise<T>): Promise<T> {
  const model = await create();
  try {
    return await use(model);
  } finally {
    await model.dispose?.();
  }
}

/** Judge model flags are the model flags with a "judge-" prefix. */
export const judgeModelFlagOptions = Object.fromEntries(
  Object.entries(modelFlagOptions).map(([name, option]) => [`judge-${name}`, { type: option.type, ...("multiple" in option ? { multiple: option.multiple } : {}) }]),
) as { [K in keyof typeof modelFlagOptions as `judge-${K}`]: { type: (typeof modelFlagOptions)[K]["type"] } };

/** The judge model from the --judge-* flags (the model flags with a "judge-" prefix). */
export function selectJudge(values: Record<string, string | boolean | (string | boolean)[] | undefined>, io: CliIo) {
  const judgeFlags = new Set(Object.keys(judgeModelFlagOptions));
  const judgeValues = Object.fromEntries(Object.entries(values).filter(([key]) => judgeFlags.has(key)).map(([key, value]) => [key.slice(6), value]));
  if (!judgeValues.model && !judgeValues["base-url"]) throw new InvalidArgumentError("judge-model", "no judge given: use --judge-model <file.gguf> or --judge-base-url <url> --judge-remote-model <id>");
  // A judge named from the registry lives in the same cache as the answering model unless told otherwise.
  judgeValues["cache-dir"] ??= values["cache-dir"];
  return selectModel(judgeValues, io, "judge-");
}

export type OutputFormat = "terminal" | "markdown" | "json";

export function outputFormat(value: string | undefined, io: CliIo): OutputFormat {
  const format = value ?? (io.isTTY ? "terminal" : "markdown");
  if (format !== "terminal" && format !== "markdown" && format !== "json") throw new InvalidArgumentError("output-format", `--output-format must be terminal, markdown or json, got "${format}"`);
  return format;
}

export function printReport(io: CliIo, format: OutputFormat, report: Report, data: unknown): void {
  if (format === "json") io.stdout(`${JSON.stringify({ title: report.title, warnings: report.warnings, notes: report.notes, results: data }, replacer, 2)}\n`);
  else io.stdout(format === "markdown" ? renderMarkdown(report) : renderTerminal(report));
}

/** Maps become objects in JSON output. */
export function replacer(_key: string, value: unknown): unknown {
  return value instanceof Map ? Object.fromEntries(value) : value;
}

/** Each chart as SVG and, beside it, the same chart rasterized to PNG. */
export async function writeCharts(io: CliIo, directory: string | undefined, charts: ChartFile[]): Promise<void> {
  if (!directory) return;
  mkdirSync(directory, { recursive: true });
  for (const chart of charts) {
    const svgPath = join(directory, chart.fileName);
    writeFileSync(svgPath, chart.svg);
    const pngPath = svgPath.replace(/\.svg$/, "") + ".png";
    writeFileSync(pngPath, await svgToPng(chart.svg, { width: 1200 }));
    io.stderr(`chart: ${svgPath} and ${pngPath}\n`);
  }
}
