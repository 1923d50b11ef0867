// Point 5 of issue 13: FastChat's judgment files carry no category; --questions supplies them.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sharedPath } from "../support/shared-data.js";
import { directoryPerTest, evalCli } from "./eval-cli.js";
import { fastChatPairJudgment } from "./fastchat-rows.js";

const directory = directoryPerTest();


const questionFile = sharedPath("eval", "mt_bench", "question.jsonl");
const mtBench = readFileSync(questionFile, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { question_id: number; category: string });
const categories = [...new Set(mtBench.map((q) => q.category))].sort();

/** A score that depends on the category and model only, so the per-category means are known by hand. */
const scoreOf = (model: string, category: string) => (categories.indexOf(category) % 9) + (model === "vicuna-13b" ? 2 : 1);

/** Rows exactly as FastChat's gen_judgment.py writes `gpt-4_single.jsonl`: no category field. */
function writeFastChatSingleFile(path: string): void {
  const rows = mtBench.flatMap((q) =>
    ["alpaca-13b", "vicuna-13b"].flatMap((model) =>
      [1, 2].map((turn) => ({
        question_id: q.question_id,
        model,
        judge: ["gpt-4", turn === 1 ? "single-v1" : "single-v1-multi-turn"],
        user_prompt: "[Instruction]\n…",
        judgment: `Rating: [[${scoreOf(model, q.category)}]]`,
        score: scoreOf(model, q.category),
        turn,
        tstamp: 1687221939.5 + q.question_id,
      })),
    ),
  );
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
}

describe("--questions gives FastChat judgment files their categories", () => {
  it("per-category table and radar chart for a FastChat single-grading file on MT-bench", async () => {
    const judgments = join(directory.path, "gpt-4_single.jsonl");
    writeFastChatSingleFile(judgments);
    const charts = join(directory.path, "charts");
    const result = await evalCli(["show", "--judgments", judgments, "--questions", questionFile, "--output-format", "json", "--charts", charts]);
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout);
    expect(parsed.results.categories).toEqual(categories);
    expect(categories).toHaveLength(8);
    const vicuna = parsed.results.models.find((m: { model: string }) => m.model === "vicuna-13b");
    for (const category of categories) {
      expect(vicuna.byCategory[category]).toEqual({ mean: scoreOf("vicuna-13b", category), scored: 20 });
    }
    expect(parsed.notes.join("\n")).toContain(`categories of 320 judgments taken from ${questionFile}`);
    const radar = readFileSync(join(charts, "category-radar.svg"), "utf8");
    for (const category of categories) expect(radar).toContain(`>${category}</text>`);
    expect(existsSync(join(charts, "category-radar.png"))).toBe(true);
  });

  it("per-category adjusted win rates for a FastChat pairwise file, and a warning for unknown questions", async () => {
    const judgments = join(directory.path, "gpt-4_pair.jsonl");
    // vicuna wins writing and roleplay in both orders, loses the rest.
    const rows = mtBench.map((q) => {
      const winner = ["writing", "roleplay"].includes(q.category) ? "model_1" : "model_2";
      return fastChatPairJudgment({ question_id: q.question_id, model_1: "vicuna-13b", model_2: "alpaca-13b", g1_winner: winner, g2_winner: winner });
    });
    rows.push({ ...rows[0], question_id: 999 });
    writeFileSync(judgments, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const result = await evalCli(["show", "--judgments", judgments, "--questions", questionFile, "--output-format", "json"]);
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout);
    expect(parsed.results.categories).toEqual([...categories, "general"].sort());
    const vicuna = parsed.results.models.find((m: { model: string }) => m.model === "vicuna-13b");
    expect(vicuna.byCategory.writing.adjustedWinRate).toBe(1);
    expect(vicuna.byCategory.math.adjustedWinRate).toBe(0);
    expect(vicuna.byCategory.general.win).toBe(1);
    expect(parsed.warnings.join("\n")).toMatch(/questions 999 are not in .*question\.jsonl; their judgments count as "general"/);
  });

  it("without --questions the rows stay uncategorised", async () => {
    const judgments = join(directory.path, "gpt-4_single.jsonl");
    writeFastChatSingleFile(judgments);
    const parsed = JSON.parse((await evalCli(["show", "--judgments", judgments, "--output-format", "json"])).stdout);
    expect(parsed.results.categories).toEqual(["general"]);
  });
});
