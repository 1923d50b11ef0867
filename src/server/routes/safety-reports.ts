// Read-only safety reports for the playground: the report.json files `camelid eval safety --out
// <data dir>/safety/<name>` writes. Listed by directory name; never written or deleted from here.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadSafetyReport, SAFETY_REPORT_FILE_NAME, type SafetyReportFile } from "../../eval/safety/safety-report.js";
import type { ServerApp } from "../context.js";
import { ResourceNotFoundError } from "../http-errors.js";
import { dataFolderNamePattern, dataFolderNames } from "./data-folders.js";

/** One entry of GET /api/safety/reports: the report's headline figures, or why it cannot be read. */
export type SafetyReportSummary =
  | { name: string; model: string; judge: string; rubric: string; created: string; violation_rate: number | null; false_refusal_rate: number | null; error?: undefined }
  | { name: string; error: string };

export interface SafetyReportList {
  object: "list";
  data: SafetyReportSummary[];
}

/** Where reports are read: `<data dir>/safety`. */
export const safetyReportsSubdirectory = "safety";

function readReport(directory: string, name: string): SafetyReportFile {
  const path = join(directory, name, SAFETY_REPORT_FILE_NAME);
  if (!dataFolderNamePattern.test(name) || !existsSync(path)) throw new ResourceNotFoundError("safety report", `no safety report named "${name}"`);
  try {
    return loadSafetyReport(path, "report");
  } catch (error) {
    // A damaged or foreign file is reported by name, not as a server fault.
    throw new ResourceNotFoundError("safety report", `safety report "${name}" cannot be read: ${(error as Error).message.replace(path, `${name}/${SAFETY_REPORT_FILE_NAME}`)}`);
  }
}

function reportNames(directory: string): string[] {
  return dataFolderNames(directory, [SAFETY_REPORT_FILE_NAME]);
}

export function registerSafetyReportRoutes(app: ServerApp, directory: string): void {
  app.get("/api/safety/reports", (c) => {
    const reports = reportNames(directory).map((name): SafetyReportSummary => {
      try {
        const { created, results } = readReport(directory, name);
        return { name, model: results.model, judge: results.judge, rubric: results.rubric, created, violation_rate: results.violation.rate, false_refusal_rate: results.falseRefusal.rate };
      } catch (error) {
        return { name, error: (error as Error).message };
      }
    });
    const list: SafetyReportList = { object: "list", data: reports };
    return c.json(list);
  });
  app.get("/api/safety/reports/:name", (c) => c.json(readReport(directory, c.req.param("name"))));
}
