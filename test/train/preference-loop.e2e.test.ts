import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { captureIo } from "../support/capture-io.js";
import { serveInProcess, type ServeInProcess } from "../support/serve-in-process.js";
import { stories260KPath } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";
import type { FakeOpenAIServer } from "../support/fake-openai-server.js";
import { implicitRewardAccuracy } from "./support/implicit-reward.js";
import { exportArenaPreferences, showsPreferredStyle, splitPairsByPrompt, startStoryUpstream, storyNouns, storyPrompt, storyRemote, voteStoryBattles } from "./support/story-arena.js";

// Issue 15's loop, end to end: arena votes on a running `camelid serve` prefer one recognisable style (a
// story opening); the arena's DPO export is split by prompt into training and held-out pairs; `camelid
// train --method dpo` on stories260K then prefers that style on the held-out prompts (implicit reward),
// the served adapter answers in it, and wins the arena's battles against its base; `camelid train
// --method reward` learns the same preference (`camelid eval reward` on the held-out pairs).

const temporary = temporaryDirectories("camelid-preference-loop-");
const heldOutNouns = storyNouns.filter((_, i) => i % 4 === 3);
const heldOutPrompts = heldOutNouns.map(storyPrompt);
const promptFormat = "llama-2-chat";
// every projection and the output head, few steps at a small rate: enough to move the greedy answer's
// first token, not so much that DPO's pushing the rejected answers down wrecks the text
const lora = { rank: 8, alpha: 16, targets: ["q", "k", "v", "o", "gate", "up", "down"], outputHead: true };
const trainFlags = ["-m", stories260KPath(), "--prompt-format", promptFormat, "--rank", "8", "--alpha", "16", "--targets", "q,k,v,o,gate,up,down,lm_head", "--batch-size", "4", "--val-fraction", "0", "--seed", "1", "--warmup-steps", "2"];
const beta = 0.1;

let dir: string;
let upstream: FakeOpenAIServer;
let files: { train: string; heldOut: string };
let dpoRun: string;

beforeAll(async () => {
  dir = temporary();
  upstream = await startStoryUpstream();
});
afterAll(() => upstream?.close());

async function camelid(...argv: string[]): Promise<string> {
  const { io, stdout, stderr } = captureIo();
  const code = await main(argv, io);
  expect(code, `camelid ${argv.join(" ")}: ${stderr()}`).toBe(0);
  return stdout();
}

/** Each served model's greedy answer to each prompt, through /v1/chat/completions. */
async function greedyAnswers(url: string, model: string, prompts: readonly string[]): Promise<string[]> {
  const answers = [];
  for (const prompt of prompts) {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: prompt }], temperature: 0, max_tokens: 24 }),
    });
    expect(response.status).toBe(200);
    answers.push(((await response.json()) as { choices: { message: { content: string } }[] }).choices[0].message.content);
  }
  return answers;
}

describe("the preference loop: arena votes -> export -> preference training -> served adapter -> arena", () => {
  it("collects votes for one style through the arena's HTTP API and exports them as DPO pairs", async () => {
    const configPath = join(dir, "arena.json");
    writeFileSync(configPath, JSON.stringify({ remotes: [storyRemote(upstream)] }));
    const server: ServeInProcess = await serveInProcess(["--config", configPath, "--port", "0", "--data-dir", join(dir, "arena-data")]);
    let votes;
    let exported: string;
    try {
      votes = await voteStoryBattles(server.url, storyNouns.map(storyPrompt));
      exported = await exportArenaPreferences(server.url);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    // the draw puts the storyteller on either side; every vote went to it, none was a tie
    expect(votes.tie).toBe(0);
    expect(votes.a + votes.b).toBe(storyNouns.length);
    expect(Math.min(votes.a, votes.b)).toBeGreaterThan(0);
    const pairs = exported.trim().split("\n").map((line) => JSON.parse(line) as { prompt: string; chosen: string; rejected: string; chosen_model: string });
    expect(pairs).toHaveLength(storyNouns.length);
    for (const pair of pairs) {
      expect(showsPreferredStyle(pair.chosen) && !showsPreferredStyle(pair.rejected), JSON.stringify(pair)).toBe(true);
      expect(pair.chosen_model).toBe("storyteller");
    }
    const split = splitPairsByPrompt(exported, new Set(heldOutPrompts));
    files = { train: join(dir, "train-pairs.jsonl"), heldOut: join(dir, "held-out-pairs.jsonl") };
    writeFileSync(files.train, split.train);
    writeFileSync(files.heldOut, split.heldOut);
    expect(split.heldOut.trim().split("\n")).toHaveLength(heldOutNouns.length);
    expect(split.train.trim().split("\n")).toHaveLength(storyNouns.length - heldOutNouns.length);
    expect(split.train).not.toContain(heldOutPrompts[0]);
  }, 120_000);

  it("trains DPO on the exported pairs: the held-out implicit reward goes from 50% (all ties) to >= 80%", async () => {
    const measure = (adapterPath?: string) => implicitRewardAccuracy({ modelPath: stories260KPath(), adapterPath, lora, pairsPath: files.heldOut, promptFormat, beta, maxLength: 128 });
    const before = await measure();
    expect(before).toMatchObject({ pairs: heldOutNouns.length, accuracy: 0.5, ties: heldOutNouns.length });

    dpoRun = join(dir, "dpo");
    await camelid("train", "--method", "dpo", "--beta", String(beta), "--data", files.train, "--out", dpoRun, "--max-steps", "24", "--lr", "2e-3", ...trainFlags);
    const after = await measure(join(dpoRun, "adapter.gguf"));
    expect(after.accuracy, `margins ${after.margins.join(", ")}`).toBeGreaterThanOrEqual(0.8);
    // the trainer's own per-step metric agrees on the training pairs by the end
    const metrics = readFileSync(join(dpoRun, "metrics.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as Record<string, number | string>);
    expect(metrics.filter((row) => row.type === "train").at(-1)?.["rewards/accuracies"]).toBe(1);
  }, 120_000);

  it("serves the adapter: its greedy answers open stories more often than the base model's, and it wins the arena against the base", async () => {
    const { models } = JSON.parse(readFileSync(join(dpoRun, "serve.json"), "utf8")) as { models: { id: string; path: string; promptFormat: string }[] };
    const adapter = models[0].id;
    const configPath = join(dir, "after.json");
    writeFileSync(configPath, JSON.stringify({ models: [{ id: "stories260K", path: stories260KPath(), promptFormat }, ...models] }));
    const server = await serveInProcess(["--config", configPath, "--port", "0", "--data-dir", join(dir, "after-data"), "--sequences", "1", "--context-size", "128"]);
    try {
      const base = (await greedyAnswers(server.url, "stories260K", heldOutPrompts)).filter(showsPreferredStyle).length;
      const tuned = await greedyAnswers(server.url, adapter, heldOutPrompts);
      const styled = tuned.filter(showsPreferredStyle).length;
      expect(styled, `base ${base}/${heldOutPrompts.length}; tuned answers: ${JSON.stringify(tuned)}`).toBeGreaterThan(base);

      // back into the arena: the same voter, battles between the base and the tuned model on the held-out prompts
      await voteStoryBattles(server.url, heldOutPrompts, ["stories260K", adapter]);
      const battles = (await (await fetch(`${server.url}/api/arena/export/battles.json`)).json()) as { model_a: string; model_b: string; winner: string }[];
      const wins = (model: string) => battles.filter((b) => (b.winner === "model_a" && b.model_a === model) || (b.winner === "model_b" && b.model_b === model)).length;
      expect(battles).toHaveLength(heldOutPrompts.length);
      expect(wins(adapter)).toBeGreaterThan(wins("stories260K"));
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 120_000);

  it("trains a reward model on the same pairs: held-out pair accuracy >= 80% (camelid eval reward)", async () => {
    const rewardRun = join(dir, "reward");
    await camelid("train", "--method", "reward", "--data", files.train, "--out", rewardRun, "--max-steps", "20", "--lr", "2e-3", ...trainFlags.filter((flag) => flag !== "q,k,v,o,gate,up,down,lm_head" && flag !== "--targets"));
    await camelid("eval", "reward", "--model", stories260KPath(), "--reward", join(rewardRun, "reward.gguf"), "--data", files.heldOut, "--out", join(dir, "reward-eval"));
    const summary = JSON.parse(readFileSync(join(dir, "reward-eval", "summary.json"), "utf8")) as { kind: string; scored: number; accuracy: number; meanMargin: number };
    expect(summary).toMatchObject({ kind: "pairs", scored: heldOutNouns.length });
    expect(summary.accuracy).toBeGreaterThanOrEqual(0.8);
    // learned, not the fresh head's luck: the held-out margin is many times the first step's
    const first = JSON.parse(readFileSync(join(rewardRun, "metrics.jsonl"), "utf8").split("\n")[0]) as { margin: number };
    expect(summary.meanMargin).toBeGreaterThan(5 * Math.abs(first.margin));
  }, 120_000);
});
