import { describe, expect, it } from "vitest";
import { renderRadarChart } from "../../src/eval/charts/radar-chart.js";
import { renderWinRateBars } from "../../src/eval/charts/win-rate-bars.js";
import type { PairwiseJudgmentRow, SingleJudgmentRow } from "../../src/eval/judge/judgment-rows.js";
import { pairwiseReport, singleReport } from "../../src/eval/report/build-reports.js";
import { battlesFromPairwiseJudgments, summarizePairwiseJudgments } from "../../src/eval/report/pairwise-results.js";
import { pairwiseCharts } from "../../src/eval/report/report-charts.js";
import { summarizeSingleJudgments } from "../../src/eval/report/single-results.js";
import { renderMarkdown, renderTerminal } from "../../src/eval/report/tables.js";

function single(model: string, question: number, turn: number, score: number, category: string, judgment = `Rating: [[${score}]]`): SingleJudgmentRow {
  return { question_id: question, model, judge: ["judge", turn === 1 ? "single-v1" : "single-v1-multi-turn"], user_prompt: "", judgment, score, turn, repeat: 0, category };
}

const singleRows: SingleJudgmentRow[] = [
  single("y", 1, 1, -1, "writing", "$ERROR$"), // retried later: the later row wins
  single("x", 1, 1, 8, "writing"),
  single("x", 1, 2, 6, "writing"),
  single("x", 2, 1, 10, "math"),
  single("x", 2, 2, -1, "math", "no verdict here"),
  single("y", 1, 1, 4, "writing"),
  single("y", 1, 2, -1, "writing", "$ERROR$"),
  single("y", 2, 1, 5, "math"),
  single("y", 2, 2, 7, "math"),
];

describe("single-answer tables (hand-computed)", () => {
  it("averages per model, turn and category, excluding and counting missing scores", () => {
    const results = summarizeSingleJudgments(singleRows);
    expect(results.rows).toBe(8);
    const [x, y] = results.models;
    expect(x).toMatchObject({ model: "x", overall: { mean: 8, scored: 3 }, noScore: 1, judgeErrors: 0 });
    expect([x.byTurn[1].mean, x.byTurn[2].mean, x.byCategory.writing.mean, x.byCategory.math.mean]).toEqual([9, 6, 7, 10]);
    expect(y).toMatchObject({ model: "y", noScore: 0, judgeErrors: 1 });
    expect(y.overall.mean).toBeCloseTo(16 / 3, 12);
    expect([y.byTurn[1].mean, y.byTurn[2].mean, y.byCategory.writing.mean, y.byCategory.math.mean]).toEqual([4.5, 7, 4, 6]);
    const markdown = renderMarkdown(singleReport(results));
    expect(markdown).toContain("| model | score | turn 1 | turn 2 | scored | no score | judge errors |");
    expect(markdown).toContain("| x | 8.00 | 9.00 | 6.00 | 3 | 1 | 0 |");
    expect(markdown).toContain("| y | 5.33 | 4.50 | 7.00 | 3 | 0 | 1 |");
    expect(markdown).toContain("| x | 10.00 | 7.00 |"); // categories sorted: math, writing
    expect(markdown).toContain("> **Warning:** 2 of 8 judgments (25.0%) held no readable rating; they are excluded");
  });
});

function pair(model1: string, model2: string, question: number, turn: number, g1: PairwiseJudgmentRow["g1_winner"], g2: PairwiseJudgmentRow["g2_winner"], category: string, lengths: [number, number]): PairwiseJudgmentRow {
  return {
    question_id: question, model_1: model1, model_2: model2, g1_winner: g1, g2_winner: g2, judge: ["judge", "pair-v2"],
    g1_user_prompt: "", g1_judgment: "", g2_user_prompt: "", g2_judgment: "", turn, repeat: 0, category,
    answer_1_length: lengths[0], answer_2_length: lengths[1],
  };
}

const pairRows: PairwiseJudgmentRow[] = [
  pair("a", "c", 1, 1, "model_1", "model_1", "writing", [100, 50]), // a wins in both orders
  pair("a", "c", 1, 2, "model_1", "model_2", "writing", [100, 50]), // first position wins twice: inconsistent
  pair("a", "c", 2, 1, "tie", "tie", "math", [10, 10]), // tie
  pair("b", "c", 2, 1, "model_2", "model_2", "math", [60, 50]), // c wins (the shorter answer)
  pair("b", "c", 1, 1, "error", "model_1", "writing", [10, 20]), // no verdict in game 1
  pair("b", "c", 2, 2, "model_1", "model_1", "math", [80, 80]), // b wins, equal lengths
];

describe("pairwise tables and diagnostics (hand-computed)", () => {
  it("computes win/tie/loss, adjusted win rate per category and turn against the baseline", () => {
    const results = summarizePairwiseJudgments(pairRows);
    expect(results.baseline).toBe("c");
    const a = results.models.find((m) => m.model === "a")!;
    const b = results.models.find((m) => m.model === "b")!;
    expect(a).toMatchObject({ win: 1, tie: 1, loss: 0, inconsistent: 1, error: 0 });
    expect(a.winRate).toBeCloseTo(1 / 3, 12);
    expect(a.adjustedWinRate).toBeCloseTo(2 / 3, 12);
    expect([a.byCategory.writing.adjustedWinRate, a.byCategory.math.adjustedWinRate, a.byTurn[1].adjustedWinRate, a.byTurn[2].adjustedWinRate]).toEqual([0.75, 0.5, 0.75, 0.5]);
    expect(b).toMatchObject({ win: 1, tie: 0, loss: 1, inconsistent: 0, error: 1, winRate: 0.5, adjustedWinRate: 0.5 });
    expect(results.models.map((m) => m.model)).toEqual(["a", "b"]);
  });

  it("measures position consistency, first-position wins and longer-answer wins", () => {
    const d = summarizePairwiseJudgments(pairRows).diagnostics;
    expect(d).toMatchObject({ pairsWithBothVerdicts: 5, decisiveGames: 9, firstPositionWins: 5, decisivePairsWithLengths: 2, longerAnswerWins: 1 });
    expect(d.positionConsistency).toBeCloseTo(4 / 5, 12);
    expect(d.firstPositionWinRate).toBeCloseTo(5 / 9, 12);
    expect(d.longerAnswerWinRate).toBe(0.5);
    const terminal = renderTerminal(pairwiseReport(summarizePairwiseJudgments(pairRows)));
    expect(terminal).toMatch(/position consistency \(both orders agree\)\s+80\.0%\s+5 pairs/);
    expect(terminal).toMatch(/first-position win rate \(50% = no bias\)\s+55\.6%\s+9 decisive games/);
    expect(terminal).toMatch(/Against c/);
  });

  it("turns judgments into rating battles: inconsistent → tie, no verdict → left out", () => {
    expect(battlesFromPairwiseJudgments(pairRows)).toEqual([
      { modelA: "a", modelB: "c", winner: "model_a" },
      { modelA: "a", modelB: "c", winner: "tie" },
      { modelA: "a", modelB: "c", winner: "tie" },
      { modelA: "b", modelB: "c", winner: "model_b" },
      { modelA: "b", modelB: "c", winner: "model_a" },
    ]);
  });

  it("warns when no verdict could be read at all", () => {
    const unreadable = pairRows.map((row) => ({ ...row, g1_winner: "error" as const, g2_winner: "error" as const }));
    const report = pairwiseReport(summarizePairwiseJudgments(unreadable));
    expect(report.warnings[0]).toMatch(/no verdict could be read from any of the 6 judgments/);
  });
});

describe("SVG charts", () => {
  it("draws one radar polygon per model and stacked win/tie/loss bars", () => {
    const charts = pairwiseCharts(summarizePairwiseJudgments(pairRows));
    expect(charts.map((c) => c.fileName)).toEqual(["win-rate-bars.svg"]); // two categories: no radar
    const bars = charts[0].svg;
    expect(bars.match(/<rect[^>]*><title>/g)).toHaveLength(4); // a: win + tie (ties and inconsistent), b: win + loss
    expect(bars).toContain("<title>win: 1 (33.3%)</title>");
    const radar = renderRadarChart({ title: "t <&>", axes: ["x", "y", "z"], series: [{ name: "m1", values: [10, 5, null] }, { name: "m2", values: [1, 2, 3] }], maximum: 10 });
    expect(radar).toContain("t &lt;&amp;&gt;");
    expect(radar.match(/fill-opacity/g)).toHaveLength(2);
    expect(() => renderRadarChart({ title: "", axes: ["x", "y"], series: [], maximum: 1 })).toThrow(/at least 3 categories/);
    expect(renderWinRateBars({ title: "none", bars: [{ model: "m", win: 0, tie: 0, loss: 0 }] })).toContain("no verdicts");
  });
});
