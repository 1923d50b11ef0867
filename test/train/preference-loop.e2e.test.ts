import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveInProcess, type ServeInProcess } from "../support/serve-in-process.js";
import { stories260KPath } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";
import type { FakeOpenAIServer } from "../support/fake-openai-server.js";
import { implicitRewardAccuracy } from "./support/implicit-reward.js";
import { exportArenaPreferences, showsPreferredStyle, splitPairsByPrompt, startStoryUpstream, storyNouns, storyPrompt, storyRemote, voteStoryBattles } from "./support/story-arena.js";

// Issue 15's loop, end to end: arena votes on a running `camelid serve` prefer one recognisable style;
// the arena's DPO export is split by prompt into training and held-out pairs; a preference-trained
// stories260K then prefers that style on the held-out prompts.

const temporary = temporaryDirectories("camelid-preference-loop-");
const heldOutNouns = storyNouns.filter((_, i) => i % 4 === 3);
const heldOutPrompts = new Set(heldOutNouns.map(storyPrompt));

let dir: string;
let upstream: FakeOpenAIServer;
let files: { train: string; heldOut: string };

beforeAll(async () => {
  dir = temporary();
  upstream = await startStoryUpstream();
});
afterAll(() => upstream?.close());

describe("the preference loop: arena votes -> export -> preference training -> served adapter", () => {
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
    const split = splitPairsByPrompt(exported, heldOutPrompts);
    files = { train: join(dir, "train-pairs.jsonl"), heldOut: join(dir, "held-out-pairs.jsonl") };
    writeFileSync(files.train, split.train);
    writeFileSync(files.heldOut, split.heldOut);
    expect(split.heldOut.trim().split("\n")).toHaveLength(heldOutNouns.length);
    expect(split.train.trim().split("\n")).toHaveLength(storyNouns.length - heldOutNouns.length);
  });

  it("before training, the implicit reward cannot tell the held-out pairs apart (every reward 0: 50%)", async () => {
    const base = await implicitRewardAccuracy({
      modelPath: stories260KPath(), lora: { rank: 8, alpha: 16, targets: ["q", "k", "v", "o"] },
      pairsPath: files.heldOut, promptFormat: "llama-2-chat", beta: 0.1, maxLength: 128,
    });
    expect(base).toMatchObject({ pairs: heldOutNouns.length, accuracy: 0.5, ties: heldOutNouns.length });
    expect(readFileSync(files.train, "utf8")).not.toContain(storyPrompt(heldOutNouns[0]));
  });
});
