// Issue 19 point 6: the style-controlled Bradley-Terry equals FastChat's elo_analysis.py
// --style-control (construct_style_matrices + fit_mle_elo, sklearn) on a fixed battles file;
// the reference is test/eval/golden/style-control-golden.json from scripts/golden/make_style_control_golden.py.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { countMarkdownElements, fitStyleControlledBradleyTerry, parseBattleRows, bootstrapStyleControlled, type Battle } from "../../src/eval/ratings/index.js";
import { InvalidArgumentError } from "../../src/errors/index.js";
import { evalCli } from "./eval-cli.js";

const golden = JSON.parse(readFileSync(new URL("./golden/style-control-golden.json", import.meta.url), "utf8")) as {
  ratings: Record<string, number>;
  coefficients: number[];
  ratings_fastchat_default_tolerance: Record<string, number>;
  ratings_by_category: Record<string, Record<string, number>>;
  markdown_counts: Array<Record<string, Record<string, number>>>;
};
const rows = JSON.parse(readFileSync(new URL("./golden/style-control-battles.json", import.meta.url), "utf8")) as Array<{
  conversation_a: Array<{ role: string; content: string }>;
  conversation_b: Array<{ role: string; content: string }>;
}>;
const battles = parseBattleRows(rows, "style-control-battles.json");
const answers = (conversation: Array<{ role: string; content: string }>) => conversation.filter((t) => t.role === "assistant").map((t) => t.content);

describe("style-controlled Bradley-Terry against FastChat's --style-control", () => {
  it("counts headers, list items and bold runs as FastChat's add_markdown_info.py (code blocks emptied first)", () => {
    rows.forEach((row, i) => {
      const a = countMarkdownElements(answers(row.conversation_a));
      const b = countMarkdownElements(answers(row.conversation_b));
      expect({ header_count_a: a.header_count, list_count_a: a.list_count, bold_count_a: a.bold_count, header_count_b: b.header_count, list_count_b: b.list_count, bold_count_b: b.bold_count }).toEqual(
        golden.markdown_counts[i],
      );
    });
    expect(battles.every((battle) => battle.style !== undefined)).toBe(true);
  });

  it("gives FastChat's ratings (to 1e-4) and style coefficients on the fixed battles file", () => {
    const fit = fitStyleControlledBradleyTerry(battles);
    expect(fit.models.sort()).toEqual(Object.keys(golden.ratings).sort());
    for (const [model, rating] of Object.entries(golden.ratings)) expect(Math.abs(fit.ratings.get(model)! - rating)).toBeLessThan(1e-4);
    expect(Object.values(fit.coefficients).map((c, k) => Math.abs(c - golden.coefficients[k])).every((gap) => gap < 1e-6)).toBe(true);
    // FastChat's own call stops at sklearn's default tol=1e-4; its ratings sit within 0.05 of the optimum.
    for (const [model, rating] of Object.entries(golden.ratings_fastchat_default_tolerance)) expect(Math.abs(fit.ratings.get(model)! - rating)).toBeLessThan(0.05);
    expect(fit.warnings).toEqual([]);
  });

  it("gives FastChat's ratings per category (each category's battles fitted on their own)", () => {
    for (const [category, expected] of Object.entries(golden.ratings_by_category)) {
      const fit = fitStyleControlledBradleyTerry(battles.filter((battle) => battle.category === category));
      for (const [model, rating] of Object.entries(expected)) expect(Math.abs(fit.ratings.get(model)! - rating)).toBeLessThan(1e-4);
    }
  });

  it("differs from the plain fit when style explains part of the wins, and brackets it with a seeded bootstrap", () => {
    const intervals = bootstrapStyleControlled(battles, { rounds: 30, seed: 1 });
    expect(bootstrapStyleControlled(battles, { rounds: 30, seed: 1 })).toEqual(intervals);
    for (const [model, rating] of Object.entries(golden.ratings)) {
      const interval = intervals.get(model)!;
      expect(interval.lower).toBeLessThan(rating);
      expect(interval.upper).toBeGreaterThan(rating);
    }
  });

  it("leaves out battles without style with a warning, and names the problem when none has one", () => {
    const bare: Battle[] = battles.map(({ style: _style, ...rest }) => rest);
    expect(() => fitStyleControlledBradleyTerry(bare)).toThrow(InvalidArgumentError);
    const fit = fitStyleControlledBradleyTerry([...battles, ...bare.slice(0, 3)]);
    expect(fit.skipped).toBe(3);
    expect(fit.warnings.join(" ")).toMatch(/3 of 163 battles carry no style/);
    for (const [model, rating] of Object.entries(golden.ratings)) expect(Math.abs(fit.ratings.get(model)! - rating)).toBeLessThan(1e-4);
  });

  it("keeps a covariate with no spread at zero instead of dividing by zero", () => {
    const noBold = battles.map((battle) => ({ ...battle, style: { a: { ...battle.style!.a, bold: 0 }, b: { ...battle.style!.b, bold: 0 } } }));
    const fit = fitStyleControlledBradleyTerry(noBold);
    expect(fit.coefficients.bold).toBe(0);
    expect([...fit.ratings.values()].every(Number.isFinite)).toBe(true);
    expect(fit.warnings.join(" ")).toMatch(/"bold" is the same in every battle/);
  });
});

describe("camelid eval ratings --style-control and --category", () => {
  const file = new URL("./golden/style-control-battles.json", import.meta.url).pathname;
  type Out = { results: { rows: Array<{ model: string; bradleyTerry: number; statisticalRank: number }>; ratingSystem: string; styleCoefficients: Record<string, number>; category?: string; categories: string[]; lastUpdated: number } };

  it("prints FastChat's style-controlled ratings and coefficients with --style-control", async () => {
    const result = await evalCli(["ratings", "--battles", file, "--rounds", "0", "--style-control", "--output-format", "json"]);
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as Out;
    expect(out.results.ratingSystem).toBe("style-controlled bradley-terry");
    for (const row of out.results.rows) expect(Math.abs(row.bradleyTerry - golden.ratings[row.model])).toBeLessThan(1e-4);
    expect(Object.values(out.results.styleCoefficients).map((c, k) => Math.abs(c - golden.coefficients[k])).every((gap) => gap < 1e-6)).toBe(true);
    expect(out.results.lastUpdated).toBe(1700000000 + 60 * 159);
    const markdown = (await evalCli(["ratings", "--battles", file, "--rounds", "0", "--style-control", "--output-format", "markdown"])).stdout;
    expect(markdown).toMatch(/Style coefficients[\s\S]*\| length \|/);
    // Without the flag the plain Bradley-Terry fit, which differs.
    const plain = JSON.parse((await evalCli(["ratings", "--battles", file, "--rounds", "0", "--output-format", "json"])).stdout) as Out;
    expect(plain.results.ratingSystem).toBe("bradley-terry");
    expect(Math.abs(plain.results.rows.find((r) => r.model === "alpaca-7b")!.bradleyTerry - golden.ratings["alpaca-7b"])).toBeGreaterThan(1);
  });

  it("rates one category with --category and names the categories when the one asked for has no battles", async () => {
    const result = await evalCli(["ratings", "--battles", file, "--rounds", "0", "--style-control", "--category", "math", "--output-format", "json"]);
    const out = JSON.parse(result.stdout) as Out;
    expect(out.results.category).toBe("math");
    expect(out.results.categories).toEqual(["coding", "math", "writing"]);
    for (const row of out.results.rows) expect(Math.abs(row.bradleyTerry - golden.ratings_by_category.math[row.model])).toBeLessThan(1e-4);
    const missing = await evalCli(["ratings", "--battles", file, "--category", "poetry"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no battles in category "poetry" (categories: coding, math, writing)');
  });
});
