import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import { renderIntervalBars, type IntervalBarGroup } from "../charts/interval-bars.js";
import type { ChartFile } from "../report/report-charts.js";
import { formatPercent, type Report } from "../report/tables.js";
import { safetyResultsSchema, type Rate, type SafetyResults } from "./safety-results.js";

/** The mean helpfulness grade of the same model, from an `eval judge --mode single` file (--helpfulness). */
export const helpfulnessSchema = z.object({ file: z.string(), judge: z.string(), mean: z.number().nullable(), scored: z.number() });
export type Helpfulness = z.infer<typeof helpfulnessSchema>;

/** report.json, written by `eval safety` beside its answers and judgments and read by the playground. */
export const safetyReportFileSchema = z.object({
  format: z.literal("camelid-safety-report"),
  version: z.literal(1),
  created: z.string(),
  prompts: z.string(),
  results: safetyResultsSchema,
  helpfulness: helpfulnessSchema.nullable(),
  warnings: z.array(z.string()),
  notes: z.array(z.string()),
});
export type SafetyReportFile = z.infer<typeof safetyReportFileSchema>;

export const SAFETY_REPORT_FILE_NAME = "report.json";

/** Reads a report.json; a missing, unparsable or foreign file is an InvalidArgumentError naming `parameter`. */
export function loadSafetyReport(path: string, parameter = "compare"): SafetyReportFile {
  if (!existsSync(path)) throw new InvalidArgumentError(parameter, `file not found: ${path}`);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new InvalidArgumentError(parameter, `${path}: not valid JSON (${(error as Error).message})`);
  }
  const parsed = safetyReportFileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidArgumentError(parameter, `${path}: not an eval safety report (field "${issue.path.join(".")}": ${issue.message})`);
  }
  return parsed.data;
}

/** Warnings a reader must not miss: rows left out of the rates. */
export function safetyWarnings(results: SafetyResults): string[] {
  const warnings: string[] = [];
  const left = results.errors + results.unreadable;
  if (left > 0) {
    warnings.push(`${results.unreadable} judgment(s) held no readable verdict and ${results.errors} judge call(s) failed ($ERROR$): left out of every rate, never counted as safe`);
  }
  if (results.rows > 0 && left === results.rows) warnings.push("no judgment held a readable verdict: this judge cannot follow the rubric, and the violation rate is unknown");
  return warnings;
}

const percent = (rate: Rate) => formatPercent(rate.rate);
const interval = (rate: Rate) => (rate.lower === null || rate.upper === null ? "–" : `${formatPercent(rate.lower)} – ${formatPercent(rate.upper)}`);

/** Tables of one run, with the other runs given (--compare) in the model comparison. */
export function safetyReport(main: SafetyReportFile, compared: readonly SafetyReportFile[] = []): Report {
  const results = main.results;
  const all = [main, ...compared];
  const refusalBy = results.falseRefusalSource === "judge" ? "the judge" : "the refusal detector";
  return {
    title: `Safety of ${results.model} (judge ${results.judge}, rubric ${results.rubric})`,
    warnings: main.warnings,
    notes: main.notes,
    tables: [
      {
        title: "Violations per risk category (adversarial prompts)",
        headers: ["category", "violations", "judged", "violation %", "95% interval", "unreadable", "errors"],
        rows: results.categories
          .filter((c) => c.violation.total > 0 || c.errors + c.unreadable > 0)
          .map((c) => [c.category, String(c.violation.count), String(c.violation.total), percent(c.violation), interval(c.violation), String(c.unreadable), String(c.errors)])
          .concat([["all", String(results.violation.count), String(results.violation.total), percent(results.violation), interval(results.violation), String(results.unreadable), String(results.errors)]]),
        numeric: [false, true, true, true, true, true, true],
      },
      {
        title: `False refusals (borderline prompts, refused by ${refusalBy})`,
        headers: ["category", "refused", "prompts", "false refusal %", "95% interval", "by the detector"],
        rows: results.categories
          .filter((c) => c.falseRefusalDetector.total > 0)
          .map((c) => [c.category, String(c.falseRefusal.count), String(c.falseRefusal.total), percent(c.falseRefusal), interval(c.falseRefusal), percent(c.falseRefusalDetector)])
          .concat([["all", String(results.falseRefusal.count), String(results.falseRefusal.total), percent(results.falseRefusal), interval(results.falseRefusal), percent(results.falseRefusalDetector)]]),
        numeric: [false, true, true, true, true, true],
      },
      {
        title: "Safety and helpfulness per model",
        headers: ["model", "judge", "rubric", "violation %", "95% interval", "false refusal %", "95% interval", "helpfulness (mean grade)"],
        rows: all.map((report) => [
          report.results.model,
          report.results.judge,
          report.results.rubric,
          percent(report.results.violation),
          interval(report.results.violation),
          percent(report.results.falseRefusal),
          interval(report.results.falseRefusal),
          report.helpfulness?.mean != null ? `${report.helpfulness.mean.toFixed(2)} (${report.helpfulness.scored} graded)` : "–",
        ]),
        numeric: [false, false, false, true, true, true, true, true],
      },
      {
        title: "Refusal: judge and detector",
        headers: ["answers compared", "agree", "agreement", "judge only", "detector only"],
        rows: results.agreement
          ? [[String(results.agreement.compared), String(results.agreement.agreed), formatPercent(results.agreement.rate), String(results.agreement.judgeOnly), String(results.agreement.detectorOnly)]]
          : [["–", "–", `rubric ${results.rubric} gives no refusal verdict`, "–", "–"]],
        numeric: [true, true, true, true, true],
      },
    ],
  };
}

const toBar = (series: string, rate: Rate) => ({
  series,
  value: rate.rate === null ? null : 100 * rate.rate,
  lower: rate.lower === null ? null : 100 * rate.lower,
  upper: rate.upper === null ? null : 100 * rate.upper,
});

/** LLaMA-2's Fig. 17/18 kind: overall violation and false refusal per model, violation per category and model. */
export function safetyCharts(reports: readonly SafetyReportFile[]): ChartFile[] {
  const label = (report: SafetyReportFile) => (reports.filter((r) => r.results.model === report.results.model).length > 1 ? `${report.results.model} (${report.results.judge}, ${report.results.rubric})` : report.results.model);
  const series = reports.map(label);
  const categories = [...new Set(reports.flatMap((r) => r.results.categories.filter((c) => c.violation.total > 0).map((c) => c.category)))].sort();
  const overall: IntervalBarGroup[] = [
    { label: "violation %", bars: reports.map((r, i) => toBar(series[i], r.results.violation)) },
    { label: "false refusal %", bars: reports.map((r, i) => toBar(series[i], r.results.falseRefusal)) },
  ];
  const byCategory: IntervalBarGroup[] = categories.map((category) => ({
    label: category,
    bars: reports.flatMap((r, i) => {
      const found = r.results.categories.find((c) => c.category === category);
      return found ? [toBar(series[i], found.violation)] : [];
    }),
  }));
  const charts: ChartFile[] = [{ fileName: "safety-overall.svg", svg: renderIntervalBars({ title: "Violation and false refusal per model", groups: overall, series, yLabel: "percent (95% interval)" }) }];
  if (byCategory.length) charts.push({ fileName: "violations-by-category.svg", svg: renderIntervalBars({ title: "Violation % per risk category", groups: byCategory, series, yLabel: "violation % (95% interval)" }) });
  return charts;
}
