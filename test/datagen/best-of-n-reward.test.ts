// Rejection sampling scored by a reward model (LLaMA-2 §3.2.3 with §3.2.2's model): the kept answer
// is the one the reward model scores highest, through the library and through the CLI's --reward-model.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/data.js";
import { defaultBestOfNSettings, runBestOfN } from "../../src/datagen/best-of-n/best-of-n.js";
import { RewardModelScorer } from "../../src/datagen/best-of-n/reward-scorer.js";
import { LlamaModel, loadLlamaGguf, parseLoraConfig } from "../../src/engine/index.js";
import { InvalidArgumentError } from "../../src/errors/index.js";
import { SeededRandom } from "../../src/random/seeded-random.js";
import { LoadedRewardModel } from "../../src/train/reward/load-reward-model.js";
import { initialRewardHead } from "../../src/train/reward/reward-head.js";
import { writeRewardGguf } from "../../src/train/reward/reward-gguf.js";
import { captureIo } from "../support/capture-io.js";
import { chatCompletionBody, jsonReply, startFakeOpenAIServer } from "../support/fake-openai-server.js";
import { scriptedModel } from "../support/scripted-model.js";
import { stories260KPath } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";

const temporaryDirectory = temporaryDirectories("camelid-best-of-n-reward-");
const readJsonl = (path: string) => readFileSync(path, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
const stories = ["Once upon a time there was a little cat.", "The dog ran to the park and played.", "Lily found a big red ball.", "Tom was sad because it rained."];

let rewardPath = "";
let reward: LoadedRewardModel;

beforeAll(async () => {
  // a reward model with random LoRA and head on stories260K: its scores differ from answer to answer
  const { config, weights } = await loadLlamaGguf(stories260KPath());
  const model = new LlamaModel(config, weights, { lora: parseLoraConfig({ rank: 4, alpha: 8, dropout: 0, targets: ["q", "v"] }), seed: 2 });
  const random = new SeededRandom(11);
  for (let i = 0; i < model.lora!.params.length; i++) model.lora!.params[i] += random.uniform(-0.1, 0.1);
  rewardPath = join(temporaryDirectory(), "reward.gguf");
  await writeRewardGguf(rewardPath, model.lora!, initialRewardHead(config.dim, 5).map((w) => w * 20), config, { name: "test reward", architecture: "llama", promptFormat: "llama-2-chat" });
  reward = await LoadedRewardModel.open(stories260KPath(), rewardPath);
});
afterAll(async () => reward?.dispose());

/** The reward model's own scores of the answers to `prompt`, and the index of the best. */
function expectedBest(prompt: string, answers: string[]): number {
  const tokens = answers.map((answer) => {
    const tokenized = reward.tokenize([{ role: "user", content: prompt }], answer);
    if ("problem" in tokenized) throw new Error(tokenized.problem);
    return tokenized.tokens;
  });
  const scores = [...reward.scoreTokens(tokens)];
  expect(new Set(scores).size).toBe(scores.length);
  return scores.indexOf(Math.max(...scores));
}

describe("best-of-n with a reward model", () => {
  it("keeps the answer the reward model scores highest and records its reward", async () => {
    const teacher = scriptedModel({ modelId: "teacher", reply: (options) => stories[(options.seed ?? 0) % 4] });
    const output = temporaryDirectory();
    const scorer = new RewardModelScorer(reward, rewardPath);
    const summary = await runBestOfN({ model: teacher, scorer, prompts: [{ id: "p0", prompt: "Tell me a story." }], settings: { ...defaultBestOfNSettings, n: 4, seed: 0, pairs: true }, outputDirectory: output, concurrency: 1 });
    expect(summary.counts).toEqual({ done: 1 });
    const best = expectedBest("Tell me a story.", stories);
    expect(best).not.toBe(0); // not merely the first sampled
    const [row] = readJsonl(join(output, "best.jsonl"));
    expect(row.conversations[1].value).toBe(stories[best]);
    expect(row.best_of_n).toMatchObject({ index: best, scorer: "reward:reward.gguf", scored: 4 });
    const candidates = readJsonl(join(output, "samples.jsonl"))[0].candidates as { score: number }[];
    expect(row.best_of_n.score).toBe(Math.max(...candidates.map((c) => c.score)));
    expect(await scorer.score("Tell me a story.", "")).toEqual({ kind: "unscored", reason: "the answer is empty" });
  });

  it("the CLI's --reward-model/--reward-base score instead of a judge; mixing them with --judge-* is refused", async () => {
    const server = await startFakeOpenAIServer();
    try {
      server.route("POST", "/v1/chat/completions", (request) => jsonReply(chatCompletionBody({ content: stories[((request.body as { seed: number }).seed ?? 0) % 4] })));
      const directory = temporaryDirectory();
      const input = join(directory, "prompts.jsonl");
      writeFileSync(input, `${JSON.stringify({ instruction: "Tell me a story." })}\n`);
      const teacher = ["--base-url", server.baseURL, "--remote-model", "teacher"];
      const out = join(directory, "out");
      const ok = captureIo();
      expect(await run(["best-of-n", "--prompts", input, "--out", out, "-n", "4", ...teacher, "--reward-model", rewardPath, "--reward-base", stories260KPath()], ok.io)).toBe(0);
      expect(ok.stdout()).toMatch(/4 of 4 answers scored by reward:reward.gguf/);
      expect(readJsonl(join(out, "best.jsonl"))[0].conversations[1].value).toBe(stories[expectedBest("Tell me a story.", stories)]);
      await expect(run(["best-of-n", "--prompts", input, "--out", join(directory, "x"), ...teacher, "--reward-model", rewardPath], captureIo().io)).rejects.toThrow(/--reward-model needs --reward-base/);
      await expect(run(["best-of-n", "--prompts", input, "--out", join(directory, "y"), ...teacher, "--reward-model", rewardPath, "--reward-base", stories260KPath(), "--judge-prompts", "j.jsonl"], captureIo().io)).rejects.toThrow(InvalidArgumentError);
    } finally {
      await server.close();
    }
  }, 120_000);
});
