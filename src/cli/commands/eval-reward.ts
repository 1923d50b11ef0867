// `camelid eval reward`: scores answers (or both sides of preference pairs) with a reward model that
// `camelid train --method reward` wrote. Kept beside eval.ts, which lists it in its handler table.
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve, join } from "node:path";
import { writeFileAtomic } from "../../files/atomic-write.js";
import { dataProblemsJsonl } from "../../train/prepare-data.js";
import { LoadedRewardModel } from "../../train/reward/load-reward-model.js";
import { scoreRewardFile } from "../../train/reward/score-file.js";
import { numberFlag, parseCommandArgs } from "../args.js";
import type { CliIo } from "../io.js";
import { noPositionals, required } from "./eval-shared.js";

export const rewardHelp = `usage: camelid eval reward --model <base.gguf> --reward <reward.gguf> --data <file> --out <dir> [--batch-size N] [--json]
  Scores with a reward model of camelid train --method reward (the base model it was trained on, and its
  <out>/reward.gguf): each answer is rendered after its prompt in the reward model's prompt format and
  scored on its last token, as in training.
  --data <file>     JSON array or JSONL of answer rows {prompt, answer, system?, id?} (prompt: a string or a
                    message list ending with a user turn), or preference pairs in any layout train --method
                    reward reads (LLaMA-Factory ranking, trl, arena export): both answers are scored and the
                    pair accuracy (share with r_chosen > r_rejected, ties left out as trl does) reported
  --out <dir>       scores.jsonl (one row per scored row, with its line), summary.json and data-problems.jsonl
                    (rows left out, with file:line); no scorable row at all exits non-zero
  --batch-size N    sequences per forward pass (8)
`;

export async function rewardCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { model: { type: "string", short: "m" }, reward: { type: "string" }, data: { type: "string" }, out: { type: "string", short: "o" }, "batch-size": { type: "string" }, json: { type: "boolean" } });
  noPositionals(positionals);
  const basePath = resolve(io.cwd, required(values.model, "model"));
  const rewardPath = resolve(io.cwd, required(values.reward, "reward"));
  const dataPath = resolve(io.cwd, required(values.data, "data"));
  const outDir = resolve(io.cwd, required(values.out, "out"));
  const batchSize = numberFlag(values["batch-size"], "batch-size", { min: 1, max: 256, integer: true }) ?? 8;
  const reward = await LoadedRewardModel.open(basePath, rewardPath, { batchSize });
  let scores;
  try {
    scores = scoreRewardFile(dataPath, reward);
  } finally {
    await reward.dispose();
  }
  mkdirSync(outDir, { recursive: true });
  const files = { scores: join(outDir, "scores.jsonl"), summary: join(outDir, "summary.json"), problems: join(outDir, "data-problems.jsonl") };
  writeFileAtomic(files.scores, scores.rows.map((row) => `${JSON.stringify(row)}\n`).join(""));
  writeFileSync(files.problems, dataProblemsJsonl(scores.problems));
  const summary = { kind: scores.kind, model: basePath, reward: rewardPath, data: dataPath, promptFormat: reward.promptFormat.name, ...scores.summary, problems: scores.problems.length, files };
  writeFileAtomic(files.summary, `${JSON.stringify(summary, null, 2)}\n`);
  if (values.json) {
    io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
    return 0;
  }
  for (const problem of scores.problems.slice(0, 5)) io.stderr(`skipped ${problem.file}:${problem.line}: ${problem.message}\n`);
  const s = scores.summary;
  const figures =
    scores.kind === "pairs"
      ? `${s.scored} pair(s) scored: pair accuracy ${(scores.summary.accuracy * 100).toFixed(1)}%, mean margin ${scores.summary.meanMargin.toFixed(4)}`
      : `${s.scored} answer(s) scored: mean ${scores.summary.meanScore.toFixed(4)}, min ${scores.summary.minScore.toFixed(4)}, max ${scores.summary.maxScore.toFixed(4)}`;
  io.stdout(`${figures}${scores.problems.length ? `; ${scores.problems.length} row(s) left out (${files.problems})` : ""}\nscores: ${files.scores}\nsummary: ${files.summary}\n`);
  return 0;
}
