/** A report table, rendered as Markdown or aligned terminal text by the same data. */
export interface ReportTable {
  title: string;
  headers: string[];
  rows: string[][];
  /** Columns to right-align (numbers). */
  numeric?: boolean[];
}

/** A whole report: tables plus the warnings and notes a reader must not miss. */
export interface Report {
  title: string;
  warnings: string[];
  notes: string[];
  tables: ReportTable[];
}

export function formatNumber(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined || Number.isNaN(value) ? "–" : value.toFixed(digits);
}

export function formatPercent(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined || Number.isNaN(value) ? "–" : `${(100 * value).toFixed(digits)}%`;
}

function escapeMarkdownCell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

export function renderMarkdown(report: Report): string {
  const lines = [`# ${report.title}`, ""];
  for (const warning of report.warnings) lines.push(`> **Warning:** ${warning}`, "");
  for (const note of report.notes) lines.push(`- ${note}`);
  if (report.notes.length) lines.push("");
  for (const table of report.tables) {
    lines.push(`## ${table.title}`, "");
    lines.push(`| ${table.headers.map(escapeMarkdownCell).join(" | ")} |`);
    lines.push(`|${table.headers.map((_, i) => (table.numeric?.[i] ? " ---: " : " --- ")).join("|")}|`);
    for (const row of table.rows) lines.push(`| ${row.map(escapeMarkdownCell).join(" | ")} |`);
    lines.push("");
  }
  return lines.join("\n");
}

export function renderTerminal(report: Report): string {
  const lines = [report.title, "=".repeat(report.title.length), ""];
  for (const warning of report.warnings) lines.push(`WARNING: ${warning}`);
  if (report.warnings.length) lines.push("");
  for (const note of report.notes) lines.push(`* ${note}`);
  if (report.notes.length) lines.push("");
  for (const table of report.tables) {
    const widths = table.headers.map((header, i) => Math.max(header.length, ...table.rows.map((row) => (row[i] ?? "").length)));
    const format = (cells: string[]) =>
      cells.map((cell, i) => (table.numeric?.[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join("  ").trimEnd();
    lines.push(table.title, format(table.headers), widths.map((w) => "-".repeat(w)).join("  "));
    for (const row of table.rows) lines.push(format(row));
    lines.push("");
  }
  return lines.join("\n");
}
